"""``{% article_recommendations article.number %}``: the Working Group's
recommendations on an article, as a collapsible panel (no query once the
process holds the registry; see questionnaire/recommendations.py)."""

from django import template

from questionnaire.recommendations import recommendations_for_article

register = template.Library()


@register.inclusion_tag("questionnaire/_recommendations.html")
def article_recommendations(number):
    return {"recommendations": recommendations_for_article(number) if number else [], "number": number}
