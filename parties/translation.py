from modeltranslation.translator import TranslationOptions, register

from .models import State


@register(State)
class StateTranslationOptions(TranslationOptions):
    fields = ("name",)
