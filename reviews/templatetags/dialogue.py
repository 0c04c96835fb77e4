"""The number of unread notifications, for the navigation (cached per person:
no database query on most pages)."""

from django import template

from ..services_dialogue import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    return unread_count(user) if user is not None else 0
