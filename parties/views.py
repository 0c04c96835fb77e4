from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import services
from .forms import AcceptInvitationForm, InvitationForm
from .models import Invitation, Membership
from .permissions import roles_of


@login_required
@require_http_methods(["GET", "POST"])
def invitation_create(request):
    roles = roles_of(request.user)
    if not (roles.secretariat or roles.states_with(Membership.Role.FOCAL_POINT)):
        raise PermissionDenied
    form = InvitationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                state=form.cleaned_data["state"],
                by=request.user,
                accept_url_for=lambda token: request.build_absolute_uri(reverse("parties:accept", args=[token])),
            )
        except services.InvitationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The invitation is sent. The link is valid for 10 days."))
            return redirect("parties:invite")
    if roles.secretariat:
        sent = Invitation.objects.select_related("state")[:50]
    else:
        sent = Invitation.objects.filter(invited_by=request.user).select_related("state")[:50]
    return render(request, "parties/invitation_create.html", {"form": form, "sent": sent})


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    try:
        invitation = services.invitation_for_token(token)
    except services.InvitationError as exc:
        return render(request, "parties/invitation_invalid.html", {"reason": str(exc)}, status=410)
    if services.account_exists(invitation):
        # An existing account adds the role once its owner has signed in: the
        # link alone must not grant a role to someone else's account.
        if not request.user.is_authenticated:
            messages.info(request, _("You already have an account: sign in to accept the invitation."))
            return redirect(f"{reverse('account_login')}?next={request.path}")
        if request.method == "POST":
            try:
                services.invitation_accept_signed_in(token=token, user=request.user)
            except services.InvitationError as exc:
                return render(request, "parties/invitation_invalid.html", {"reason": str(exc)}, status=410)
            messages.success(request, _("The role is added to your account."))
            return redirect("home")
        return render(request, "parties/invitation_accept.html", {"invitation": invitation, "existing_account": True})
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_accept(
                token=token,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password"],
            )
        except ValidationError as exc:
            form.add_error("password", exc)
        except services.InvitationError as exc:
            return render(request, "parties/invitation_invalid.html", {"reason": str(exc)}, status=410)
        else:
            messages.success(request, _("Your account is ready. Sign in with your e-mail address and password."))
            return redirect("account_login")
    return render(request, "parties/invitation_accept.html", {"form": form, "invitation": invitation})


@login_required
@require_http_methods(["GET"])
def account_security(request):
    """One's own account: password, second factor, recovery codes, sessions (the
    pages themselves are allauth's)."""
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    kinds = set(Authenticator.objects.filter(user_id=request.user.pk).values_list("type", flat=True))
    return render(
        request,
        "parties/account_security.html",
        {
            "has_totp": Authenticator.Type.TOTP in kinds,
            "has_recovery_codes": Authenticator.Type.RECOVERY_CODES in kinds,
            "session_count": UserSession.objects.filter(user_id=request.user.pk).count(),
        },
    )
