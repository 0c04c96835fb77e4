"""manage.py restore ARCHIVE [--force]: check an archive made by ``backup`` and
load it into the configured database and MEDIA_ROOT (reviews/management/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviews.management import backup


class Command(BaseCommand):
    # Like migrate: a backup must not depend on the URL configuration importing cleanly.
    requires_system_checks: list = []
    help = (
        "Restore a backup made by `manage.py backup`: checks every checksum first, refuses a foreign or damaged "
        "archive, and a database or MEDIA_ROOT that is not empty unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument(
            "--force", action="store_true", help="replace the contents of a database and MEDIA_ROOT that are not empty"
        )

    def handle(self, *, archive: Path, force: bool, **options):
        try:
            restored = backup.restore(archive_path=archive, force=force)
        except backup.BackupError as exc:
            raise CommandError(f"Nothing was restored: {exc}") from exc
        self.stdout.write(
            f"Restored the backup of {restored.created_at}: {restored.tables} tables and {restored.files} files. "
            "Run `manage.py migrate` if this version of the platform is newer than the backup."
        )
