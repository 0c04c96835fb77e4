"""The closed registry of question kinds.

Each kind knows, in one place, how it is asked (form field), how an answer is
validated and stored (JSON), whether a stored value counts as answered, how it is
shown read-only and exported, and which values a condition on it may name.
Adding a kind means adding one class here.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TACategory(models.TextChoices):
    """Technical-assistance taxonomy (seed 001 paras 48–75)."""

    LEGISLATIVE = "legislative", _("Legislative drafting and legal advice")
    INSTITUTION_BUILDING = "institution_building", _("Institution building")
    TRAINING_LAW_ENFORCEMENT = "training_law_enforcement", _("Training of law enforcement")
    TRAINING_CUSTOMS = "training_customs", _("Training of customs and border officials")
    TRAINING_JUDICIARY = "training_judiciary", _("Training of prosecutors and judges")
    MARKING_EQUIPMENT = "marking_equipment", _("Marking equipment")
    RECORD_KEEPING = "record_keeping", _("Record-keeping and registry systems")
    SECURE_STORAGE = "secure_storage", _("Secure storage of seized items")
    DESTRUCTION = "destruction", _("Destruction")
    DATA_COLLECTION = "data_collection", _("Data collection and analysis")
    INTERNATIONAL_COOPERATION = "international_cooperation", _("International cooperation")
    OTHER = "other", _("Other")


class TAPriority(models.TextChoices):
    # Adjectives agree with "priority" in many languages: a context for translators.
    HIGH = "high", pgettext_lazy("priority", "High")
    MEDIUM = "medium", pgettext_lazy("priority", "Medium")
    LOW = "low", pgettext_lazy("priority", "Low")


IMPLEMENTATION_CHOICES = [("yes", _("Yes")), ("no", _("No")), ("partially", _("Partially"))]
YES_NO_CHOICES = [("yes", _("Yes")), ("no", _("No"))]
MAX_ROWS = 20
SHORT_TEXT = 500


def _text_validator(value: str) -> None:
    if len(value) > settings.ANSWER_TEXT_MAX_LENGTH:
        raise ValidationError(
            _("This answer is %(length)s characters long; the limit is %(limit)s. Shorten it or attach a document."),
            params={"length": len(value), "limit": settings.ANSWER_TEXT_MAX_LENGTH},
        )


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text; strip it rather than fail the whole save.
    return value.replace("\x00", "")


class Kind:
    name: ClassVar[str]
    # Values a condition on a question of this kind may name (None: not allowed).
    condition_values: ClassVar[Sequence[str] | None] = None

    def form_field(self, question, choices: Sequence[tuple[str, str]]) -> forms.Field:
        raise NotImplementedError

    def to_value(self, cleaned: Any) -> Any:
        """Form value → stored JSON value (None when empty)."""
        return cleaned if cleaned not in ("", [], None) else None

    def to_initial(self, value: Any) -> Any:
        return value

    def is_answered(self, value: Any) -> bool:
        return value not in (None, "", [], {})

    def accepts(self, value: Any, codes: set[str]) -> bool:
        """Whether a stored value (another version's answer, carried over) is one this
        question can hold; ``codes``: the question's choice codes."""
        return True

    def display(self, value: Any, labels: dict[str, str]) -> str:
        if value in (None, ""):
            return ""
        return str(value)


class LongText(Kind):
    name = "long_text"

    def form_field(self, question, choices):
        return forms.CharField(
            required=False,
            strip=True,
            widget=forms.Textarea(attrs={"rows": 4}),
            validators=[_text_validator],
        )

    def to_value(self, cleaned):
        return _no_nul(cleaned) or None


class Text(LongText):
    name = "text"

    def form_field(self, question, choices):
        return forms.CharField(required=False, strip=True, max_length=SHORT_TEXT)


class Number(Kind):
    name = "number"

    def form_field(self, question, choices):
        return forms.DecimalField(required=False, min_value=0, max_digits=15, decimal_places=2)

    def to_value(self, cleaned):
        if cleaned is None:
            return None
        return int(cleaned) if cleaned == cleaned.to_integral_value() else float(cleaned)


class SingleChoice(Kind):
    name = "choice"

    def form_field(self, question, choices):
        return forms.ChoiceField(
            required=False, choices=[("", "—"), *choices], widget=forms.RadioSelect
        )

    def display(self, value, labels):
        return str(labels.get(value, value)) if value else ""

    def accepts(self, value, codes):
        return isinstance(value, str) and value in self._codes(codes)

    def _codes(self, codes: set[str]) -> set[str]:
        return codes


class Implementation(SingleChoice):
    name = "implementation"
    condition_values = ("yes", "no", "partially")

    def form_field(self, question, choices):
        return forms.ChoiceField(required=False, choices=IMPLEMENTATION_CHOICES, widget=forms.RadioSelect)

    def display(self, value, labels):
        return str(dict(IMPLEMENTATION_CHOICES).get(value, "")) if value else ""

    def _codes(self, codes):
        return {code for code, _label in IMPLEMENTATION_CHOICES}


class YesNo(SingleChoice):
    name = "yes_no"
    condition_values = ("yes", "no")

    def form_field(self, question, choices):
        return forms.ChoiceField(required=False, choices=YES_NO_CHOICES, widget=forms.RadioSelect)

    def display(self, value, labels):
        return str(dict(YES_NO_CHOICES).get(value, "")) if value else ""

    def _codes(self, codes):
        return {code for code, _label in YES_NO_CHOICES}


class MultiChoice(Kind):
    name = "multi_choice"

    def form_field(self, question, choices):
        return forms.MultipleChoiceField(required=False, choices=choices, widget=forms.CheckboxSelectMultiple)

    def display(self, value, labels):
        return "; ".join(str(labels.get(code, code)) for code in value or [])

    def accepts(self, value, codes):
        return isinstance(value, list) and all(isinstance(code, str) and code in codes for code in value)


class RowsWidget(forms.Widget):
    """Repeating rows of small text inputs, posted as ``<name>-<i>-<part>``; always
    one empty row more than the stored rows so that no JavaScript is needed to add one."""

    template_name = "questionnaire/widgets/rows.html"
    # The question is the legend of a fieldset: a <label> cannot name a group of inputs.
    use_fieldset = True
    parts: Sequence[tuple[str, Any]] = ()

    def __init__(self, parts, attrs=None):
        super().__init__(attrs)
        self.parts = parts

    def value_from_datadict(self, data, files, name):
        # The row numbers posted (at most MAX_ROWS + 1 of them, one more than may be
        # kept, so that too many rows is an error, not a silent cut), found in one
        # pass over the posted names rather than by asking for every possible row.
        prefix = f"{name}-"
        posted = set()
        for key in data:
            if key.startswith(prefix):
                number = key[len(prefix):].partition("-")[0]
                if number.isascii() and number.isdigit() and int(number) <= MAX_ROWS:
                    posted.add(int(number))
        rows = []
        for i in sorted(posted):
            row = {part: data.get(f"{name}-{i}-{part}", "") for part, _label in self.parts}
            if any(v.strip() for v in row.values()):
                rows.append({k: v.strip() for k, v in row.items()})
        return rows

    def value_omitted_from_data(self, data, files, name):
        return not any(key.startswith(f"{name}-") for key in data)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = list(value or [])
        rows.append({})
        context["widget"]["rows"] = [
            {
                "index": i,
                "cells": [
                    {"part": part, "label": label, "value": row.get(part, ""), "id": f"id_{name}-{i}-{part}"}
                    for part, label in self.parts
                ],
            }
            for i, row in enumerate(rows)
        ]
        return context


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso_date(text: str) -> datetime.date | None:
    """A date written YYYY-MM-DD (what a date input posts), None otherwise."""
    if not ISO_DATE.match(text or ""):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


class LegislationField(forms.Field):
    """Laws cited: rows of title, article or section, an optional date (of adoption
    or entry into force, YYYY-MM-DD) and an optional link. Rows stored before the
    date existed have no "date" key, and a row without a date is stored without
    one: both shapes are valid."""

    PARTS = (
        ("title", _("Title of the law")),
        ("article", _("Article or section")),
        ("date", _("Date of adoption or entry into force")),
        ("link", pgettext_lazy("web address", "Link")),
    )

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", RowsWidget(self.PARTS))
        super().__init__(**kwargs)

    def to_python(self, value):
        return value or []

    def validate(self, value):
        super().validate(value)
        if len(value) > MAX_ROWS:
            raise ValidationError(_("At most %(n)s laws can be cited here."), params={"n": MAX_ROWS})
        url = URLValidator(schemes=["http", "https"])
        for row in value:
            if not row.get("title"):
                raise ValidationError(_("Each cited law needs a title."))
            if any(len(v) > SHORT_TEXT for v in row.values()):
                raise ValidationError(_("Titles, articles and links are limited to %(n)s characters."), params={"n": SHORT_TEXT})
            if row.get("link"):
                try:
                    url(row["link"])
                except ValidationError:
                    raise ValidationError(
                        _("“%(link)s” is not a web address (it must start with http:// or https://)."),
                        params={"link": row["link"]},
                    ) from None
            if row.get("date") and parse_iso_date(row["date"]) is None:
                raise ValidationError(
                    _("“%(date)s” is not a date: write it as YYYY-MM-DD, for example 2020-01-31."),
                    params={"date": row["date"][:40]},
                )


class Legislation(Kind):
    name = "legislation"

    def form_field(self, question, choices):
        return LegislationField(required=False)

    def to_value(self, cleaned):
        # A row without a date keeps the shape rows had before dates existed.
        return [{k: _no_nul(v) for k, v in row.items() if k != "date" or v} for row in cleaned] or None

    def display(self, value, labels):
        lines = []
        for row in value or []:
            parts = [row.get("title", "")]
            if row.get("article"):
                parts.append(row["article"])
            if row.get("date"):
                parts.append(str(_("dated %(date)s")) % {"date": row["date"]})
            if row.get("link"):
                parts.append(row["link"])
            lines.append(", ".join(parts))
        return "\n".join(lines)


class TechnicalAssistanceWidget(forms.Widget):
    template_name = "questionnaire/widgets/technical_assistance.html"
    use_fieldset = True

    def value_from_datadict(self, data, files, name):
        getlist = getattr(data, "getlist", lambda key: data.get(key) or [])
        return {
            "needed": data.get(f"{name}-needed", ""),
            "categories": list(getlist(f"{name}-categories")),
            "priority": data.get(f"{name}-priority", ""),
            "details": data.get(f"{name}-details", ""),
        }

    def value_omitted_from_data(self, data, files, name):
        return not any(key.startswith(f"{name}-") for key in data)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        value = value or {}
        needed = value.get("needed")
        context["widget"].update(
            {
                "needed": "yes" if needed in (True, "yes") else "no" if needed in (False, "no") else "",
                "categories": value.get("categories") or [],
                "priority": value.get("priority") or "",
                "details": value.get("details") or "",
                "category_choices": TACategory.choices,
                "priority_choices": TAPriority.choices,
                "yes_no": YES_NO_CHOICES,
            }
        )
        return context


class TechnicalAssistanceField(forms.Field):
    def __init__(self, **kwargs):
        kwargs.setdefault("widget", TechnicalAssistanceWidget())
        super().__init__(**kwargs)

    def to_python(self, value):
        value = value or {}
        needed = value.get("needed", "")
        if needed not in ("", "yes", "no"):
            raise ValidationError(_("Say yes or no."))
        categories = value.get("categories", [])
        unknown = [c for c in categories if c not in TACategory.values]
        if unknown:
            raise ValidationError(_("Unknown category: %(code)s."), params={"code": ", ".join(unknown)})
        priority = value.get("priority", "")
        if priority not in ("", *TAPriority.values):
            raise ValidationError(_("Unknown priority: %(code)s."), params={"code": priority})
        details = _no_nul(value.get("details", "").strip())
        _text_validator(details)
        if needed != "yes" and (categories or priority):
            raise ValidationError(_("Categories and priority apply only when assistance is needed."))
        if not needed and not details:
            return None
        return {
            "needed": {"yes": True, "no": False}.get(needed),
            "categories": categories,
            "priority": priority,
            "details": details,
        }


class TechnicalAssistance(Kind):
    name = "technical_assistance"

    def form_field(self, question, choices):
        return TechnicalAssistanceField(required=False)

    def to_value(self, cleaned):
        return cleaned

    def is_answered(self, value):
        return bool(value) and value.get("needed") is not None

    def display(self, value, labels):
        if not value:
            return ""
        if value.get("needed") is False:
            text = str(_("No assistance needed"))
        elif value.get("needed"):
            cats = dict(TACategory.choices)
            text = str(_("Assistance needed")) + ": " + "; ".join(str(cats[c]) for c in value.get("categories", []))
            if value.get("priority"):
                text += f" ({_('priority')}: {dict(TAPriority.choices)[value['priority']]})"
        else:
            text = ""
        if value.get("details"):
            text = f"{text}\n{value['details']}".strip()
        return text


REGISTRY: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Implementation(),
        Legislation(),
        LongText(),
        Text(),
        YesNo(),
        SingleChoice(),
        MultiChoice(),
        Number(),
        TechnicalAssistance(),
    )
}
CHOICE_KINDS = {"choice", "multi_choice"}


def kind_of(question) -> Kind:
    return REGISTRY[question.kind]
