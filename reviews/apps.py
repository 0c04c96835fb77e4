from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews, reports and jobs")

    def ready(self) -> None:
        from . import permissions, receivers  # noqa: F401  (rules permissions; questionnaire's signals)
        from .evidence_access import register as register_evidence_readers

        # Reviewers read the evidence of the responses they review (questionnaire
        # cannot know who reviews whom).
        register_evidence_readers()
        # The State may revise submitted answers while the review is in dialogue.
        from .clarification import register as register_clarification_window

        register_clarification_window()
