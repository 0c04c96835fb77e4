"""Dashboards for the secretariat: the figures of each chart and the geometry of
its bars, computed here so that the template draws them as inline SVG markup
(presentation attributes only: no script, no style attribute, nothing that the
strict Content-Security-Policy refuses).

Three queries whatever the number of States, reviews or answers: completion by
cluster and regional group, review status, and the technical-assistance needs
read from the submitted answers (one pass gives article, category and region)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from parties.models import State
from questionnaire.kinds import TACategory
from questionnaire.models import Answer, Response

from .models import Review

WIDTH = 640  # the SVG's coordinate system; it scales to the page
LABEL_H = 16
BAR_H = 16
ROW_H = LABEL_H + BAR_H + 8
BAR_MAX = WIDTH - 90


@dataclass
class Bar:
    label: str
    value: int
    text: str  # the figure as shown beside the bar (and in the table)
    y: int = 0
    width: int = 0

    @property
    def bar_y(self) -> int:
        return self.y + LABEL_H

    @property
    def text_y(self) -> int:
        return self.y + LABEL_H + BAR_H - 3

    @property
    def text_x(self) -> int:
        return self.width + 6


@dataclass
class Chart:
    key: str
    title: str
    unit: str  # the heading of the figures column of the table
    bars: list[Bar] = field(default_factory=list)
    maximum: int | None = None  # fixed scale (percentages); else the largest value

    def layout(self) -> Chart:
        top = self.maximum or max((b.value for b in self.bars), default=0) or 1
        for index, bar in enumerate(self.bars):
            bar.y = index * ROW_H
            bar.width = max(1, round(BAR_MAX * bar.value / top)) if bar.value else 0
        return self

    @property
    def height(self) -> int:
        return max(ROW_H, ROW_H * len(self.bars))

    @property
    def width(self) -> int:
        return WIDTH


def _completion() -> Chart:
    groups = dict(State.RegionalGroup.choices)
    rows = (
        Review.objects.values("cycle__cluster__code", "state__regional_group")
        .annotate(total=Count("pk"), submitted=Count("pk", filter=Q(response__status=Response.Status.SUBMITTED)))
        .order_by("cycle__cluster__code", "state__regional_group")
    )
    chart = Chart("completion", _("Self-assessments submitted, by cluster and regional group"), _("Submitted"), maximum=100)
    for row in rows:
        percent = round(100 * row["submitted"] / row["total"]) if row["total"] else 0
        label = _("Cluster %(code)s — %(group)s") % {
            "code": row["cycle__cluster__code"],
            "group": groups.get(row["state__regional_group"], row["state__regional_group"] or _("No group")),
        }
        chart.bars.append(
            Bar(label, percent, _("%(percent)s%% (%(n)s of %(total)s)") % {"percent": percent, "n": row["submitted"], "total": row["total"]})
        )
    return chart.layout()


def _review_status() -> Chart:
    counts = dict(Review.objects.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n"))
    chart = Chart("status", _("Reviews by status"), _("Reviews"))
    for code, label in Review.Status.choices:
        chart.bars.append(Bar(str(label), counts.get(code, 0), str(counts.get(code, 0))))
    return chart.layout()


def _ta_needs() -> list[Chart]:
    by_article: Counter = Counter()
    by_category: Counter = Counter()
    by_group: Counter = Counter()
    answers = (
        Answer.objects.filter(question__kind="technical_assistance", response__status=Response.Status.SUBMITTED)
        .values_list("question__article__number", "value", "response__state__regional_group")
        .iterator(chunk_size=5000)
    )
    for number, value, group in answers:
        if not (isinstance(value, dict) and value.get("needed")):
            continue
        by_article[number] += 1
        by_group[group] += 1
        for category in value.get("categories") or [TACategory.OTHER]:
            by_category[category] += 1
    articles = Chart("ta_article", _("Technical-assistance needs by article"), _("Needs"))
    for number in sorted(by_article):
        articles.bars.append(Bar(_("Article %(n)s") % {"n": number}, by_article[number], str(by_article[number])))
    categories = Chart("ta_category", _("Technical-assistance needs by category"), _("Needs"))
    for code, label in TACategory.choices:
        categories.bars.append(Bar(str(label), by_category[code], str(by_category[code])))
    regions = Chart("ta_region", _("Technical-assistance needs by regional group"), _("Needs"))
    for code, label in State.RegionalGroup.choices:
        regions.bars.append(Bar(str(label), by_group[code], str(by_group[code])))
    return [articles.layout(), categories.layout(), regions.layout()]


def dashboard_charts() -> list[Chart]:
    return [_completion(), _review_status(), *_ta_needs()]
