from django.core.management.base import BaseCommand, CommandError

from questionnaire.content import CONTENT_DIR, ContentError, content_load, parse_content


class Command(BaseCommand):
    help = (
        "Validate a questionnaire content file and load it: one new version per cluster whose content changed. "
        "Idempotent; the database is untouched when the file is invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(CONTENT_DIR / "firearms_protocol.yaml"))
        parser.add_argument("--check", action="store_true", help="Only validate the file.")

    def handle(self, path, check=False, **options):
        try:
            if check:
                plan = parse_content(path)
                for cluster in plan.clusters:
                    self.stdout.write(f"cluster {cluster['code']}: {plan.question_count(cluster['code'])} questions")
                self.stdout.write(self.style.SUCCESS(f"{path} is valid."))
                return
            result = content_load(path=path)
        except ContentError as exc:
            raise CommandError(f"{len(exc.errors)} error(s) in the content file, nothing was loaded:\n{exc}") from exc
        for version in result.created:
            self.stdout.write(self.style.SUCCESS(f"new: {version} ({version.questions.count()} questions)"))
        for version in result.unchanged:
            self.stdout.write(f"unchanged: {version}")
