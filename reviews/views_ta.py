"""Technical-assistance needs: the secretariat's list (filters, refresh, the
report as a job), a State's own needs (its people, its reviewers, the
secretariat) and the moves of a need's status. Each view loads its objects
through reviews.permissions (404 for what the user may not see, 403 for what it
may see but not do) and calls one service."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from parties.models import State
from questionnaire.kinds import TACategory, TAPriority

from . import services
from . import services_ta
from .models import Job, TechnicalAssistanceNeed
from .permissions import get_ta_need_for_user, get_ta_state_for_user
from .selectors_ta import NeedFilters, need_article_numbers, needs_for
from .services import ReviewError

PER_PAGE = 100


class NeedFilterForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)
    article = forms.ChoiceField(label=gettext_lazy("Article"), required=False)
    region = forms.ChoiceField(label=gettext_lazy("Regional group"), required=False)
    priority = forms.ChoiceField(label=gettext_lazy("Priority"), required=False)
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)

    def __init__(self, *args, articles: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        every = [("", "—")]
        self.fields["category"].choices = every + list(TACategory.choices)
        self.fields["article"].choices = every + [(str(n), str(n)) for n in articles]
        self.fields["region"].choices = every + list(State.RegionalGroup.choices)
        self.fields["priority"].choices = every + list(TAPriority.choices)
        self.fields["status"].choices = every + list(TechnicalAssistanceNeed.Status.choices)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select"


def _require_perm(user, perm: str, obj=None) -> None:
    if not user.has_perm(perm, obj):
        raise PermissionDenied


@login_required
def ta_needs(request):
    """The secretariat's list of every State's needs, filtered."""
    _require_perm(request.user, "reviews.compile_ta")
    filters = NeedFilters.from_query(request.GET)
    form = NeedFilterForm(request.GET or None, articles=need_article_numbers())
    page = Paginator(needs_for(filters=filters), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reviews/ta/needs.html",
        {"form": form, "page": page, "query": query.urlencode(), "formats": (("xlsx", "XLSX"), ("pdf", "PDF"))},
    )


@login_required
@require_POST
def ta_refresh(request):
    """Derive every State's needs again from what was submitted and agreed."""
    _require_perm(request.user, "reviews.compile_ta")
    result = services_ta.ta_needs_refresh(state=None)
    messages.success(
        request,
        _("Needs updated: %(created)s new, %(updated)s changed, %(retired)s no longer asked for.")
        % {"created": result.created, "updated": result.updated, "retired": result.retired},
    )
    return redirect("reviews:ta_needs")


@login_required
@require_POST
def ta_report(request):
    """The TA report (XLSX or PDF) as a background job."""
    _require_perm(request.user, "reviews.compile_ta")
    fmt = request.POST.get("format", "")
    if fmt not in ("xlsx", "pdf"):
        messages.error(request, _("Unknown job or parameters."))
        return redirect("reviews:ta_needs")
    result = services.job_request(kind=Job.Kind.TA_REPORT, params={"format": fmt}, by=request.user)
    if not result.created:
        messages.info(request, _("This job was already queued; here it is."))
    return redirect("reviews:job", pk=result.job.pk)


@login_required
def ta_state(request, iso3: str):
    """One State's needs: its people, the reviewers of its submitted reviews, the secretariat."""
    state = get_ta_state_for_user(request.user, iso3)
    needs = list(needs_for(state=state))
    rows = [(need, services_ta.ta_moves_for(need, request.user)) for need in needs]
    return render(
        request,
        "reviews/ta/state.html",
        {
            "state": state,
            "rows": rows,
            "can_refresh": request.user.has_perm("reviews.refresh_ta_needs", state),
            "labels": dict(TechnicalAssistanceNeed.Status.choices),
        },
    )


@login_required
@require_POST
def ta_state_refresh(request, iso3: str):
    state = get_ta_state_for_user(request.user, iso3)
    _require_perm(request.user, "reviews.refresh_ta_needs", state)
    result = services_ta.ta_needs_refresh(state=state)
    messages.success(
        request,
        _("Needs updated: %(created)s new, %(updated)s changed, %(retired)s no longer asked for.")
        % {"created": result.created, "updated": result.updated, "retired": result.retired},
    )
    return redirect("reviews:ta_state", iso3=state.iso3)


@login_required
@require_POST
def ta_need_move(request, pk: int):
    need = get_ta_need_for_user(request.user, pk, "reviews.move_ta_need")
    try:
        need = services_ta.ta_need_move(need=need, to=request.POST.get("to", ""), by=request.user)
    except ReviewError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The need is now “%(status)s”.") % {"status": need.get_status_display()})
    return redirect("reviews:ta_state", iso3=need.state.iso3)
