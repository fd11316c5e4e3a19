"""gunicorn against granian for `omniguichet serve --production` (issue 18: "choose, measure and say why").

Both servers run the same WSGI application with the production settings on the same temporary SQLite database,
one after the other, with the same number of worker processes. `wrk` (Debian package, installed with apt-get when
missing) loads three URLs for a few seconds each:

- `/healthz`: the server's own cost (no template, no database);
- `/compte/connexion/`: a whole DSFR page (template, session, CSRF cookie, CSP nonce);
- a static file through whitenoise (compressed, far-future cache).

The figures are requests per second and the p99 latency as `wrk --latency` prints them. granian is not a
dependency of the project: it is installed into the virtualenv by this script only when asked (`--install`).

    python -m bench.wsgi_servers --install --seconds 10 --workers 5
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ENTRY = [sys.executable, "-m", "omniguichet.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.args}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"no answer from {url}")


def _wrk(url: str, seconds: int, connections: int) -> tuple[float, str]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", "X-Forwarded-Proto: https",
         "-H", "Accept-Encoding: gzip", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} non-2xx answers")
    return rate, p99


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--install", action="store_true", help="pip install granian into this virtualenv")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    if args.install:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "granian>=2.8,<3"], check=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-wsgi-"))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        OMNIGUICHET_VAR_DIR=str(tmp), OMNIGUICHET_PRODUCTION="1", DEBUG="0", SECURE_SSL_REDIRECT="0",
        SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1", DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3",
    )  # fmt: skip
    subprocess.run([*ENTRY, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    subprocess.run([*ENTRY, "collectstatic", "--noinput", "-v", "0"], env=env, check=True)
    manifest = (tmp / "static" / "staticfiles.json").read_text() if (tmp / "static").exists() else ""
    static = re.search(r'"(dsfr/dist/dsfr\.min\.[0-9a-f]+\.css)"', manifest)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    urls = {"/healthz": f"{base}/healthz", "page": f"{base}/compte/connexion/"}
    if static:
        urls["static"] = f"{base}/static/{static.group(1)}"
    servers = {
        "gunicorn": [sys.executable, "-m", "gunicorn", "omniguichet.wsgi:application", "--bind",
                     f"127.0.0.1:{port}", "--workers", str(args.workers)],
        "gthread": [sys.executable, "-m", "gunicorn", "omniguichet.wsgi:application", "--bind",
                    f"127.0.0.1:{port}", "--workers", str(args.workers), "--threads", "4",
                    "--worker-class", "gthread"],
        "granian": [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port",
                    str(port), "--workers", str(args.workers), "omniguichet.wsgi:application"],
    }  # fmt: skip
    print(f"{args.workers} worker processes, {args.connections} connections, {args.seconds} s per URL")
    print(f"{'server':<10} {'URL':<10} {'req/s':>9} {'p99':>9}")
    for name, command in servers.items():
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(urls["/healthz"], process)
            for label, url in urls.items():
                _wrk(url, 2, args.connections)  # warm-up: every worker imports and connects
                rate, p99 = _wrk(url, args.seconds, args.connections)
                print(f"{name:<10} {label:<10} {rate:>9.0f} {p99:>9}", flush=True)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
