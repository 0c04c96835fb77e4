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
