"""The recommendations of the Working Group on Firearms, as data.

Content tied to the articles of the Protocol, like the questionnaire itself: loaded
from ``questionnaire/content/working_group_recommendations.yaml`` by
``manage.py load_recommendations`` (questionnaire/recommendations.py) and shown
beside the questions of the articles it concerns. Articles are named by number,
not by an Article row, since every questionnaire version has rows of its own.
"""

from __future__ import annotations

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Recommendation(models.Model):
    # "wg2018-7": the series (a document or session) and the number within it.
    code = models.SlugField(max_length=40, unique=True)
    series = models.SlugField(max_length=32)
    number = models.PositiveSmallIntegerField()
    # Texts in English; other languages in ``translations`` ({"fr": {"text": ..., ...}}),
    # falling back to English.
    series_title = models.CharField(_("series"), max_length=300)
    source = models.CharField(_("source"), max_length=500)
    section = models.CharField(_("section"), max_length=300, blank=True)
    text = models.TextField(_("text"))
    translations = models.JSONField(default=dict, blank=True)
    articles = models.JSONField(default=list)  # article numbers of the Firearms Protocol
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["series", "number"], name="unique_recommendation_number")]

    def __str__(self) -> str:
        return f"{self.series_title} {self.number}"

    def _localized(self, name: str) -> str:
        language = (translation.get_language() or "en").split("-")[0]
        return (self.translations.get(language) or {}).get(name) or getattr(self, name)

    @property
    def text_localized(self) -> str:
        return self._localized("text")

    @property
    def section_localized(self) -> str:
        return self._localized("section")

    @property
    def series_title_localized(self) -> str:
        return self._localized("series_title")
