"""The answering form of one article: one field per question, named by the
question's code, built from the kinds registry."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from .field_render import render_answer_field
from .kinds import CHOICE_KINDS, kind_of
from .models import Answer, Question

RESERVED_FIELDS = {"csrfmiddlewaretoken", "revisions", "action"}
REVISION_PREFIX = "rev-"
# "confirm-<code>": the box a carried-over answer shows, ticked to confirm it as it is.
CONFIRM_PREFIX = "confirm-"


def _is_part_of(name: str, codes: set[str]) -> bool:
    hyphen = name.find("-")
    while hyphen != -1:
        if name[:hyphen] in codes:
            return True
        hyphen = name.find("-", hyphen + 1)
    return False


class AnswerBoundField(forms.BoundField):
    def value(self):
        # A question in ``stored_codes`` shows its stored answer even in a posted
        # form: the page shown again after a conflict keeps what this person typed,
        # but not the untouched copies of answers that someone else changed meanwhile.
        if self.name in self.form.stored_codes:
            return self.field.prepare_value(self.initial)
        return super().value()

    @property
    def answer_html(self):
        """The question's field as the answering page shows it (field_render: the
        markup of crispy-bootstrap5's ``as_crispy_field``, rendered in Python)."""
        return render_answer_field(self)


class ArticleAnswerForm(forms.Form):
    """Posted fields are question codes (and ``<code>-<i>-<part>`` for composite
    answers); ``revisions`` carries the answer revisions the page was built from."""

    bound_field_class = AnswerBoundField

    revisions = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args,
        questions: list[Question],
        answers: dict[int, Answer],
        shown: bool = True,
        stored_codes: frozenset[str] = frozenset(),
        **kwargs,
    ):
        self.questions = questions
        self.answers = answers
        self.stored_codes = stored_codes
        super().__init__(*args, **kwargs)
        if shown:
            self.fields["revisions"].initial = json.dumps({q.code: answers[q.pk].revision for q in questions if q.pk in answers})
        for q in questions:
            # Only choice kinds have choices: no query for the others.
            choices = [(c.code, c.label) for c in q.choices.all()] if q.kind in CHOICE_KINDS else []
            field = kind_of(q).form_field(q, choices)
            if shown:
                # The question's texts in the person's language (each a lookup through
                # modeltranslation): only for a form that is rendered.
                field.label = q.prompt
                field.help_text = q.help_text
                answer = answers.get(q.pk)
                if answer is not None:
                    field.initial = kind_of(q).to_initial(answer.value)
            self.fields[q.code] = field

    @classmethod
    def for_validation(cls, data, *, questions: list[Question]) -> ArticleAnswerForm:
        """A form that validates a post and is never shown (an autosave, a whole-page
        save before it redirects): the same fields and checks, without the labels,
        help texts and initial values that only rendering reads. A page shown again
        after a refused save builds a form of its own."""
        return cls(data, questions=questions, answers={}, shown=False)

    def clean_revisions(self) -> dict[int, int]:
        """Base revisions: the page's ``revisions`` map, overridden per question by
        ``rev-<code>``, which autosave keeps current as answers save one by one."""
        raw = self.cleaned_data.get("revisions") or "{}"
        try:
            by_code = json.loads(raw)
            if not isinstance(by_code, dict):
                raise ValueError
            for q in self.questions:
                posted = self.data.get(f"{REVISION_PREFIX}{q.code}")
                if posted not in (None, ""):
                    by_code[q.code] = posted
            ids = {q.code: q.pk for q in self.questions}
            revisions = {ids[code]: int(rev) for code, rev in by_code.items() if code in ids}
            if any(rev < 0 for rev in revisions.values()):
                raise ValueError
            return revisions
        except (ValueError, TypeError):
            raise forms.ValidationError(_("The page was damaged in transit; reload it and try again.")) from None

    def unknown_codes(self) -> list[str]:
        """Posted names that are neither a question of this article nor a part of one."""
        known = {q.code for q in self.questions}
        # Composite answers post their parts as "<code>-<i>-<part>" or "<code>-<part>":
        # a name is a part when what comes before one of its hyphens is a code
        # (a look-up per hyphen, not a comparison with every code).
        return sorted(
            name
            for name in self.data
            if name not in RESERVED_FIELDS
            and name not in known
            and name.removeprefix(REVISION_PREFIX) not in known
            and name.removeprefix(CONFIRM_PREFIX) not in known
            and not _is_part_of(name, known)
        )

    def confirmed_questions(self) -> set[int]:
        """Ids of the questions whose "confirm this answer" box was ticked: a
        carried-over answer posted as it is stays carried over unless it is."""
        return {q.pk for q in self.questions if self.data.get(f"{CONFIRM_PREFIX}{q.code}")}

    def answer_values(self) -> dict[Question, Any]:
        """Cleaned values of the questions that were posted (an omitted question is
        left as it is, so a partial post never erases other answers)."""
        values = {}
        for q in self.questions:
            widget = self.fields[q.code].widget
            if widget.value_omitted_from_data(self.data, self.files, q.code) and q.kind not in ("multi_choice",):
                continue
            values[q] = kind_of(q).to_value(self.cleaned_data.get(q.code))
        return values
