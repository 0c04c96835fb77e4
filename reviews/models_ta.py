"""Technical-assistance needs of a State (article 14 of the Protocol).

A need is derived from a State's submitted answers of kind "technical_assistance"
(one need per category ticked) or from an agreed observation of kind
"technical-assistance needs" (reviews/services_ta.py ``ta_needs_refresh``); its
status then moves through the transitions below, by the State's focal point or
the secretariat. Imported at the end of reviews/models.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, FSMModelMixin, transition

from parties.models import State
from questionnaire.kinds import TACategory, TAPriority
from questionnaire.models import Article, Question, Response

from .models_observations import Observation


def _may_move(need, user) -> bool:
    return user.has_perm("reviews.move_ta_need", need)


def _secretariat(need, user) -> bool:
    return user.has_perm("reviews.deliver_ta_need", need)


class TechnicalAssistanceNeed(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        IDENTIFIED = "identified", _("Identified")
        REQUESTED = "requested", pgettext_lazy("technical-assistance need status", "Requested")
        BEING_DELIVERED = "being_delivered", _("Being delivered")
        MET = "met", _("Met")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Source(models.TextChoices):
        ANSWER = "answer", _("Answer to the questionnaire")
        OBSERVATION = "observation", _("Agreed observation")

    OPEN = (Status.IDENTIFIED, Status.REQUESTED, Status.BEING_DELIVERED)

    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="+", verbose_name=_("State"))
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="+", verbose_name=_("article"))
    category = models.CharField(_("category"), max_length=32, choices=TACategory.choices)
    priority = models.CharField(_("priority"), max_length=16, choices=TAPriority.choices, blank=True)
    status = FSMField(_("status"), max_length=16, choices=Status.choices, default=Status.IDENTIFIED, protected=True)
    text = models.TextField(_("details"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    # The answer it came from (response + question), or the observation.
    response = models.ForeignKey(Response, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    observation = models.ForeignKey(Observation, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # False once the answer no longer asks for it (kept for its history of delivery).
    current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["state__name", "article__number", "category", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question", "category"],
                condition=Q(source="answer"),
                name="one_ta_need_per_answer_category",
            ),
            models.UniqueConstraint(
                fields=["observation"], condition=Q(source="observation"), name="one_ta_need_per_observation"
            ),
            models.CheckConstraint(
                condition=(Q(source="answer", response__isnull=False, question__isnull=False, observation__isnull=True))
                | Q(source="observation", observation__isnull=False, response__isnull=True, question__isnull=True),
                name="ta_need_has_one_source",
            ),
        ]
        indexes = [models.Index(fields=["state", "status"], name="ta_need_state_status")]

    def __str__(self) -> str:
        return f"{self.get_category_display()} — {self.state_id} art. {self.article_id}"

    # The State asks for the assistance it identified.
    @transition(field=status, source=Status.IDENTIFIED, target=Status.REQUESTED, permission=_may_move)
    def request(self) -> None:
        pass

    # Delivery is arranged by the secretariat (UNODC's programmes).
    @transition(field=status, source=Status.REQUESTED, target=Status.BEING_DELIVERED, permission=_secretariat)
    def start_delivery(self) -> None:
        pass

    @transition(field=status, source=Status.BEING_DELIVERED, target=Status.MET, permission=_may_move)
    def mark_met(self) -> None:
        pass

    @transition(field=status, source=[Status.IDENTIFIED, Status.REQUESTED, Status.BEING_DELIVERED], target=Status.WITHDRAWN, permission=_may_move)
    def withdraw(self) -> None:
        pass
