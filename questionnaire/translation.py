from modeltranslation.translator import TranslationOptions, register

from .models import Article, Choice, Cluster, Instrument, Provision, Question


@register(Instrument)
class InstrumentTranslationOptions(TranslationOptions):
    fields = ("title", "short_title")


@register(Cluster)
class ClusterTranslationOptions(TranslationOptions):
    fields = ("title",)


@register(Article)
class ArticleTranslationOptions(TranslationOptions):
    fields = ("title",)


@register(Provision)
class ProvisionTranslationOptions(TranslationOptions):
    fields = ("summary",)


@register(Question)
class QuestionTranslationOptions(TranslationOptions):
    fields = ("prompt", "help_text")


@register(Choice)
class ChoiceTranslationOptions(TranslationOptions):
    fields = ("label",)
