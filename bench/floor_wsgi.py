"""The platform's WSGI application with one extra address, for the benchmarks only
(bench/run.sh, measurement 1e): ``POST /bench/floor/``, a signed-in POST that does
nothing. It passes exactly the middleware, session, user, CSRF and login checks of an
autosave and then answers an empty 200: what any signed-in POST costs on this machine
before the autosave does its own work. Served by gunicorn as
``--pythonpath bench floor_wsgi:application``; never part of the deployment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402

import config.urls  # noqa: E402


@login_required
@require_POST
def floor(request):
    return HttpResponse("")


urlpatterns = [path("bench/floor/", floor), *config.urls.urlpatterns]

# Before config.wsgi builds the handler and warms up the resolver: the address
# exists in this process only.
settings.ROOT_URLCONF = __name__

from config.wsgi import application  # noqa: E402, F401
