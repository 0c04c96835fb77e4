"""Backup and restore (manage.py backup / restore): a round trip on PostgreSQL into
a fresh database gives the same rows in every table and the same files; a
foreign, damaged or hostile archive is refused before anything is written, and
so is a database that is not empty, unless --force."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from questionnaire import evidence as ev
from questionnaire.services import response_submit
from reviews.management import backup
from reviews.models import Job
from reviews.services import job_request
from tests.factories import fill_required
from tests.questionnaire.test_evidence import pdf_bytes

ROOT = Path(__file__).resolve().parents[2]


# --- What "identical" means ----------------------------------------------------------


def _dsn(name: str) -> dict:
    db = connection.settings_dict
    return {"dbname": name, "user": db["USER"], "password": db["PASSWORD"], "host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432}


def database_digest(name: str) -> dict[str, tuple]:
    """Every table of the public schema: its row count and a digest of all its rows;
    every sequence: its last value."""
    with psycopg2.connect(**_dsn(name)) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        tables = [row[0] for row in cur.fetchall()]
        digest = {}
        for table in tables:
            cur.execute(
                f'SELECT count(*), md5(coalesce(string_agg(t::text, E\'\\n\' ORDER BY t::text), \'\')) FROM "{table}" t'
            )
            digest[table] = cur.fetchone()
        cur.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
        digest.update({f"sequence {name}": (value,) for name, value in cur.fetchall()})
    conn.close()
    return digest


def files_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()
    }


# --- A populated platform and a fresh database ------------------------------------------


@pytest.fixture
def populated(transactional_db, review_a, focal_point_a, secretariat, state_a):
    """A submitted response (answers, history, snapshot), an evidence file and a
    finished job with its result file — all committed, as pg_dump sees them."""
    fill_required(review_a.response, focal_point_a)
    response_submit(response=review_a.response, by=focal_point_a)
    ev.evidence_upload(
        state=state_a, upload=SimpleUploadedFile("act.pdf", pdf_bytes(), "application/pdf"), by=focal_point_a, title="Act"
    )
    request = job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat)
    assert Job.objects.get(pk=request.job.pk).status == Job.Status.SUCCEEDED
    media = Path(settings.MEDIA_ROOT)
    assert len(files_digest(media)) >= 2, files_digest(media)
    return media


@pytest.fixture
def fresh_database():
    name = f"test_fp_restore_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(**_dsn("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def restore_into(name: str, media: Path, archive: Path, *extra: str) -> subprocess.CompletedProcess:
    """`manage.py restore` as an operator runs it: its own process and settings."""
    db = connection.settings_dict
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)},
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}",
        "MEDIA_ROOT": str(media),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "restore", str(archive), *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def make_backup(tmp_path) -> Path:
    archive = tmp_path / "backup.tar"
    call_command("backup", output=archive, stdout=io.StringIO())
    return archive


# --- Round trip -----------------------------------------------------------------------------


def test_a_round_trip_restores_identical_data_into_a_fresh_database(populated, fresh_database, tmp_path):
    source = connection.settings_dict["NAME"]
    archive = make_backup(tmp_path)
    manifest = json.loads(tarfile.open(archive).extractfile("manifest.json").read())
    assert manifest["engine"] == "postgresql" and "database.dump" in manifest["parts"]

    restored_media = tmp_path / "restored-media"
    result = restore_into(fresh_database, restored_media, archive)

    assert result.returncode == 0, result.stderr
    before, after = database_digest(source), database_digest(fresh_database)
    assert after == before
    assert before["questionnaire_answer"][0] > 0 and before["reviews_job"][0] == 1
    assert files_digest(restored_media) == files_digest(populated)

    # Restoring again over it needs --force; forced, the database and the files are
    # replaced whole: rows and files added since are gone.
    with psycopg2.connect(**_dsn(fresh_database)) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM reviews_job")
    conn.close()
    (restored_media / "stray.txt").write_text("added after the backup")
    refused = restore_into(fresh_database, restored_media, archive)
    assert refused.returncode != 0 and "is not empty" in refused.stderr and "--force" in refused.stderr
    assert database_digest(fresh_database)["reviews_job"][0] == 0

    forced = restore_into(fresh_database, restored_media, archive, "--force")

    assert forced.returncode == 0, forced.stderr
    assert database_digest(fresh_database) == before
    assert files_digest(restored_media) == files_digest(populated)


def test_a_round_trip_on_sqlite(tmp_path):
    """The embedded default: SQLite's online backup API, same archive format."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "media-a")}
    env.pop("REDIS_URL", None)

    def manage(*args, **override):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env={**env, **override}, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    manage("migrate", "-v0")
    manage("load_states")
    (tmp_path / "media-a" / "evidence").mkdir(parents=True)
    (tmp_path / "media-a" / "evidence" / "file").write_bytes(b"\x00\x01 evidence")
    manage("backup", "-o", str(tmp_path / "b.tar"))
    manage("restore", str(tmp_path / "b.tar"), DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media-b"))

    def dump(path):
        with sqlite3.connect(path) as db:
            return list(db.iterdump())

    assert dump(tmp_path / "b.sqlite3") == dump(tmp_path / "a.sqlite3")
    assert len(dump(tmp_path / "a.sqlite3")) > 194
    assert files_digest(tmp_path / "media-b") == files_digest(tmp_path / "media-a")


# --- Refusals: nothing is written ----------------------------------------------------------


def test_it_refuses_to_overwrite_a_database_that_is_not_empty(populated, tmp_path):
    archive = make_backup(tmp_path)
    before = database_digest(connection.settings_dict["NAME"])

    with pytest.raises(CommandError, match=r"Nothing was restored: the database .* is not empty .* --force"):
        call_command("restore", str(archive), stdout=io.StringIO())

    assert database_digest(connection.settings_dict["NAME"]) == before


def _rewrite(archive: Path, out: Path, change) -> Path:
    """A copy of the archive with ``change(name, data) -> data | None`` applied to each member."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            data = change(member.name, src.extractfile(member).read())
            if data is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out


def _flip_a_byte(name, data):
    if name == "database.dump":
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
    return data


def _add_traversal(name, data):
    if name == "manifest.json":
        manifest = json.loads(data)
        manifest["parts"]["media/../../escaped.txt"] = {"size": 0, "sha256": hashlib.sha256(b"").hexdigest()}
        return json.dumps(manifest).encode()
    return data


def _appended(archive: Path, out: Path, name: str) -> Path:
    shutil.copy(archive, out)
    with tarfile.open(out, "a") as tar:
        info = tarfile.TarInfo(name)
        info.size = 5
        tar.addfile(info, io.BytesIO(b"extra"))
    return out


HOSTILE = {
    "damaged database part": (lambda a, o: _rewrite(a, o, _flip_a_byte), "the archive is damaged: 'database.dump'"),
    "file missing": (
        lambda a, o: _rewrite(a, o, lambda n, d: None if n.startswith("media/") and "evidence" in n else d),
        "the archive is incomplete",
    ),
    "unlisted file": (lambda a, o: _appended(a, o, "media/extra.txt"), "which its manifest does not list"),
    "no manifest": (lambda a, o: _rewrite(a, o, lambda n, d: None if n == "manifest.json" else d), "no manifest.json"),
    "foreign manifest": (
        lambda a, o: _rewrite(a, o, lambda n, d: b'{"format": "something-else"}' if n == "manifest.json" else d),
        "unknown format",
    ),
    "path traversal": (lambda a, o: _rewrite(a, o, _add_traversal), "outside MEDIA_ROOT"),
    "not a tar": (lambda a, o: o.write_bytes(b"PK\x03\x04 a zip, or anything else") and o, "this is not a backup of this platform"),
    "truncated": (lambda a, o: o.write_bytes(a.read_bytes()[: a.stat().st_size // 2]) and o, "Nothing was restored"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_foreign_or_damaged_archive_is_refused_and_nothing_is_written(populated, fresh_database, tmp_path, case):
    build, expected = HOSTILE[case]
    archive = build(make_backup(tmp_path), tmp_path / "hostile.tar")
    media = tmp_path / "restored-media"

    result = restore_into(fresh_database, media, archive)

    assert result.returncode != 0
    assert expected in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert database_digest(fresh_database) == {}
    assert not media.exists() or files_digest(media) == {}
    assert not (tmp_path / "escaped.txt").exists()


def test_a_missing_archive_or_folder_is_a_clear_refusal(transactional_db, tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("restore", str(tmp_path / "nowhere.tar"), stdout=io.StringIO())
    with pytest.raises(CommandError, match="does not exist"):
        call_command("backup", output=tmp_path / "no" / "such" / "b.tar", stdout=io.StringIO())


def test_a_backup_never_overwrites_an_archive(populated, tmp_path):
    archive = make_backup(tmp_path)
    before = archive.read_bytes()

    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", output=archive, stdout=io.StringIO())

    assert archive.read_bytes() == before
    assert not list(tmp_path.glob("*.partial"))


def test_a_backup_of_a_newer_platform_is_refused(populated, fresh_database, tmp_path):
    def newer(name, data):
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["migrations"].append(["reviews", "9999_from_the_future"])
            return json.dumps(manifest).encode()
        return data

    archive = _rewrite(make_backup(tmp_path), tmp_path / "newer.tar", newer)

    result = restore_into(fresh_database, tmp_path / "m", archive)

    assert result.returncode != 0 and "made by a newer version of the platform" in result.stderr
    assert database_digest(fresh_database) == {}
