import json

from django import template
from django.template.defaultfilters import truncatechars

register = template.Library()


@register.filter
def as_json(value, length: int = 300) -> str:
    """An old or new value as the JSON it is stored as, cut for the table (escaped
    by the template like any text)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return truncatechars(text, length)
