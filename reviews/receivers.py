from django.dispatch import receiver

from questionnaire.signals import response_submitted

from . import services


@receiver(response_submitted, dispatch_uid="reviews.review_on_response_submitted")
def review_on_response_submitted(sender, response, by, **kwargs) -> None:
    services.review_mark_submitted(response=response, by=by)
