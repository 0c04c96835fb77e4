"""The Working Group recommendations registry, expertise offers and their
matching with technical-assistance needs (reviews/services_registry.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from audit.services import audit_download
from parties.models import Membership, State
from parties.permissions import roles_of
from questionnaire.kinds import TACategory
from questionnaire.models import Article
from questionnaire.recommendations import PROTOCOL_ARTICLES, all_recommendations

from . import services_registry as registry
from .exports.matching_xlsx import build_matching_xlsx
from .exports.registry_xlsx import build_registry_xlsx
from .models import ExpertiseOffer
from .permissions import get_offer_for_user, get_offer_state_for_user


def _require_perm(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def article_choices() -> list[tuple[int, str]]:
    """The articles of the Protocol, titled as in the newest questionnaire (one query)."""
    titles: dict[int, str] = {}
    for number, title in Article.objects.order_by("number", "-pk").values_list("number", "title"):
        titles.setdefault(number, title)
    return [(n, _("Article %(number)s. %(title)s") % {"number": n, "title": titles[n]} if n in titles else _("Article %(number)s") % {"number": n}) for n in PROTOCOL_ARTICLES]


class OfferForm(forms.Form):
    programme = forms.CharField(label=gettext_lazy("Programme"), max_length=200)
    article_number = forms.TypedChoiceField(label=gettext_lazy("Article"), coerce=int)
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=TACategory.choices)
    description = forms.CharField(label=gettext_lazy("Expertise offered"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    contact = forms.CharField(label=gettext_lazy("Contact"), max_length=300,
                              help_text=gettext_lazy("The office or person to write to, with an e-mail address."))

    def __init__(self, *args, programme: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["article_number"].choices = article_choices()
        if not programme:
            del self.fields["programme"]
        for name, field in self.fields.items():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css
            described = [f"id_{name}_helptext"] if field.help_text else []
            if self.is_bound and self.errors.get(name):
                field.widget.attrs["class"] += " is-invalid"
                described.append(f"id_{name}_error")
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)


def _save_offer(request, form, *, state):
    data = form.cleaned_data
    try:
        registry.expertise_offer_create(
            by=request.user, state=state, programme=data.get("programme", ""),
            article_number=data["article_number"], category=data["category"],
            description=data["description"], contact=data["contact"],
        )
    except ValidationError as exc:
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return False
    messages.success(request, _("The offer is recorded."))
    return True


@login_required
def registry_list(request):
    recommendations = all_recommendations()
    article = request.GET.get("article", "")
    if article.isdigit():
        recommendations = [r for r in recommendations if int(article) in r.articles]
    counts = registry.recommendation_counts(recommendations) if request.user.has_perm("reviews.registry_counts") else None
    rows = [(r, counts.get(r.code) if counts is not None else None) for r in recommendations]
    # The focal points' way to their States' offers.
    offer_states = State.objects.filter(pk__in=roles_of(request.user).states_with(Membership.Role.FOCAL_POINT))
    return render(request, "reviews/registry/list.html", {
        "rows": rows, "counts": counts is not None, "article": article, "articles": PROTOCOL_ARTICLES,
        "offer_states": offer_states,
    })


@login_required
def registry_xlsx(request):
    _require_perm(request.user, "reviews.registry_counts")
    recommendations = all_recommendations()
    content = build_registry_xlsx(recommendations, registry.recommendation_counts(recommendations))
    audit_download(request=request, export="recommendations_registry", fmt="xlsx")
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="recommendations-{timezone.localdate().isoformat()}.xlsx"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def state_offers(request, iso3: str):
    state = get_offer_state_for_user(request.user, iso3)
    may_record = request.user.has_perm("reviews.record_offers", state)
    form = OfferForm(request.POST or None, programme=False) if may_record else None
    if request.method == "POST":
        if not may_record:
            raise PermissionDenied
        if form.is_valid() and _save_offer(request, form, state=state):
            return redirect("reviews:state_offers", iso3=state.iso3)
    offers = ExpertiseOffer.objects.filter(state=state)
    return render(request, "reviews/registry/offers.html", {
        "state": state, "offers": offers, "form": form, "may_record": may_record,
    })


@login_required
@require_http_methods(["GET", "POST"])
def programme_offers(request):
    _require_perm(request.user, "reviews.record_programme_offers")
    form = OfferForm(request.POST or None, programme=True)
    if request.method == "POST" and form.is_valid() and _save_offer(request, form, state=None):
        return redirect("reviews:programme_offers")
    offers = ExpertiseOffer.objects.filter(state__isnull=True)
    return render(request, "reviews/registry/offers.html", {
        "state": None, "offers": offers, "form": form, "may_record": True,
    })


@login_required
@require_POST
def offer_withdraw(request, pk: int):
    offer = get_offer_for_user(request.user, pk)
    back = reverse("reviews:state_offers", args=[offer.state.iso3]) if offer.state_id else reverse("reviews:programme_offers")
    registry.expertise_offer_withdraw(offer=offer, by=request.user)
    messages.success(request, _("The offer is withdrawn."))
    return redirect(back)


@login_required
def matching(request):
    _require_perm(request.user, "reviews.match_expertise")
    matched = registry.expertise_matching()
    only_matched = request.GET.get("matched") == "1"
    if only_matched:
        matched = [m for m in matched if m.matches]
    return render(request, "reviews/registry/matching.html", {
        "matched": matched, "only_matched": only_matched, "south_groups": registry.SOUTH_GROUPS,
    })


@login_required
def matching_xlsx(request):
    _require_perm(request.user, "reviews.match_expertise")
    content = build_matching_xlsx(registry.expertise_matching())
    audit_download(request=request, export="expertise_matching", fmt="xlsx")
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="expertise-matching-{timezone.localdate().isoformat()}.xlsx"'
    return response
