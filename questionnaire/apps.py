from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuestionnaireConfig(AppConfig):
    name = "questionnaire"
    verbose_name = _("Questionnaire and responses")

    def ready(self) -> None:
        from . import permissions  # noqa: F401  (registers the rules permissions)
