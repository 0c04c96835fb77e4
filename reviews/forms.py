from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parties.models import Membership, State
from questionnaire.models import Cluster

from .models import Review, ReviewCycle, ReviewGroup, Step, Thread
from .services import protocol_parties


class CycleLaunchForm(forms.Form):
    cluster = forms.ModelChoiceField(queryset=Cluster.objects.select_related("instrument"), label=_("Cluster"))
    year = forms.IntegerField(label=_("Year"), min_value=2020, max_value=2100)
    group = forms.ModelChoiceField(
        queryset=ReviewGroup.objects.all(),
        label=_("Review group"),
        required=False,
        help_text=_("With no State chosen below, the parties of this group are reviewed."),
    )
    states = forms.ModelMultipleChoiceField(
        queryset=None,
        label=_("States under review"),
        required=False,
        help_text=_("Only parties to the Protocol can be reviewed under it."),
        widget=forms.SelectMultiple(attrs={"size": 12}),
    )
    seed = forms.CharField(
        label=_("Seed of the draw"),
        required=False,
        max_length=64,
        help_text=_("Leave empty for a random seed. The same seed over the same States reproduces the draw."),
    )
    focal_point_due_weeks = forms.IntegerField(label=_("Focal points appointed within (weeks)"), min_value=1, max_value=52)
    experts_due_weeks = forms.IntegerField(label=_("Experts appointed within (weeks)"), min_value=1, max_value=52)
    self_assessment_due_months = forms.IntegerField(
        label=_("Self-assessment submitted within (months)"), min_value=1, max_value=36
    )
    written_feedback_due_months = forms.IntegerField(
        label=_("Written feedback within (months of the submission)"), min_value=1, max_value=36
    )
    max_reviews_per_state = forms.IntegerField(
        label=_("Reviews one State carries at most in the cycle"), min_value=1, max_value=20
    )
    language = forms.ChoiceField(
        label=_("Language of the reviews"), choices=settings.LANGUAGES, required=False,
        help_text=_("The final documents are produced in this language."),
    )

    PERIODS = (
        "focal_point_due_weeks",
        "experts_due_weeks",
        "self_assessment_due_months",
        "written_feedback_due_months",
        "max_reviews_per_state",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].initial = timezone.localdate().year
        self.fields["states"].queryset = protocol_parties("firearms_protocol").order_by("name")
        defaults = {
            "focal_point_due_weeks": settings.FOCAL_POINT_DUE_WEEKS,
            "experts_due_weeks": settings.EXPERTS_DUE_WEEKS,
            "self_assessment_due_months": settings.SELF_ASSESSMENT_DUE_MONTHS,
            "written_feedback_due_months": settings.WRITTEN_FEEDBACK_DUE_MONTHS,
            "max_reviews_per_state": settings.MAX_REVIEWS_PER_STATE_PER_CYCLE,
        }
        for name, value in defaults.items():
            self.fields[name].initial = value
            # A form posted without them (an older page, a script) keeps the defaults.
            self.fields[name].required = False
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Launch the cycle and draw the reviewers")))

    def clean(self):
        cleaned = super().clean()
        states = list(cleaned.get("states") or [])
        group = cleaned.get("group")
        if not states and group:
            states = list(
                self.fields["states"].queryset.filter(review_group_member__group=group)
            )
        if not states and not self.errors:
            raise forms.ValidationError(_("Choose the States under review, or a review group."))
        cleaned["states"] = states
        return cleaned

    def periods(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.PERIODS}


class GroupsDrawForm(forms.Form):
    first_year = forms.IntegerField(label=_("First year of group 1"), min_value=2020, max_value=2100)
    seed = forms.CharField(label=_("Seed of the lots"), required=False, max_length=64,
                           help_text=_("Leave empty for a random seed."))


class GroupMoveForm(forms.Form):
    state = forms.ModelChoiceField(queryset=None, label=_("State"))
    group = forms.ModelChoiceField(queryset=ReviewGroup.objects.all(), label=_("New group"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].queryset = protocol_parties("firearms_protocol").order_by("name")


class RedrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the redraw"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    seed = forms.CharField(label=_("Seed"), required=False, max_length=64, help_text=_("Leave empty for a random seed."))


class SwapForm(forms.Form):
    state = forms.ModelChoiceField(queryset=State.objects.none(), label=_("New reviewing State"))
    reason = forms.CharField(label=_("Reason for the swap"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args, candidates=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Any party may be posted; the service says which rule a choice breaks.
        self.fields["state"].queryset = protocol_parties("firearms_protocol").order_by("name")
        if candidates is not None:
            self.fields["state"].help_text = _("%(count)s States satisfy every rule for this slot.") % {
                "count": len(candidates)
            }


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=Review.Status.choices, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Note (optional)"), required=False, max_length=2000)


class FocalPointForm(forms.Form):
    state = forms.ModelChoiceField(queryset=State.objects.all(), widget=forms.HiddenInput)
    user = forms.ModelChoiceField(
        queryset=None, label=_("Focal point for this review"), widget=forms.Select(attrs={"class": "form-select"})
    )

    def __init__(self, *args, state: State, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].initial = state.pk
        self.fields["user"].queryset = people_of(state, Membership.Role.FOCAL_POINT)
        self.fields["user"].label_from_instance = lambda u: u.get_full_name() or u.username


class ExpertsForm(forms.Form):
    users = forms.ModelMultipleChoiceField(queryset=None, label=_("Governmental experts for this review"))

    def __init__(self, *args, state: State, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = people_of(state, Membership.Role.REVIEWER)
        self.fields["users"].label_from_instance = lambda u: u.get_full_name() or u.username


class ExtensionForm(forms.Form):
    step = forms.ChoiceField(choices=Step.choices, label=_("Step"))
    due_date = forms.DateField(label=_("New deadline"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason for the extension"), widget=forms.Textarea(attrs={"rows": 2}),
                             max_length=2000)


class OverviewFilterForm(forms.Form):
    cluster = forms.ModelChoiceField(queryset=Cluster.objects.all(), required=False, label=_("Cluster"))
    cycle = forms.ModelChoiceField(queryset=ReviewCycle.objects.select_related("cluster"), required=False,
                                   label=_("Cycle"))
    group = forms.ModelChoiceField(queryset=ReviewGroup.objects.all(), required=False, label=_("Review group"))
    regional_group = forms.ChoiceField(choices=[("", "—")] + list(State.RegionalGroup.choices), required=False,
                                       label=_("Regional group"))
    overdue = forms.BooleanField(required=False, label=_("Overdue only"),
                                 widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("cluster", "cycle", "group", "regional_group"):
            self.fields[name].widget.attrs["class"] = "form-select"


def people_of(state: State, role: str):
    User = get_user_model()
    return User.objects.filter(
        memberships__state=state, memberships__role=role, memberships__is_active=True, is_active=True
    ).distinct().order_by("last_name", "first_name", "username")


class ThreadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=Thread.Kind.choices)
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000)


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000)
