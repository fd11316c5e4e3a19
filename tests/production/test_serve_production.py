"""`omniguichet serve --production` as a real subprocess: gunicorn, static files, headers, health, refusal."""

import contextlib
import gzip
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ENTRY = [sys.executable, "-m", "omniguichet.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp: Path, database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests of the same worker, refused by check --deploy.
        if k not in {"DJANGO_SETTINGS_MODULE", "OMNIGUICHET_PRODUCTION", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        OMNIGUICHET_VAR_DIR=str(tmp / "var"),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        SECURE_SSL_REDIRECT="0",
    )
    return env


def _get(url: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class _Forwarder:
    """A TCP relay between the server and PostgreSQL: cutting it makes the database unreachable mid-run."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:  # cut: the connection is refused as a stopped database would
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def cut(self, cut: bool = True) -> None:
        self.open = not cut
        if cut:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets = []

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prod")
    db = tmp / "db" / "prod.sqlite3"
    db.parent.mkdir()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        database_url = f"sqlite:///{db}"
    forwarder = None
    if database_url.startswith("postgres"):
        # On PostgreSQL the server talks to the database through a relay the test can cut.
        parts = urlsplit(database_url)
        forwarder = _Forwarder(parts.hostname or "127.0.0.1", parts.port or 5432)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        database_url = urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{forwarder.port}"))
    env = _env(tmp, database_url)
    subprocess.run([*ENTRY, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    port, push_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [*ENTRY, "serve", "--production", "--port", str(port), "--workers", "2", "--mailin-port", "0",
         "--push-port", str(push_port)],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = (
            time.monotonic() + 180
        )  # a start on a busy 2-core machine (migrate done): check, collectstatic, gunicorn
        while True:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, "serve --production exited"
            assert time.monotonic() < deadline, "serve --production did not answer"
            time.sleep(0.3)
        yield base, db, forwarder, f"http://127.0.0.1:{push_port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        if forwarder is not None:
            forwarder.close()


def test_static_files_compressed_and_cached_far_ahead(server):
    base = server[0]
    status, _, page = _get(f"{base}/accessibilite/")
    assert status == 200
    # The manifest storage names files by their hash; pick a CSS file the page links.
    css = next(
        part.split('"')[0] for part in page.decode().split('href="') if part.split('"')[0].endswith(".css")
    )
    assert "." in Path(css).stem, css  # hashed name
    status, headers, body = _get(f"{base}{css}", {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] in {"gzip", "br"}
    if headers["Content-Encoding"] == "gzip":
        assert gzip.decompress(body)
    assert "max-age=315360000" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]


def test_the_push_process_serves_the_screen_pop_stream_under_asgi(server):
    """The push process (uvicorn, Django under ASGI) answers the stream's path with the same rules as the pages: an
    anonymous request goes to the login page; gunicorn refuses to hold the stream (204 for a logged agent, tested
    in tests/telephony) and its login redirect is the same."""
    import http.client

    host, port = urlsplit(server[3]).hostname, urlsplit(server[3]).port
    deadline = time.monotonic() + 120
    while True:
        try:
            connection = http.client.HTTPConnection(host, port, timeout=15)
            connection.request("GET", "/agent/telephonie/flux/", headers={"X-Forwarded-Proto": "https"})
            response = connection.getresponse()
            break
        except OSError:
            assert time.monotonic() < deadline, "the push process did not answer"
            time.sleep(0.3)
    assert response.status == 302 and "/agent/login/" in response.headers["Location"]
    assert response.headers["server"] == "uvicorn"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")  # the production settings
    connection.close()


def test_security_headers_on_a_page(server):
    status, headers, _ = _get(f"{server[0]}/accessibilite/")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp
    # Scripts: our files only (a page with an inline script gets its nonce); never 'unsafe-inline'.
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'self'" in script_src and "unsafe" not in script_src
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_health_then_readiness_fails_without_database(server):
    base, db, forwarder, _push = server
    status, headers, body = _get(f"{base}/healthz")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    status, headers, body = _get(f"{base}/readyz")
    assert status == 200, body
    assert (
        b'"database": "ok"' in body and b'"task_queue": "ok"' in body and b'"document_storage": "ok"' in body
    )
    assert headers["Cache-Control"] == "no-store"
    if forwarder is not None:
        forwarder.cut()  # PostgreSQL: the relay is cut, open connections and new ones fail
        try:
            status, _, body = _get(f"{base}/readyz")
            assert status == 503, body
            assert b'"database": "error' in body or b'"database": "timeout"' in body
        finally:
            forwarder.cut(False)
        return
    # SQLite: the database's directory replaced by a file: no connection can open it any more (even as root).
    moved = db.parent.with_name("db-moved")
    db.parent.rename(moved)
    db.parent.write_text("")
    try:
        status, _, body = _get(f"{base}/readyz")
        assert status == 503, body
        assert b'"database": "error' in body
    finally:
        db.parent.unlink()
        moved.rename(db.parent)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_refuses_to_start_without_production_environment(tmp_path, missing):
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}")
    del env[missing]
    result = subprocess.run(
        [*ENTRY, "serve", "--production", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert missing in result.stderr and "refuse" in result.stderr


def test_check_deploy_has_no_warning(tmp_path):
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}")
    env["OMNIGUICHET_PRODUCTION"] = "1"
    env.pop("SECURE_SSL_REDIRECT")
    result = subprocess.run(
        [*ENTRY, "check", "--deploy"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout and "WARNINGS" not in result.stderr, result.stderr


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="the database does not matter here"
)
def test_serve_starts_and_stops_its_redis_server_when_asked(tmp_path):
    from tests.redis_server import ensure_installed

    ensure_installed()
    redis_port, port = _free_port(), _free_port()
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env.update(
        OMNIGUICHET_TASK_QUEUE="redis",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        OMNIGUICHET_START_REDIS="1",
    )
    subprocess.run([*ENTRY, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    process = subprocess.Popen(
        [*ENTRY, "serve", "--production", "--port", str(port), "--workers", "1", "--mailin-port", "0"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(OSError):
                if _get(f"{base}/healthz")[0] == 200:
                    break
            assert process.poll() is None, "serve --production exited"
            assert time.monotonic() < deadline, "serve --production did not answer"
            time.sleep(0.3)
        status, _headers, body = _get(f"{base}/readyz")
        assert status == 200 and b'"task_queue": "ok"' in body, body  # a PING to the redis-server it started
        assert (tmp_path / "var" / "redis" / "appendonlydir").exists() or (
            tmp_path / "var" / "redis"
        ).exists()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", redis_port), timeout=1):
        pass  # stopped with the platform


def test_serve_refuses_to_start_a_redis_server_for_another_machine(tmp_path):
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env.update(
        OMNIGUICHET_TASK_QUEUE="redis", REDIS_URL="redis://10.1.2.3:6379/0", OMNIGUICHET_START_REDIS="1"
    )
    subprocess.run([*ENTRY, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    refused = subprocess.run(
        [*ENTRY, "serve", "--production", "--port", str(_free_port()), "--mailin-port", "0"], env=env,
        capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert refused.returncode != 0 and "REDIS_URL names 10.1.2.3" in refused.stderr
