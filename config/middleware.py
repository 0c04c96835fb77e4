import time

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.functional import LazyObject, SimpleLazyObject
from django.utils.http import http_date

from config import sessions
from parties.receivers import SIGNED_IN_AT


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, with the user taken from what the session engine read with the
    session (config.sessions.get_user), not read again."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: sessions.get_user(request))


class NoStoreForAuthenticatedMiddleware:
    """Pages shown to a signed-in user may carry confidential answers: no browser
    or shared cache may keep them (ASVS 14.3.2)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if "Cache-Control" in response or "Expires" in response:
                add_never_cache_headers(response)
                patch_cache_control(response, no_store=True, private=True)
            else:
                # What the two calls above produce, written at once (every autosave passes here).
                response["Cache-Control"] = NO_STORE
                response["Expires"] = http_date(time.time() - 1)
        return response


NO_STORE = "max-age=0, no-cache, no-store, must-revalidate, private"


class SessionRefreshMiddleware:
    """Keep a signed-in session alive while it is used, cheaply: mark it modified
    (so SessionMiddleware saves it with a new expiry) only when the last refresh is
    older than SESSION_REFRESH_SECONDS, instead of SESSION_SAVE_EVERY_REQUEST."""

    KEY = "_refreshed_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            if now - session.get(self.KEY, 0) >= settings.SESSION_REFRESH_SECONDS:
                session[self.KEY] = now
        return response


class SignInPolicyMiddleware:
    """What a signed-in session must have before it reaches any page (ASVS 6.3.3,
    7.3.2): a second factor used in this session, and a sign-in younger than
    SESSION_ABSOLUTE_SECONDS, however active the session has been.

    Both are read from the session alone (allauth's authentication records and the
    sign-in time parties.receivers stores), so a request that passes costs no query:
    autosave posts often."""

    # Where a person without a second factor in this session may still go: setting
    # one up (which asks for the password again when the sign-in is not recent),
    # their recovery codes, signing out, the language switch.
    OPEN_URL_NAMES = frozenset({
        "mfa_activate_totp",
        "mfa_index",
        "mfa_view_recovery_codes",
        "mfa_download_recovery_codes",
        "mfa_generate_recovery_codes",
        "account_reauthenticate",
        "account_logout",
        "set_language",
    })

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is not None and isinstance(user, LazyObject):
            # Evaluated here anyway: the view and the permission rules then use the
            # user itself, not a proxy that costs a lookup per attribute read.
            user.is_authenticated  # noqa: B018
            user = request.user = user._wrapped
        if user is None or not user.is_authenticated:
            if getattr(request, "htmx", False):
                # Every htmx endpoint is for signed-in people: 401, as below.
                return self._refuse(request, _("You are signed out."))
            return None
        signed_in_at = request.session.get(SIGNED_IN_AT)
        if signed_in_at is None or time.time() - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS:
            logout(request)
            return self._refuse(request, _("Your sign-in has expired. Please sign in again."))
        records = get_authentication_records(request, user)
        if any(record.get("method") == "mfa" for record in records):
            return None
        url_name = request.resolver_match.url_name if request.resolver_match else None
        if url_name in self.OPEN_URL_NAMES:
            return None
        totp = Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).only("created_at").first()
        if totp is not None and totp.created_at.timestamp() >= signed_in_at:
            # Set up in this very session: typing the first code from the new device
            # was this session's second factor (recorded once; later requests pass above).
            record_authentication(request, user, "mfa", type=totp.type, id=totp.pk)
            return None
        if totp is not None:
            # Has a second factor but this session never used it (a session that
            # did not come through the sign-in form): sign in properly.
            logout(request)
            return self._refuse(request, _("Please sign in with your password and your authentication code."))
        if request.method != "GET" or getattr(request, "htmx", False):
            return self._refuse(request, _("Set up your second factor before you continue."), login=False)
        messages.info(request, _("Every account of this platform has a second factor. Set up yours to continue."))
        return redirect("mfa_activate_totp")

    @staticmethod
    def _refuse(request, message: str, *, login: bool = True):
        if request.method != "GET" or getattr(request, "htmx", False):
            # An autosave or a form post must not be answered by the sign-in page
            # (htmx would swap it into the question); the page keeps the edit and
            # shows "not saved" until the person signs in again.
            return HttpResponse(message, status=401, content_type="text/plain; charset=utf-8")
        messages.warning(request, message)
        if not login:
            return redirect("mfa_activate_totp")
        return redirect_to_login(request.get_full_path())
