from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent


def _state_model():
    # The State is named through the foreign key: audit imports no other app.
    return AuditEvent._meta.get_field("state").related_model


class AuditFilterForm(forms.Form):
    event = forms.ChoiceField(label=_("Event"), required=False, choices=[("", "—"), *AuditEvent.Event.choices])
    state = forms.ModelChoiceField(label=_("State"), required=False, queryset=None, empty_label="—")
    actor = forms.CharField(label=_("Actor (e-mail)"), required=False, max_length=150)
    date_from = forms.DateField(label=_("From (UTC)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To (UTC)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].queryset = _state_model().objects.order_by("name")
        for name, field in self.fields.items():
            field.widget.attrs["class"] = "form-select" if name in ("event", "state") else "form-control"

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date comes before the start date."))
        return data

    def full_clean(self):
        super().full_clean()
        # Each error tied to its field (the template gives the message this id).
        for name in self._errors or {}:
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"aria-describedby": f"{self[name].auto_id}-error", "aria-invalid": "true"}
                )

    def filters(self) -> dict:
        """The selector's keyword arguments (none when the form is unbound or invalid)."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "event": data["event"] or None,
            "state": data["state"],
            "actor": data["actor"].strip() or None,
            "date_from": data["date_from"],
            "date_to": data["date_to"],
        }
