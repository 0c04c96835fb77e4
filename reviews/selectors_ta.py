"""Reads of technical-assistance needs shared by the pages and the report, each a
fixed number of queries whatever the number of needs or States."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from parties.models import State
from questionnaire.kinds import TACategory, TAPriority

from .models import TechnicalAssistanceNeed

Need = TechnicalAssistanceNeed


@dataclass(frozen=True)
class NeedFilters:
    category: str = ""
    article: int | None = None
    region: str = ""
    priority: str = ""
    status: str = ""

    @classmethod
    def from_query(cls, query) -> NeedFilters:
        """Known values only: anything else is ignored (no filter)."""

        def pick(name: str, allowed) -> str:
            value = query.get(name, "")
            return value if value in allowed else ""

        article = query.get("article", "")
        return cls(
            category=pick("category", TACategory.values),
            article=int(article) if article.isdigit() and len(article) < 4 else None,
            region=pick("region", State.RegionalGroup.values),
            priority=pick("priority", TAPriority.values),
            status=pick("status", Need.Status.values),
        )


def needs_for(*, state: State | None = None, filters: NeedFilters | None = None) -> QuerySet:
    """Current needs (still asked for), with what a list shows joined in."""
    qs = Need.objects.filter(current=True).select_related("state", "article__version__cluster", "question", "status_changed_by")
    if state is not None:
        qs = qs.filter(state=state)
    f = filters or NeedFilters()
    if f.category:
        qs = qs.filter(category=f.category)
    if f.article is not None:
        qs = qs.filter(article__number=f.article)
    if f.region:
        qs = qs.filter(state__regional_group=f.region)
    if f.priority:
        qs = qs.filter(priority=f.priority)
    if f.status:
        qs = qs.filter(status=f.status)
    return qs.order_by("state__name", "article__number", "category", "pk")


def need_article_numbers() -> list[int]:
    return list(Need.objects.order_by("article__number").values_list("article__number", flat=True).distinct())
