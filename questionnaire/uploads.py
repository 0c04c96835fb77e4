"""Upload size limits enforced while the request body is read, and the virus-scanner
hook (``scan_upload``)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.files.uploadhandler import FileUploadHandler, SkipFile

from . import scanning


class SizeLimitUploadHandler(FileUploadHandler):
    """Counts each uploaded file's bytes and skips a file as soon as it exceeds the
    limit, so that no more of it is kept in memory or on disk; ``too_big`` names
    the fields that were skipped, for the view to tell the user.

    It must be installed before the body is read — and the CSRF check reads the
    body, so views that use it are csrf_exempt outside and csrf_protect inside
    (Django's documented pattern)."""

    def __init__(self, request=None, limit: int = 0):
        super().__init__(request)
        self.limit = limit
        self.too_big: list[str] = []

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.too_big.append(self.field_name)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None


def install_size_limit(request, limit: int) -> SizeLimitUploadHandler:
    handler = SizeLimitUploadHandler(request, limit)
    request.upload_handlers.insert(0, handler)
    return handler


def scan_upload(stream, *, refuse: Callable[[str], Exception]) -> None:
    """The virus-scanner hook that every upload goes through before it is stored
    (evidence files, offline workbooks): streams the file to clamd when one is
    configured (questionnaire/scanning.py) and raises ``refuse(message)`` — the
    caller's own refusal — for an infected file or an unreachable scanner."""
    try:
        scanning.scan(stream)
    except scanning.ScanRefused as exc:
        raise refuse(str(exc)) from exc
