FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# DejaVu gives the GIF/PNG renderer its Greek letters (γ, β); Pillow's built-in font lacks them.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 optviz
WORKDIR /app

COPY requirements.txt .
# The CPU wheel of torch; the default index would pull a multi-GB CUDA build.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY --chown=optviz:optviz . .
# The package itself (no dependencies: requirements.txt installed them), for the `optviz` command
# and for Streamlit to find the race player's assets; plotly.js is copied next to the player now,
# while the image is writable.
RUN pip install --no-deps . && python -m optviz.web.vendor \
    && cd / && python -m optviz.web.vendor
USER optviz

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health').status != 200)"
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
