from django.core.management.base import BaseCommand, CommandError

from questionnaire.recommendations import DEFAULT_PATH, RecommendationsError, parse_recommendations, recommendations_load


class Command(BaseCommand):
    help = (
        "Validate the Working Group recommendations file and load it (created, updated or removed by code). "
        "Idempotent; the database is untouched when the file is invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH))
        parser.add_argument("--check", action="store_true", help="Only validate the file.")

    def handle(self, path, check=False, **options):
        try:
            if check:
                planned = parse_recommendations(path)
                self.stdout.write(self.style.SUCCESS(f"{path} is valid: {len(planned)} recommendations."))
                return
            result = recommendations_load(path=path)
        except RecommendationsError as exc:
            raise CommandError(f"{len(exc.errors)} error(s) in the recommendations file, nothing was loaded:\n{exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"recommendations: {len(result.created)} new, {len(result.updated)} updated, "
                f"{len(result.unchanged)} unchanged, {len(result.removed)} removed"
            )
        )
