"""The home page: what each role has to do, composed from every app."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

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
