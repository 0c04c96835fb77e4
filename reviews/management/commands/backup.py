"""manage.py backup [--output PATH]: the database and the uploaded files in one
archive with a manifest of checksums (reviews/management/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviews.management import backup


class Command(BaseCommand):
    # Like migrate: a backup must not depend on the URL configuration importing cleanly.
    requires_system_checks: list = []
    help = "Back up the database (pg_dump, or SQLite's online backup) and MEDIA_ROOT into one tar archive."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", "-o", type=Path, help="the archive to write (default: ./fp-backup-<UTC time>.tar); never overwritten"
        )

    def handle(self, *, output: Path | None, **options):
        output = output or Path(backup.default_archive_name())
        try:
            manifest = backup.backup(output=output)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        files = sum(1 for name in manifest["parts"] if name.startswith(backup.MEDIA + "/"))
        self.stdout.write(f"Backed up the {manifest['engine']} database and {files} files to {output}")
