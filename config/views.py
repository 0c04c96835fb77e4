"""The home page: what each role has to do, composed from every app; the fresh
form token that an open answering page asks for after signing in again."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from parties.permissions import roles_of
from questionnaire.selectors import responses_for_user, responses_progress
from reviews.selectors import cycles_overview, next_steps, recent_jobs, reviews_for_reviewer, reviews_of_states


@login_required
def home(request):
    roles = roles_of(request.user)
    responses = list(responses_for_user(request.user))
    progress = responses_progress(responses) if responses else {}
    context = {
        "responses": [(r, progress[r.pk]) for r in responses],
        "reviews_to_do": list(reviews_for_reviewer(request.user)),
        "my_reviews": list(reviews_of_states(request.user)),
        "is_secretariat": roles.secretariat,
        "next_steps": next_steps(request.user),
    }
    if roles.secretariat:
        context["cycles"] = list(cycles_overview()[:20])
        context["jobs"] = list(recent_jobs(10))
    return render(request, "home.html", context)


@never_cache
@require_GET
@login_required
def form_token(request):
    """The signed-in person's current CSRF token (masked anew, as a page would give
    it). Signing in again rotates the token, so the autosaves of a page opened before
    are refused; the page fetches this once, takes the new token and saves again
    (static/js/answer.js). Same-origin only: no CORS header is ever sent, so another
    site cannot read it; it is the token of whoever asks, nobody else's."""
    return JsonResponse({"token": get_token(request)})


def bad_request(request, exception=None):
    """handler400: a request that could not be read, said in words. Above all a post
    larger than DATA_UPLOAD_MAX_MEMORY_SIZE (a pasted book in one answer): nothing
    was saved, and the person learns why and what to do. An autosave gets the words
    as plain text (answer.js shows them under the answer); a page, a page of its own
    that needs no session, user or template context (the request may be unreadable)."""
    if isinstance(exception, RequestDataTooBig):
        status = 413
        message = _(
            "Nothing was saved: this page sent more than %(size)d MB at once. One answer holds at most "
            "%(chars)d characters: shorten the longest text and save again (your browser's Back button "
            "returns to what you typed)."
        ) % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024), "chars": settings.ANSWER_TEXT_MAX_LENGTH}
    else:
        status = 400
        message = _("Nothing was saved: the request could not be read. Reload the page and try again.")
    if getattr(request, "htmx", False):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    page = render_to_string("error.html", {"title": _("Not saved"), "message": message})
    return HttpResponse(page, status=status)
