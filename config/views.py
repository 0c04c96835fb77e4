"""The home page: what each role has to do, composed from every app; the fresh
form token that an open answering page asks for after signing in again."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
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
