from django.dispatch import receiver

from questionnaire.signals import response_submitted

from . import services
from .services_ta import ta_needs_refresh


@receiver(response_submitted, dispatch_uid="reviews.review_on_response_submitted")
def review_on_response_submitted(sender, response, by, **kwargs) -> None:
    services.review_mark_submitted(response=response, by=by)


@receiver(response_submitted, dispatch_uid="reviews.ta_needs_on_response_submitted")
def ta_needs_on_response_submitted(sender, response, by, **kwargs) -> None:
    """The needs a State expresses in its answers count from the moment it submits
    (in the same transaction as the submission)."""
    ta_needs_refresh(state=response.state)
