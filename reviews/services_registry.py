"""Expertise offers and their matching with technical-assistance needs, and the
counts of the Working Group recommendations registry.

Matching pairs a need with the offers of the same TA category on the same article
of the Protocol, never an offer of the State in need itself; offers of a State of
the same UN regional group come first, then South-South pairs, then the rest.

"South" here means the States of the African, the Asia-Pacific and the Latin
American and Caribbean regional groups (SOUTH_GROUPS). A pair is South-South when
both the State in need and the offering State belong to them; an offer of the
secretariat's programmes is never South-South.

Needs come from NEEDS_SOURCE, one line: the open TechnicalAssistanceNeed rows of
reviews/models_ta.py (``needs_from_model``), or straight from the answers of kind
"technical_assistance" of submitted responses (``needs_from_answers``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from parties.models import State
from questionnaire.kinds import TACategory, TAPriority
from questionnaire.models import Answer, Recommendation, Response
from questionnaire.recommendations import PROTOCOL_ARTICLES

from .models import ExpertiseOffer

RG = State.RegionalGroup
SOUTH_GROUPS = frozenset({RG.AFRICAN, RG.ASIA_PACIFIC, RG.LATIN_AMERICAN_CARIBBEAN})
PRIORITY_RANK = {TAPriority.HIGH: 0, TAPriority.MEDIUM: 1, TAPriority.LOW: 2, "": 3}
NOT_IMPLEMENTED = ("no", "partially")


# --- Offers ---------------------------------------------------------------------------


@transaction.atomic
def expertise_offer_create(
    *,
    by,
    state: State | None,
    programme: str = "",
    article_number: int,
    category: str,
    description: str,
    contact: str,
) -> ExpertiseOffer:
    """A State's offer (by its focal point) or a programme of the secretariat (state None)."""
    programme, description, contact = programme.strip(), description.strip(), contact.strip()
    if state is not None:
        if not by.has_perm("reviews.record_offers", state):
            raise PermissionDenied
        programme = ""
    elif not by.has_perm("reviews.record_programme_offers"):
        raise PermissionDenied
    errors = {}
    if state is None and not programme:
        errors["programme"] = _("Name the programme.")
    if article_number not in PROTOCOL_ARTICLES:
        errors["article_number"] = _("Choose an article of the Protocol.")
    if category not in TACategory.values:
        errors["category"] = _("Choose a category.")
    if not description:
        errors["description"] = _("Describe the expertise offered.")
    if not contact:
        errors["contact"] = _("Say whom to contact.")
    if errors:
        raise ValidationError(errors)
    return ExpertiseOffer.objects.create(
        state=state, programme=programme, article_number=article_number, category=category,
        description=description, contact=contact, created_by=by,
    )


@transaction.atomic
def expertise_offer_withdraw(*, offer: ExpertiseOffer, by) -> None:
    allowed = (
        by.has_perm("reviews.record_offers", offer.state) if offer.state_id
        else by.has_perm("reviews.record_programme_offers")
    )
    if not allowed:
        raise PermissionDenied
    offer.delete()


# --- Needs (the adapter) ----------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    state_id: int
    state_name: str
    regional_group: str
    article_number: int
    category: str
    priority: str
    text: str

    @property
    def category_label(self) -> str:
        return TACategory(self.category).label

    @property
    def priority_label(self) -> str:
        return TAPriority(self.priority).label if self.priority else ""


def _merged(rows) -> list[Need]:
    """One need per State, article and category (several provisions of an article may
    ask for the same help): the highest priority and every detail given."""
    merged: dict[tuple[int, int, str], dict] = {}
    for state_id, name, group, number, category, priority, details in rows:
        entry = merged.setdefault((state_id, number, category), {"name": name, "group": group, "priority": "", "texts": []})
        if PRIORITY_RANK.get(priority or "", 3) < PRIORITY_RANK[entry["priority"]]:
            entry["priority"] = priority
        details = (details or "").strip()
        if details and details not in entry["texts"]:
            entry["texts"].append(details)
    return [
        Need(state_id=s, state_name=e["name"], regional_group=e["group"], article_number=n, category=c,
             priority=e["priority"], text="\n".join(e["texts"]))
        for (s, n, c), e in merged.items()
    ]


def needs_from_answers() -> list[Need]:
    """The categories ticked in the TA answers of submitted responses. One query."""
    rows = Answer.objects.filter(
        response__status=Response.Status.SUBMITTED, question__kind="technical_assistance"
    ).values_list(
        "response__state_id", "response__state__name", "response__state__regional_group",
        "question__article__number", "value",
    )
    return _merged(
        (state_id, name, group, number, category, value.get("priority") or "", value.get("details") or "")
        for state_id, name, group, number, value in rows
        if isinstance(value, dict) and value.get("needed") is True
        for category in value.get("categories") or []
        if category in TACategory.values
    )


def needs_from_model() -> list[Need]:
    """The open TechnicalAssistanceNeed rows (reviews/models_ta.py). One query."""
    from .models import TechnicalAssistanceNeed

    return _merged(TechnicalAssistanceNeed.objects.filter(
        current=True, status__in=TechnicalAssistanceNeed.OPEN
    ).values_list("state_id", "state__name", "state__regional_group", "article__number", "category", "priority", "text"))


# The TA needs recorded as rows (reviews/models_ta.py: from submitted answers and agreed
# observations, refreshed by services_ta.ta_needs_refresh), open ones only. Switch back to
# needs_from_answers to match straight from the answers.
NEEDS_SOURCE = needs_from_model


# --- Matching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    offer: ExpertiseOffer
    same_group: bool
    south_south: bool


@dataclass
class NeedMatches:
    need: Need
    matches: list[Match] = field(default_factory=list)


def is_south(regional_group: str | None) -> bool:
    return regional_group in SOUTH_GROUPS


def expertise_matching(*, needs: list[Need] | None = None) -> list[NeedMatches]:
    """Every need with the offers that fit it, best first. Two queries (needs, offers)."""
    needs = NEEDS_SOURCE() if needs is None else needs
    offers: dict[tuple[int, str], list[ExpertiseOffer]] = defaultdict(list)
    for offer in ExpertiseOffer.objects.select_related("state"):
        offers[(offer.article_number, offer.category)].append(offer)
    result = []
    for need in sorted(needs, key=lambda n: (n.article_number, n.category, PRIORITY_RANK.get(n.priority, 3), n.state_name)):
        matches = []
        for offer in offers.get((need.article_number, need.category), []):
            if offer.state_id == need.state_id:
                continue
            group = offer.state.regional_group if offer.state_id else None
            matches.append(Match(
                offer=offer,
                same_group=bool(group) and group == need.regional_group,
                south_south=offer.state_id is not None and is_south(group) and is_south(need.regional_group),
            ))
        matches.sort(key=lambda m: (not m.same_group, not m.south_south, m.offer.offered_by, m.offer.pk))
        result.append(NeedMatches(need=need, matches=matches))
    return result


# --- The recommendations registry, counted ------------------------------------------------


@dataclass
class RecommendationCount:
    states: int = 0  # States answering "no" or "partially" on at least one linked provision
    no: int = 0  # of which at least one "no"
    partially: int = 0  # the others


def recommendation_counts(recommendations: list[Recommendation]) -> dict[str, RecommendationCount]:
    """Per recommendation, the States whose submitted answers to the status questions
    (codes ending in ".status") of its articles say "no" or "partially". One query."""
    rows = (
        Answer.objects.filter(
            response__status=Response.Status.SUBMITTED, question__code__endswith=".status", value__in=NOT_IMPLEMENTED
        )
        .values_list("question__article__number", "response__state_id", "value")
        .distinct()
    )
    by_article: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for number, state_id, value in rows:
        by_article[number][state_id].add(value)
    counts = {}
    for rec in recommendations:
        states: dict[int, set[str]] = defaultdict(set)
        for number in rec.articles:
            for state_id, values in by_article.get(number, {}).items():
                states[state_id] |= values
        no = sum(1 for values in states.values() if "no" in values)
        counts[rec.code] = RecommendationCount(states=len(states), no=no, partially=len(states) - no)
    return counts
