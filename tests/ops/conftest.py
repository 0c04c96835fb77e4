"""Disposable servers for the operational tests: each test (or module) starts its
own clamd, redis-server or PostgreSQL cluster on a free port in a temporary
directory, and stops it afterwards. The shared servers on 5432/6379 are never
touched."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# The standard antivirus test file (not a virus: every scanner is meant to flag it).
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    details = f"\n{log.read_text(errors='replace')[-3000:]}" if log and log.exists() else ""
    pytest.fail(f"timed out after {timeout}s waiting for {what}{details}")


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


# --- clamd ---------------------------------------------------------------------------


@dataclass
class Clamd:
    socket_path: str
    port: int
    process: subprocess.Popen
    log: Path

    def scanned(self) -> list[str]:
        """clamd's verdicts so far, one line per stream ("OK", "Eicar-... FOUND")."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [line.split(": ", 1)[1] for line in lines if "instream(" in line and ": " in line]


def _clamd_answers(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            s.connect(path)
            s.sendall(b"zPING\0")
            return s.recv(16).startswith(b"PONG")
    except OSError:
        return False


def start_clamd(home: Path, *, stream_max: str = "30M", tcp: bool = True) -> Clamd:
    """ClamAV's real daemon (Debian's clamav-daemon, installed by scripts/test.sh)
    with one signature, the EICAR test string anywhere in a file, since the
    signature databases cannot be downloaded here. Unix socket, and TCP too."""
    if not os.path.exists(CLAMD):
        pytest.fail("clamd is not installed: run the tests with scripts/test.sh (it installs clamav-daemon)")
    (home / "db").mkdir(parents=True, exist_ok=True)
    (home / "db" / "eicar.ndb").write_text(f"Eicar-Test-Signature:0:*:{EICAR.hex()}\n")
    port = free_port()
    path, log = str(home / "clamd.sock"), home / "clamd.log"
    (home / "clamd.conf").write_text(
        f"Foreground yes\nLocalSocket {path}\n"
        + (f"TCPSocket {port}\nTCPAddr 127.0.0.1\n" if tcp else "")
        + f"DatabaseDirectory {home / 'db'}\nLogFile {log}\nLogClean yes\n"
        + f"StreamMaxLength {stream_max}\n"
    )
    process = subprocess.Popen(
        [CLAMD, "-c", str(home / "clamd.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    wait_until(lambda: process.poll() is not None or _clamd_answers(path), 60, "clamd to answer", log)
    if process.poll() is not None:
        pytest.fail("clamd exited:\n" + log.read_text(errors="replace")[-3000:])
    return Clamd(socket_path=path, port=port, process=process, log=log)


@pytest.fixture(scope="session")
def clamd(tmp_path_factory) -> Clamd:
    # Above the largest upload (20 MB evidence files).
    server = start_clamd(tmp_path_factory.mktemp("clamd"), stream_max="30M")
    yield server
    stop(server.process)


# --- redis-server ------------------------------------------------------------------------


class Redis:
    """A redis-server of the test's own on a free port, which the test stops and
    starts again (same port) to play an outage."""

    def __init__(self, home: Path):
        self.home, self.port, self.process = home, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.home)],
            stdout=open(self.home / "redis.log", "a"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        wait_until(self.ping, 20, "redis-server to answer", self.home / "redis.log")

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, never answered (a hung server)."""
        os.kill(self.process.pid, 19)

    def resume(self) -> None:
        os.kill(self.process.pid, 18)

    def refuse_clients(self) -> None:
        """Redis keeps running and keeps its data, but drops every client and
        refuses new ones (a network cut): one admin connection holds the only slot."""
        self._admin = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self._command(b"CONFIG SET maxclients 1\r\n", b"+OK")
        self._command(b"CLIENT KILL TYPE normal SKIPME yes\r\n", b":")

    def accept_clients(self) -> None:
        self._command(b"CONFIG SET maxclients 10000\r\n", b"+OK")
        self._admin.close()

    def _command(self, command: bytes, expected: bytes) -> None:
        self._admin.sendall(command)
        reply = self._admin.recv(256)
        assert reply.startswith(expected), reply

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.resume()
            stop(self.process)
            self.process = None
        wait_until(lambda: not self.ping(), 10, "redis-server to stop")


@pytest.fixture
def own_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed: run the tests with scripts/test.sh")
    server = Redis(tmp_path)
    server.start()
    yield server
    server.stop()


# --- The app and a worker in their own processes -----------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def database_url(settings_dict: dict, name: str | None = None) -> str:
    db = settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name or db['NAME']}"
    )


def app_env(*, database: str, redis: str, media: Path, queue: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "CLAMD_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=database, REDIS_URL=redis, MEDIA_ROOT=str(media),
        CELERY_QUEUE=queue, CELERY_TASK_ALWAYS_EAGER="false", **extra,
    )
    return env


class Process:
    """A subprocess with its log, started and stopped by the test."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path):
        self.command, self.env, self.log_path = command, env, log
        self.process: subprocess.Popen | None = None

    def start(self, ready: Callable[[], bool] | str, timeout: float = 60) -> "Process":
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        if isinstance(ready, str):
            text = ready
            ready = lambda: text in self.log()  # noqa: E731
        try:
            wait_until(lambda: self.process.poll() is not None or ready(), timeout, f"{self.command[2:4]} to start", self.log_path)
        except BaseException:
            self.kill()  # never left running by a test that gave up on it
            raise
        if self.process.poll() is not None:
            pytest.fail(f"{self.command} exited:\n{self.log()[-3000:]}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL, the whole process group (a worker and its pool): no clean-up at all."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def gunicorn(env: dict[str, str], log: Path) -> tuple[Process, str]:
    import sys

    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1",
               "--timeout", "60"]
    return Process(command, env, log), f"http://127.0.0.1:{port}"


def celery_worker(env: dict[str, str], log: Path, *, pool: str = "solo", beat: bool = False, slow: bool = False) -> Process:
    """A real worker on the test's queue; ``slow``: its reports pause at 10% (tests/ops/slow_worker.py)."""
    import sys

    module = "tests.ops.slow_worker" if slow else "celery"
    command = [sys.executable, "-m", module, "-A", "config", "worker", "-Q", env["CELERY_QUEUE"], f"--pool={pool}",
               "-c", "1", "--without-gossip", "--without-mingle", "-l", "info"]
    if beat:
        command += ["-B", "-s", str(log.parent / "beat-schedule")]
    return Process(command, env, log)


# --- A browser for a server in another process ---------------------------------------------


class Browser:
    """Plain HTTP with a signed-in session cookie and the CSRF cookie, redirects not followed."""

    def __init__(self, base: str, user):
        import http.cookiejar
        import urllib.request

        from django.conf import settings
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from config.sessions import SessionStore

        session = SessionStore()  # in the database, where the server reads it
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        # What the sign-in form leaves after the password and the TOTP step.
        import time

        from parties.receivers import SIGNED_IN_AT
        from tests.signin import second_factor_records

        session[SIGNED_IN_AT] = time.time()
        session.update(second_factor_records(user))
        session.save()
        self.base, self.jar = base, http.cookiejar.CookieJar()
        self.jar.set_cookie(_cookie(settings.SESSION_COOKIE_NAME, session.session_key))

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def csrf(self) -> str:
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None, timeout: float = 30):
        import urllib.error
        import urllib.parse
        import urllib.request

        body = None
        if data is not None:
            body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.csrf(), **data}, doseq=True).encode()
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=timeout) as reply:
                return reply.status, reply.read().decode(), reply.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), error.headers

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs):
        return self.request("POST", path, data=data, **kwargs)


def _cookie(name: str, value: str):
    import http.cookiejar

    return http.cookiejar.Cookie(
        0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None, False, None, None, {}
    )


# --- A PostgreSQL cluster of the test's own ---------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        pytest.fail("PostgreSQL's server binaries are missing: run the tests with scripts/test.sh")
    return str(found[-1])


class Postgres:
    """initdb + pg_ctl in a temporary directory, on a free port, trust authentication
    for role fp on 127.0.0.1 only. PostgreSQL refuses to run as root: as root the
    server runs as the postgres system user (runuser), as scripts/services.sh does."""

    def __init__(self):
        import tempfile

        self.home = Path(tempfile.mkdtemp(prefix="fp-ops-pg-"))
        self.data, self.log, self.port = self.home / "data", self.home / "server.log", free_port()
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
        self._owner([_pg_bin("initdb"), "-D", str(self.data), "-U", "fp", "-A", "trust", "-E", "UTF8", "--no-sync"])

    def _owner(self, command: list[str], timeout: float = 60) -> None:
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, cwd="/", capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            pytest.fail(f"{command} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")

    def url(self, name: str) -> str:
        return f"postgres://fp:fp@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._owner([_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._owner([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop"])

    def psql(self, database: str, sql: str) -> str:
        result = subprocess.run(
            ["psql", "-X", "-q", "-tA", "-h", "127.0.0.1", "-p", str(self.port), "-U", "fp", "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def own_postgres():
    server = Postgres()
    server.start()
    yield server
    server.remove()
