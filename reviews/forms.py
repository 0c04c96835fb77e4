from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from questionnaire.models import Cluster

from .models import Thread
from .services import protocol_parties


class CycleLaunchForm(forms.Form):
    cluster = forms.ModelChoiceField(queryset=Cluster.objects.select_related("instrument"), label=_("Cluster"))
    year = forms.IntegerField(label=_("Year"), min_value=2020, max_value=2100)
    states = forms.ModelMultipleChoiceField(
        queryset=None,
        label=_("States under review"),
        help_text=_("Only parties to the Protocol can be reviewed under it."),
        widget=forms.SelectMultiple(attrs={"size": 12}),
    )
    seed = forms.CharField(
        label=_("Seed of the draw"),
        required=False,
        max_length=64,
        help_text=_("Leave empty for a random seed. The same seed over the same States reproduces the draw."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].initial = timezone.localdate().year
        self.fields["states"].queryset = protocol_parties("firearms_protocol").order_by("name")
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Launch the cycle and draw the reviewers")))


class ThreadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=Thread.Kind.choices)
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000)


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000)
