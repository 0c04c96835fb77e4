from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Membership, State
from .permissions import roles_of


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
    state = forms.ModelChoiceField(label=_("State"), queryset=State.objects.all(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        roles = roles_of(user)
        if not roles.secretariat:
            # A focal point invites contributors of its own State(s) only.
            self.fields["role"].choices = [(Membership.Role.CONTRIBUTOR, Membership.Role.CONTRIBUTOR.label)]
            self.fields["state"].queryset = State.objects.filter(pk__in=roles.states_with(Membership.Role.FOCAL_POINT))
            self.fields["state"].required = True
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Send the invitation")))


class AcceptInvitationForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(
        label=_("Password again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Create my account")))

    def clean(self):
        data = super().clean()
        if data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data
