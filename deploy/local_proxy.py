"""The compose setup without Docker: N app processes and HAProxy, all on loopback.

    python deploy/local_proxy.py                 # 2 replicas behind http://127.0.0.1:8600
    python deploy/local_proxy.py --replicas 3 --port 8700 --seconds 300

Starts ``streamlit run app.py`` N times on free loopback ports, renders ``deploy/haproxy.cfg``
(the file compose mounts) with those replicas in place of its DNS server-template, starts
``haproxy`` in the foreground, waits until the proxy and every replica answer
``/_stcore/health``, and tears everything down on exit, on Ctrl-C, or after ``--seconds`` (it
always stops by itself). Only 127.0.0.1 is ever bound or contacted.

As a library (tests/e2e/test_proxy.py, bench/load.py)::

    with LocalCluster(replicas=2) as cluster:
        cluster.url            # the proxy
        cluster.kill(0)        # SIGKILL replica app1
        cluster.routes()       # [(user agent, replica name, request line)] from HAProxy's log
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "haproxy.cfg"
COOKIE = "OPTVIZ_REPLICA"
BEGIN, END = "# BEGIN servers", "# END servers"
# HAProxy's log line (see log-format in deploy/haproxy.cfg):
#   127.0.0.1:51234 replicas/app1 -1 {Mozilla/5.0 ... bench-3} "GET /_stcore/stream HTTP/1.1"
LOG_LINE = re.compile(
    r'^\S+ (?P<backend>[^/\s]+)/(?P<server>\S+) \S+ \{(?P<ua>[^}]*)\} "(?P<req>[^"]*)"')


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)),
        None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_config(servers: list[tuple[str, int]], port: int, text: str | None = None) -> str:
    """deploy/haproxy.cfg with the given loopback replicas and bind port; all else unchanged."""
    text = CONFIG.read_text() if text is None else text
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    indent = "    "
    lines = "".join(f"{indent}server app{i + 1} {host}:{p} check\n"
                    for i, (host, p) in enumerate(servers))
    text = f"{head}{BEGIN} (rendered by deploy/local_proxy.py)\n{lines}{indent}{END}{tail}"
    # the Docker DNS resolvers are unused here: drop that section
    text = re.sub(r"\nresolvers docker\n(?:[ \t]+.*\n?)*", "\n", text)
    return re.sub(r"^(\s*)bind :8501\b", rf"\g<1>bind 127.0.0.1:{port}", text, flags=re.M)


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB, from /proc (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Replica:
    name: str
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_app(port: int, log: Path) -> subprocess.Popen:
    """One ``streamlit run app.py`` on 127.0.0.1:port (headless, no file watcher)."""
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def wait_healthy(url: str, procs: list[subprocess.Popen], deadline: float) -> None:
    while not healthy(url):
        dead = [p.args for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"exited before {url} was healthy: {dead}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url}/_stcore/health did not answer in time")
        time.sleep(0.3)


@dataclass
class LocalCluster:
    """N replicas + HAProxy on loopback; a context manager that always cleans up."""

    replicas: int = 2
    port: int = 0  # 0: a free port
    start_timeout: float = 120.0
    workdir: Path | None = None  # logs and the rendered config; None: a temporary folder
    keep_workdir: bool = False  # a temporary folder is removed on stop unless this is set
    apps: list[Replica] = field(default_factory=list, init=False)
    proxy: subprocess.Popen | None = field(default=None, init=False)
    _temporary: bool = field(default=False, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proxy_log(self) -> Path:
        return self.workdir / "haproxy.log"

    @property
    def config_path(self) -> Path:
        return self.workdir / "haproxy.cfg"

    def start(self) -> LocalCluster:
        binary = haproxy_binary()
        if binary is None:
            raise FileNotFoundError("haproxy is not installed (apt-get install haproxy)")
        self.port = self.port or free_port()
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="optviz-proxy-"))
            self._temporary = not self.keep_workdir
        try:
            for i in range(self.replicas):
                port = free_port()
                log = self.workdir / f"app{i + 1}.log"
                self.apps.append(Replica(f"app{i + 1}", port, start_app(port, log), log))
            deadline = time.monotonic() + self.start_timeout
            for app in self.apps:
                wait_healthy(app.url, [a.proc for a in self.apps], deadline)
            # the proxy starts once every replica answers, so its first checks see them up
            self.config_path.write_text(
                render_config([("127.0.0.1", a.port) for a in self.apps], self.port))
            with open(self.proxy_log, "w") as out:
                self.proxy = subprocess.Popen(
                    [binary, "-db", "-f", str(self.config_path)],
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            procs = [a.proc for a in self.apps] + [self.proxy]
            wait_healthy(self.url, procs, deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def up_replicas(self) -> list[str]:
        """Replica names HAProxy's health checks report UP (parsed from its log)."""
        state: dict[str, bool] = {}
        for line in self.proxy_log.read_text(errors="replace").splitlines():
            m = re.search(r"Server replicas/(\S+) is (UP|DOWN)", line)
            if m:
                state[m.group(1)] = m.group(2) == "UP"
        # a server is UP from the start unless a check fails: also require a direct answer
        return [a.name for a in self.apps if state.get(a.name, True) is not False
                and a.proc.poll() is None and healthy(a.url, 1.0)]

    def kill(self, index: int) -> None:
        """SIGKILL one replica, as a crash or a lost node would."""
        proc = self.apps[index].proc
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def routes(self) -> list[tuple[str, str, str]]:
        """(user agent, replica, request line) for each request HAProxy routed, in order."""
        out = []
        for line in self.proxy_log.read_text(errors="replace").splitlines():
            m = LOG_LINE.match(line)
            if m:
                out.append((m["ua"], m["server"], m["req"]))
        return out

    def logs(self, tail: int = 3000) -> str:
        parts = [f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}"
                 for p in [self.proxy_log, *(a.log for a in self.apps)] if p.exists()]
        return "\n".join(parts)

    def stop(self) -> None:
        if self.proxy is not None:
            stop_process(self.proxy)
        for app in self.apps:
            if app.proc.poll() is None:
                try:
                    os.killpg(app.proc.pid, signal.SIGTERM)
                    app.proc.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    app.proc.kill()
                    app.proc.wait(timeout=10)
        if self._temporary and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8600, help="the proxy's loopback port")
    parser.add_argument("--seconds", type=float, default=600,
                        help="stop by itself after this long (default 600)")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the logs and the rendered config after stopping")
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 8:
        parser.error("--replicas: 1 to 8 on one machine")
    with LocalCluster(replicas=args.replicas, port=args.port,
                      keep_workdir=args.keep_logs) as cluster:
        for app in cluster.apps:
            print(f"{app.name}: {app.url} (pid {app.proc.pid})")
        print(f"proxy: {cluster.url} (config and logs in {cluster.workdir}); "
              f"stopping in {args.seconds:.0f} s or on Ctrl-C", flush=True)
        try:
            end = time.monotonic() + args.seconds
            while time.monotonic() < end and cluster.proxy and cluster.proxy.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
