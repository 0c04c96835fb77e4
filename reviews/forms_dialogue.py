"""Forms of the dialogue, the observations and the summary. They carry text and
choices only: no form sets a status (the services' transitions do)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from questionnaire.kinds import TACategory, TAPriority

from .models import Observation, Thread

MAX_TEXT = 20_000


class ThreadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=Thread.Kind.choices)
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_TEXT)
    assignee = forms.TypedChoiceField(label=_("Assign to"), required=False, coerce=int, empty_value=None, choices=())

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Nobody in particular"))] + [
            (p.pk, p.get_full_name() or p.username) for p in people
        ]


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_TEXT)


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(label=_("Assign to"), required=False, coerce=int, empty_value=None, choices=())

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Nobody in particular"))] + [
            (p.pk, p.get_full_name() or p.username) for p in people
        ]


class ObservationForm(forms.Form):
    article = forms.TypedChoiceField(label=_("Article"), coerce=int, choices=())
    kind = forms.ChoiceField(label=_("Kind"), choices=Observation.Kind.choices)
    text = forms.CharField(label=_("Observation"), widget=forms.Textarea(attrs={"rows": 4}), max_length=MAX_TEXT)
    ta_category = forms.ChoiceField(
        label=_("Category of the technical-assistance need"),
        required=False,
        choices=[("", "—")] + list(TACategory.choices),
        help_text=_("Only for a technical-assistance need."),
    )
    ta_priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", "—")] + list(TAPriority.choices)
    )

    def __init__(self, *args, articles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["article"].choices = [(a.number, str(a)) for a in articles]


class ObservationEditForm(ObservationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["article"]


class SummaryForm(forms.Form):
    text = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 12}), max_length=100_000)
