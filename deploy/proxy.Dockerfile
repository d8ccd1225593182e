# The sticky proxy of deploy/compose.yaml: HAProxy from Debian's packages with deploy/haproxy.cfg.
# Build context: deploy/ (compose sets it). Debian 12 ships HAProxy 2.6, the version CI checks.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends haproxy \
    && rm -rf /var/lib/apt/lists/*
COPY haproxy.cfg /etc/haproxy/haproxy.cfg
USER haproxy
EXPOSE 8501
# -db: stay in the foreground (logs go to stdout, see the config's `log stdout`)
CMD ["haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
