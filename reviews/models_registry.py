"""Expertise that States (and the secretariat, for its programmes) can offer, by
article and technical-assistance category, for matching with the needs of other
States (reviews/services_registry.py). Imported at the end of reviews/models.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parties.models import State
from questionnaire.kinds import TACategory


class ExpertiseOffer(models.Model):
    # A State's offer, or (state empty) one of the secretariat's programmes.
    state = models.ForeignKey(
        State, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("State")
    )
    programme = models.CharField(_("programme"), max_length=200, blank=True)
    article_number = models.PositiveSmallIntegerField(_("article"))
    category = models.CharField(_("category"), max_length=32, choices=TACategory.choices)
    description = models.TextField(_("description"))
    contact = models.CharField(_("contact"), max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["article_number", "category", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(state__isnull=False) & Q(programme=""))
                | (Q(state__isnull=True) & ~Q(programme="")),
                name="expertise_offer_state_or_programme",
            )
        ]

    def __str__(self) -> str:
        return f"{self.offered_by}: article {self.article_number}, {self.get_category_display()}"

    @property
    def offered_by(self) -> str:
        return self.state.name if self.state_id else self.programme
