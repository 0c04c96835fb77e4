"""Backup and restore of the whole platform: the database and the uploaded files
(MEDIA_ROOT) in one tar archive with a manifest.

Archive layout (an uncompressed tar; the database part is compressed already):

- ``database.dump`` — ``pg_dump --format=custom`` (PostgreSQL), or
  ``database.sqlite3`` — a copy made with SQLite's online backup API;
- ``media/<path>`` — every file under MEDIA_ROOT (evidence, job results, ...);
- ``manifest.json`` — last: the format name and version, when, the database
  engine, the applied migrations, and the size and sha256 of every other member.

A restore reads the manifest and checks every member against it before it
writes anything: a foreign or damaged archive, a member outside the manifest,
a path that would leave MEDIA_ROOT, another database engine or migrations this
code does not know are refused with a message. It refuses a database that has
tables, or a MEDIA_ROOT with files, unless forced; forced, the database's
tables are dropped and the dump loaded in one transaction, and MEDIA_ROOT ends
up holding exactly the archive's files.

Called by the ``backup`` and ``restore`` management commands (README, "Backup and
restore"). Operator-facing: messages are English, like Django's own commands.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader

FORMAT = "firearms-review-backup"
VERSION = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
MEDIA = "media"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why."""


@dataclass(frozen=True)
class Restored:
    engine: str
    tables: int
    files: int
    created_at: str


# --- Helpers ---------------------------------------------------------------------------


def _engine(alias: str = "default") -> str:
    vendor = connections[alias].vendor
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"backups support PostgreSQL and SQLite, not {vendor}")
    return vendor


def _pg_env(alias: str = "default") -> dict[str, str]:
    db = connections[alias].settings_dict
    env = {**os.environ, "PGDATABASE": db["NAME"], "PGUSER": db.get("USER") or "", "PGCONNECT_TIMEOUT": "10"}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError as exc:
        raise BackupError(f"{what}: {command[0]} is not installed (Debian: postgresql-client)") from exc
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _applied_migrations(alias: str = "default") -> list[list[str]]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return [list(row) for row in cursor.fetchall()]


def _media_files(root: Path) -> list[tuple[str, Path]]:
    if not root.exists():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found.append((path.relative_to(root).as_posix(), path))
    return found


def _tables(alias: str = "default") -> list[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor, include_views=False))


def _functions(alias: str = "default") -> list[str]:
    """The functions of the current schema that migrations created (the audit log's
    append-only trigger function), extensions' own aside: the dump creates them again."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND NOT EXISTS "
            "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


# --- Backup --------------------------------------------------------------------------------


def default_archive_name(now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now(datetime.UTC)
    return f"fp-backup-{now:%Y%m%dT%H%M%SZ}.tar"


def _dump_database(engine: str, into: Path, alias: str = "default") -> Path:
    if engine == "postgresql":
        target = into / PG_DUMP
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target)], _pg_env(alias), "pg_dump")
        return target
    target = into / SQLITE_COPY
    source = sqlite3.connect(connections[alias].settings_dict["NAME"])
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # consistent even while the platform writes
    finally:
        copy.close()
        source.close()
    return target


class _Hashing(io.RawIOBase):
    """Reads through a file while hashing exactly what tarfile copies."""

    def __init__(self, f: IO[bytes]):
        self.f, self.digest = f, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.digest.update(data)
        return data


def _add(archive: tarfile.TarFile, name: str, path: Path, parts: dict) -> None:
    info = archive.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    with open(path, "rb") as f:
        hashing = _Hashing(f)
        archive.addfile(info, hashing)
    parts[name] = {"size": info.size, "sha256": hashing.digest.hexdigest()}


def backup(*, output: Path, alias: str = "default") -> dict:
    """Write the archive to ``output`` (written beside it, then renamed into place,
    so that a failed backup never leaves a partial archive under that name)."""
    engine = _engine(alias)
    output = Path(output)
    if output.exists():
        raise BackupError(f"{output} exists already; choose another name")
    if not output.parent.is_dir():
        raise BackupError(f"the folder {output.parent} does not exist")
    media_root = Path(settings.MEDIA_ROOT)
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="fp-backup-") as work:
        dump = _dump_database(engine, Path(work), alias)
        parts: dict[str, dict] = {}
        try:
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
                _add(archive, dump.name, dump, parts)
                for relative, path in _media_files(media_root):
                    try:
                        _add(archive, f"{MEDIA}/{relative}", path, parts)
                    except FileNotFoundError:
                        continue  # deleted while the backup ran (a pending upload swept)
                manifest = {
                    "format": FORMAT,
                    "version": VERSION,
                    "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
                    "engine": engine,
                    "migrations": _applied_migrations(alias),
                    "parts": parts,
                }
                data = json.dumps(manifest, indent=1, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.datetime.now(datetime.UTC).timestamp())
                archive.addfile(info, io.BytesIO(data))
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


# --- Restore -------------------------------------------------------------------------------


def _safe_media_path(name: str) -> str:
    """``media/<relative>`` → ``<relative>``, refusing anything that could leave MEDIA_ROOT."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or len(path.parts) < 2 or path.parts[0] != MEDIA:
        raise BackupError(f"the archive holds a file outside MEDIA_ROOT ({name!r}); refused")
    return PurePosixPath(*path.parts[1:]).as_posix()


def read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        member = archive.getmember(MANIFEST)
    except KeyError:
        raise BackupError("this is not a backup of this platform (no manifest.json)") from None
    if not member.isfile() or member.size > 50 * CHUNK:
        raise BackupError("this is not a backup of this platform (unreadable manifest)")
    try:
        manifest = json.loads(archive.extractfile(member).read())
    except ValueError:
        raise BackupError("this is not a backup of this platform (unreadable manifest)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("this is not a backup of this platform (unknown format)")
    if manifest.get("version") != VERSION:
        raise BackupError(f"this backup has format version {manifest.get('version')}; this code reads version {VERSION}")
    if not isinstance(manifest.get("parts"), dict) or not isinstance(manifest.get("migrations"), list):
        raise BackupError("this backup's manifest is incomplete")
    for name in manifest["parts"]:
        if name not in (PG_DUMP, SQLITE_COPY):
            _safe_media_path(name)
    return manifest


def verify(archive: tarfile.TarFile, manifest: dict) -> None:
    """Every member is in the manifest with its size and sha256, and every part of
    the manifest is in the archive; paths are checked too. Reads the whole archive."""
    parts = manifest["parts"]
    seen = set()
    for member in archive.getmembers():
        if member.name == MANIFEST:
            continue
        if member.name not in parts:
            raise BackupError(f"the archive holds {member.name!r}, which its manifest does not list: refused")
        if not member.isfile():
            raise BackupError(f"{member.name!r} is not a regular file: refused")
        if member.name not in (PG_DUMP, SQLITE_COPY):
            _safe_media_path(member.name)
        digest = hashlib.sha256()
        stream = archive.extractfile(member)
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
        expected = parts[member.name]
        if member.size != expected.get("size") or digest.hexdigest() != expected.get("sha256"):
            raise BackupError(f"the archive is damaged: {member.name!r} does not match its checksum")
        seen.add(member.name)
    missing = set(parts) - seen
    if missing:
        raise BackupError(f"the archive is incomplete: {', '.join(sorted(missing)[:5])} missing")


def _check_migrations(manifest: dict, alias: str) -> None:
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = [f"{app}.{name}" for app, name in manifest["migrations"] if (app, name) not in known]
    if unknown:
        raise BackupError(
            "this backup was made by a newer version of the platform (migrations unknown here: "
            + ", ".join(unknown[:5])
            + "); restore it with that version"
        )


def _restore_postgresql(dump: Path, alias: str, force: bool) -> None:
    env = _pg_env(alias)
    with tempfile.TemporaryDirectory(prefix="fp-restore-") as work:
        script = Path(work) / "restore.sql"
        with open(script, "w") as out:
            # Forced: the existing tables go in the same transaction as the load.
            if force:
                for table in _tables(alias):
                    out.write(f'DROP TABLE IF EXISTS "{table}" CASCADE;\n')
                for function in _functions(alias):
                    out.write(f"DROP FUNCTION IF EXISTS {function} CASCADE;\n")
            out.flush()
        connections[alias].close()
        body = Path(work) / "dump.sql"
        _run(["pg_restore", "--no-owner", "--no-privileges", "--file", str(body), str(dump)], env, "pg_restore")
        with open(script, "ab") as out, open(body, "rb") as src:
            shutil.copyfileobj(src, out)
        _run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", str(script)], env, "loading the dump")


def _restore_sqlite(copy: Path, alias: str) -> None:
    name = connections[alias].settings_dict["NAME"]
    connections[alias].close()
    source = sqlite3.connect(copy)
    target = sqlite3.connect(name)
    try:
        source.backup(target)  # replaces the whole database, in one step
    finally:
        target.close()
        source.close()


def _restore_media(archive: tarfile.TarFile, manifest: dict, root: Path) -> int:
    root.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for name in manifest["parts"]:
        if name not in (PG_DUMP, SQLITE_COPY):
            wanted[_safe_media_path(name)] = name
    for relative, path in _media_files(root):
        if relative not in wanted:
            path.unlink()
    resolved_root = root.resolve()
    for relative, name in sorted(wanted.items()):
        target = (root / relative).resolve()
        if resolved_root not in target.parents:
            raise BackupError(f"{name!r} would be written outside MEDIA_ROOT: refused")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".restoring")
        with archive.extractfile(name) as src, open(partial, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
        os.replace(partial, target)
    return len(wanted)


def restore(*, archive_path: Path, force: bool = False, alias: str = "default") -> Restored:
    engine = _engine(alias)
    if not Path(archive_path).is_file():
        raise BackupError(f"{archive_path} is not a file")
    try:
        archive = tarfile.open(archive_path, "r:")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"this is not a backup of this platform ({exc})") from None
    with archive:
        try:
            return _restore(archive, engine=engine, force=force, alias=alias)
        except (tarfile.TarError, EOFError) as exc:
            raise BackupError(f"the archive is damaged ({exc})") from None


def _restore(archive: tarfile.TarFile, *, engine: str, force: bool, alias: str) -> Restored:
    manifest = read_manifest(archive)
    if manifest.get("engine") != engine:
        raise BackupError(f"this backup is of a {manifest.get('engine')} database; the target is {engine}")
    database_part = PG_DUMP if engine == "postgresql" else SQLITE_COPY
    if database_part not in manifest["parts"]:
        raise BackupError("the archive holds no database")
    verify(archive, manifest)
    _check_migrations(manifest, alias)
    media_root = Path(settings.MEDIA_ROOT)
    tables = _tables(alias)
    if not force:
        if tables:
            raise BackupError(
                f"the database {connections[alias].settings_dict['NAME']} is not empty ({len(tables)} tables); "
                "restore into a new database, or pass --force to replace its contents"
            )
        if _media_files(media_root):
            raise BackupError(f"MEDIA_ROOT ({media_root}) holds files; pass --force to replace them")
    with tempfile.TemporaryDirectory(prefix="fp-restore-") as work:
        part = Path(work) / database_part
        with archive.extractfile(database_part) as src, open(part, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
        if engine == "postgresql":
            _restore_postgresql(part, alias, force)
        else:
            _restore_sqlite(part, alias)
    files = _restore_media(archive, manifest, media_root)
    return Restored(engine=engine, tables=len(_tables(alias)), files=files, created_at=manifest.get("created_at", ""))
