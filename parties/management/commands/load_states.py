import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from parties.models import State, TreatyStatus

DEFAULT = Path(__file__).resolve().parents[2] / "data" / "states.csv"
LANGS = {"en": "en", "fr": "fr", "es": "es", "ru": "ru", "ar": "ar", "zh": "zh_hans"}


class Command(BaseCommand):
    help = "Load the UN Member States (and the EU) with their regional group and Firearms Protocol status. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT))

    @transaction.atomic
    def handle(self, path, **options):
        try:
            rows = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        groups, kinds, statuses = set(State.RegionalGroup.values) | {""}, set(State.Kind.values), set(TreatyStatus.Status.values)
        for line, row in enumerate(rows, start=2):
            if row["regional_group"] not in groups or row["kind"] not in kinds or row["firearms_protocol"] not in statuses:
                raise CommandError(f"{path}:{line}: unknown regional group, kind or status in {row}")
        created = 0
        for row in rows:
            names = {f"name_{field}": row[f"name_{lang}"] for lang, field in LANGS.items()}
            state, was_created = State.objects.update_or_create(
                iso3=row["iso3"],
                defaults={
                    "iso2": row["iso2"],
                    "name": row["name_en"],
                    "regional_group": row["regional_group"],
                    "kind": row["kind"],
                    **names,
                },
            )
            created += was_created
            TreatyStatus.objects.update_or_create(
                state=state, instrument_code="firearms_protocol", defaults={"status": row["firearms_protocol"]}
            )
        self.stdout.write(f"{len(rows)} States loaded ({created} new).")
