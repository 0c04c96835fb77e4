"""Virus scanning of uploads by clamd, ClamAV's daemon, when one is configured.

``CLAMD_SOCKET`` (a unix socket path) or ``CLAMD_HOST`` (+ ``CLAMD_PORT``, 3310)
in the settings turn it on; with neither, uploads are not scanned. The file is
streamed to clamd with its INSTREAM command before anything is stored:

- clean: nothing happens;
- infected: ``Infected`` (a refusal naming the signature);
- clamd configured but unreachable, too slow, or answering an error (a file over
  its ``StreamMaxLength``, say): ``ScannerUnavailable`` — the upload is refused,
  never let through unscanned (fail closed), and the failure is logged.

INSTREAM is written here (thirty lines, standard library only) rather than taken
from a client library: ``clamd`` on PyPI is unmaintained since 2014, and its
maintained fork ``clamav-client`` is GPL-2.0, which would reach the whole
platform when it is distributed; both send 1 KiB chunks and connect a unix
socket without a timeout.
"""

from __future__ import annotations

import logging
import socket
import struct
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024


class ScanRefused(Exception):
    """The upload is refused by the virus check; the message says why, for the user."""


class Infected(ScanRefused):
    def __init__(self, signature: str):
        self.signature = signature
        super().__init__(
            _("This file contains a virus or other malware (%(name)s) and was refused. Nothing was stored.")
            % {"name": signature}
        )


class ScannerUnavailable(ScanRefused):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(
            _(
                "The file cannot be checked for viruses right now, so it was not accepted. "
                "Nothing was stored. Please try again later."
            )
        )


def scanner_configured() -> bool:
    return bool(getattr(settings, "CLAMD_SOCKET", "") or getattr(settings, "CLAMD_HOST", ""))


def _connect() -> socket.socket:
    timeout = getattr(settings, "CLAMD_TIMEOUT", 30)
    if settings.CLAMD_SOCKET:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(settings.CLAMD_SOCKET)
        except OSError:
            sock.close()
            raise
        return sock
    return socket.create_connection((settings.CLAMD_HOST, settings.CLAMD_PORT), timeout=timeout)


def clamd_instream(stream: IO[bytes]) -> str:
    """Send the stream (from where it is) to clamd; return clamd's reply, e.g.
    ``stream: OK`` or ``stream: Eicar-Signature FOUND``. Raises OSError."""
    with _connect() as sock:
        sock.sendall(b"zINSTREAM\0")
        while chunk := stream.read(CHUNK):
            sock.sendall(struct.pack("!L", len(chunk)) + chunk)
        sock.sendall(struct.pack("!L", 0))
        reply = b""
        while not reply.endswith(b"\0"):
            part = sock.recv(4096)
            if not part:
                break
            reply += part
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()


def scan(stream: IO[bytes]) -> None:
    """Check a seekable stream from its start; leaves it at its start. No-op when
    no scanner is configured. Raises Infected or ScannerUnavailable."""
    if not scanner_configured():
        return
    stream.seek(0)
    try:
        reply = clamd_instream(stream)
    except OSError as exc:  # refused, missing socket, timeout, reset
        logger.error("virus scanner unreachable, upload refused: %s: %s", type(exc).__name__, exc)
        raise ScannerUnavailable(str(exc)) from exc
    finally:
        stream.seek(0)
    if reply.endswith(" FOUND"):
        signature = reply.removeprefix("stream:").removesuffix(" FOUND").strip()
        logger.warning("virus scanner found %s in an upload; refused", signature)
        raise Infected(signature)
    if reply != "stream: OK":
        # "INSTREAM size limit exceeded. ERROR", an empty reply, anything unexpected.
        logger.error("virus scanner answered %r, upload refused", reply)
        raise ScannerUnavailable(reply)
