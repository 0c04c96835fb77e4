from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartiesConfig(AppConfig):
    name = "parties"
    verbose_name = _("States and people")

    def ready(self) -> None:
        from . import permissions  # noqa: F401  (registers the rules permissions)
        from . import receivers  # noqa: F401  (sign-in bookkeeping)
