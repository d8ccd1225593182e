"""deploy/: the compose file, the Kubernetes manifests and the HAProxy config agree on what
matters (ports, health checks, stickiness, replicas), and the upload limit holds on a real server.

Docker and a cluster are not available here: the YAML is parsed and checked. ``haproxy -c``
checks the proxy's config where Debian's haproxy is installed (skipped otherwise, a failure where
``OPTVIZ_REQUIRE_HAPROXY=1``, as ``.ci/run`` sets). The upload test starts ``streamlit run`` on a
loopback port and talks to it as the browser does (websocket for the session, then a PUT).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import os
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
HEALTH = "/_stcore/health"
PORT = 8501
sys.path.insert(0, str(DEPLOY))

import local_proxy  # noqa: E402


def load_bench():
    """bench/load.py as a module (bench/ is not put on sys.path: its app.py would shadow)."""
    spec = importlib.util.spec_from_file_location("optviz_bench_load", ROOT / "bench" / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _require_haproxy() -> str:
    binary = local_proxy.haproxy_binary()
    if binary is not None:
        return binary
    reason = "haproxy not found (apt-get install haproxy)"
    if os.environ.get("OPTVIZ_REQUIRE_HAPROXY") == "1":
        pytest.fail(f"haproxy is required here but missing: {reason}")
    pytest.skip(reason)


# ------------------------------------------------------------------------------------------
# compose


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_replicas_of_the_image_behind_the_proxy(compose) -> None:
    app, proxy = compose["services"]["app"], compose["services"]["proxy"]
    assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == (
        ROOT / "Dockerfile")
    replicas = str(app["deploy"]["replicas"])
    default = int(replicas.rsplit(":-", 1)[-1].rstrip("}")) if "${" in replicas else int(replicas)
    assert default >= 2, replicas
    assert "ports" not in app, "replicas are reached through the proxy only"
    assert str(PORT) in [str(p) for p in app["expose"]]
    assert any(HEALTH in part for part in app["healthcheck"]["test"])
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    assert [p.rsplit(":", 1)[-1] for p in proxy["ports"]] == [str(PORT)]


def test_the_proxy_image_is_debians_haproxy_with_the_repository_config(compose) -> None:
    build = compose["services"]["proxy"]["build"]
    dockerfile = (DEPLOY / build["context"] / build["dockerfile"]).read_text()
    assert "FROM debian:" in dockerfile
    assert "apt-get install" in dockerfile and "haproxy" in dockerfile
    assert "COPY haproxy.cfg /etc/haproxy/haproxy.cfg" in dockerfile
    assert '"-f", "/etc/haproxy/haproxy.cfg"' in dockerfile


def test_the_app_image_serves_the_port_and_health_the_manifests_use() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {PORT}" in dockerfile
    assert f'"--server.port", "{PORT}"' in dockerfile and '"0.0.0.0"' in dockerfile
    assert HEALTH in dockerfile


# ------------------------------------------------------------------------------------------
# HAProxy


def config_lines() -> list[str]:
    return [line.strip() for line in (DEPLOY / "haproxy.cfg").read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")]


def test_haproxy_is_sticky_by_cookie_and_checks_health() -> None:
    lines = config_lines()
    cookie = next(line for line in lines if line.startswith("cookie "))
    assert cookie.split()[1] == local_proxy.COOKIE and "insert" in cookie
    assert "dynamic" in cookie and any(x.startswith("dynamic-cookie-key ") for x in lines)
    assert f"option httpchk GET {HEALTH}" in lines
    assert "option redispatch" in lines  # a dead replica's sessions go to a live one
    tunnel = next(x for x in lines if x.startswith("timeout tunnel"))
    assert tunnel.split()[-1].endswith("h"), "websockets stay open for hours"
    assert f"bind :{PORT}" in lines
    template = next(x for x in lines if x.startswith("server-template"))
    assert f"app:{PORT}" in template and "resolvers docker" in template


def test_the_local_rendering_changes_only_servers_and_bind() -> None:
    text = local_proxy.render_config([("127.0.0.1", 40001), ("127.0.0.1", 40002)], 40000)
    assert "server app1 127.0.0.1:40001 check" in text
    assert "server app2 127.0.0.1:40002 check" in text
    assert "bind 127.0.0.1:40000" in text
    original = set(config_lines())
    rendered = {line.strip() for line in text.splitlines()
                if line.strip() and not line.strip().startswith("#")}
    assert not any(x.startswith(("server-template", "resolvers")) for x in rendered)
    dropped = {x for x in original - rendered
               if not x.startswith(("server-template", "bind", "nameserver", "resolve", "hold",
                                    "timeout resolve", "timeout retry"))
               and x != "resolvers docker"}
    assert not dropped, dropped


@pytest.mark.parametrize("where", ["compose", "local"])
def test_haproxy_accepts_the_config(where, tmp_path) -> None:
    binary = _require_haproxy()
    path = DEPLOY / "haproxy.cfg"
    if where == "local":
        path = tmp_path / "haproxy.cfg"
        path.write_text(local_proxy.render_config([("127.0.0.1", 40001), ("127.0.0.1", 40002)],
                                                  40000))
    done = subprocess.run([binary, "-c", "-f", str(path)], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------------------------------
# Kubernetes


@pytest.fixture(scope="module")
def k8s() -> dict[str, dict]:
    docs = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs[doc["kind"]] = doc
    return docs


def test_kustomization_lists_every_manifest(k8s) -> None:
    listed = set(k8s["Kustomization"]["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_deployment_probes_health_on_the_container_port(k8s) -> None:
    deployment = k8s["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert deployment["spec"]["replicas"] >= 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (port,) = container["ports"]
    assert port["containerPort"] == PORT
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == HEALTH and get["port"] in (PORT, port["name"]), probe
    # the HPA's CPU utilization is a share of the request: it must be set
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["limits"]["memory"]


def test_service_and_ingress_reach_the_pods_with_cookie_affinity(k8s) -> None:
    deployment, service, ingress = k8s["Deployment"], k8s["Service"], k8s["Ingress"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (sport,) = service["spec"]["ports"]
    assert sport["targetPort"] in (PORT, container["ports"][0]["name"])
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-name"]
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600  # websockets
    assert ingress["spec"]["ingressClassName"] == "nginx"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"].get("name") == sport["name"] or backend["port"].get("number") == (
        sport["port"])


def test_hpa_scales_the_deployment_on_cpu(k8s) -> None:
    hpa = k8s["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", k8s["Deployment"]["metadata"]["name"])
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


# ------------------------------------------------------------------------------------------
# the upload limit


def test_the_repository_config_limits_uploads_to_1_mb(monkeypatch) -> None:
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["maxUploadSize"] == 1  # megabytes
    from streamlit import config

    monkeypatch.chdir(ROOT)  # Streamlit reads ./.streamlit/config.toml
    config.get_config_options(force_reparse=True)
    assert config.get_option("server.maxUploadSize") == 1


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    port = local_proxy.free_port()
    proc = local_proxy.start_app(port, tmp_path_factory.mktemp("upload") / "app.log")
    url = f"http://127.0.0.1:{port}"
    try:
        local_proxy.wait_healthy(url, [proc], time.monotonic() + 120)
        yield url
    finally:
        local_proxy.stop_process(proc)


def put_file(url: str, session_id: str, jar, size: int) -> tuple[int, str]:
    """PUT one file to Streamlit's upload endpoint as its frontend does (multipart, XSRF)."""
    boundary = "optvizboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"scene.json\"\r\nContent-Type: application/json\r\n\r\n").encode()
    body += b" " * (size - 2) + b"{}" + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{url}/_stcore/upload_file/{session_id}/file-{size}", data=body, method="PUT",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                 "X-Xsrftoken": jar.cookies["_streamlit_xsrf"], "Cookie": jar.header()})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def in_own_thread(fn, *args):
    """``fn(*args)`` in a fresh thread: Playwright's sync API (the browser tests, earlier in the
    same session) leaves an event loop running in the main thread, where ``asyncio.run``
    refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def test_the_servers_upload_endpoint_refuses_2_mb(server) -> None:
    ws_session = load_bench().ws_session
    answers = []

    async def upload(session_id: str, jar) -> None:  # while the session's socket is open
        for size in (2 * 1024 * 1024, 4096):
            for attempt in range(3):
                try:
                    answers.append(await asyncio.to_thread(put_file, server, session_id, jar,
                                                           size))
                    break
                except urllib.error.URLError as exc:
                    # the server may answer 413 and close before the 2 MB body is all sent:
                    # the client then sees a broken pipe instead of the answer; send again
                    if attempt == 2 or "Broken pipe" not in str(exc):
                        raise

    result = in_own_thread(asyncio.run, ws_session(server, {"steps": "50", "run": "sgd"},
                                                   timeout=90, then=upload))
    assert result.error is None, result.error
    (big, big_text), (small, small_text) = answers
    assert big == 413, (big, big_text)
    assert "too large" in big_text.lower()
    # the same request with a scene-sized file goes through: the size is what was refused
    assert small == 204, (small, small_text)


# ------------------------------------------------------------------------------------------
# the load bench (kept from rotting: a tiny run against the server above)


def test_the_load_bench_targets_loopback_only() -> None:
    bench = load_bench()
    assert bench.check_loopback("http://127.0.0.1:8501/") == "http://127.0.0.1:8501"
    assert bench.check_loopback("http://localhost:8501") == "http://localhost:8501"
    assert bench.check_loopback("http://[::1]:8501") == "http://[::1]:8501"
    for url in ("http://10.0.0.5:8501", "http://example.org", "http://192.168.1.2"):
        with pytest.raises(SystemExit, match="loopback"):
            bench.check_loopback(url)


def test_the_load_bench_runs_two_sessions(server, capsys) -> None:
    bench = load_bench()
    assert in_own_thread(bench.main, ["--url", server, "--sessions", "2", "--timeout", "60",
                                      "--deadline", "120", "--light-after", "0"]) == 0
    out = capsys.readouterr().out
    assert "failures     : 0 of 2" in out, out
    assert "time to race : p50" in out and "health load  : p50" in out, out
