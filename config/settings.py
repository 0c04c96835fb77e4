"""The one settings module. Everything that differs between a laptop, CI and a
deployment comes from environment variables; nothing is switched by editing code.

Embedded default (no variables set): SQLite in ./db.sqlite3, Celery tasks run in
process, files under ./media, e-mails printed on the console.
Full stack: DATABASE_URL (PostgreSQL), REDIS_URL (broker and cache), a worker.
"""

from pathlib import Path

import environ
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# A fixed key is acceptable only in DEBUG; a deployment must provide its own.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (
    "insecure-embedded-development-key-do-not-use-in-production" if DEBUG else ""
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # modeltranslation must come before the admin so that it patches its forms.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",  # allauth's list of one's sessions
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "simple_history",
    "rules",
    # Sign-in: accounts with a second factor (TOTP + recovery codes) and a list of
    # one's own sessions; axes throttles failed sign-ins, the admin's included.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "axes",
    "parties",
    "audit",
    "questionnaire",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.middleware.SignInPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "config.middleware.NoStoreForAuthenticatedMiddleware",
    "audit.middleware.RefusedAccessMiddleware",
    # Last, as its documentation asks: it turns a lockout flagged during
    # authentication into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
# Widget templates (questionnaire/widgets/*) live in the project's templates.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "parties.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Health-checked persistent connections: a restarted PostgreSQL is reconnected to
# on the next request instead of failing every request of a worker.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The hot path's fixed statements prepared once per connection (config/prepared.py);
# false behind a pooler in transaction mode.
DB_PREPARED_STATEMENTS = env.bool("DJANGO_DB_PREPARED_STATEMENTS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, with a health check that costs no round trip while the
    # connection is in use (config/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Autosave writes often; WAL lets the page keep reading while a save commits.
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # A Redis outage degrades to cache misses instead of failing requests (config/cache.py);
    # the timeouts bound the wait on a Redis that hangs.
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Template fragments that are the same for many requests ({% cache ... using="fragments" %}:
# the navigation per language and roles, the articles' list of an answering page), kept
# in each process: cheaper than rendering them, and than a Redis round trip.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "TIMEOUT": 600,
    "OPTIONS": {"MAX_ENTRIES": 2000},
}
# Rendered question blocks of the answering pages kept per process
# (questionnaire/answer_page.py), keyed by the versions of what they show, never
# stale; about 3 KB each.
ANSWER_BLOCK_CACHE_ENTRIES = env.int("ANSWER_BLOCK_CACHE_ENTRIES", default=20_000)
# Whole answering pages assembled from those blocks, per process (up to ~0.5 MB each).
ANSWER_PAGE_CACHE_ENTRIES = env.int("ANSWER_PAGE_CACHE_ENTRIES", default=32)
# The frames around them, per person and page, for a minute (questionnaire/page_frame.py; a few KB each).
ANSWER_FRAME_CACHE_ENTRIES = env.int("ANSWER_FRAME_CACHE_ENTRIES", default=500)

AUTHENTICATION_BACKENDS = [
    # First: refuses any attempt while the login is locked out.
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    # allauth's (a ModelBackend: passwords and Django permissions), reading the
    # user of each request cheaply. The admin signs in through allauth's form too.
    "config.auth.AuthenticationBackend",
]
# ASVS 6.2: at least 8 characters, 64 and more accepted, no composition rules,
# checked against common passwords and the person's own name and address.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth. Accounts come only from invitations (parties), so nobody signs
# up; people sign in with their e-mail address, then their second factor.
ACCOUNT_ADAPTER = "config.auth.AccountAdapter"
ACCOUNT_FORMS = {"login": "config.auth.LoginForm"}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"  # the invitation link proved the address
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_SESSION_REMEMBER = False  # no "remember me": sessions end with the browser
# A password reset signs nobody in: the next sign-in asks for the second factor.
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # usersessions ends the other sessions instead
ACCOUNT_PREVENT_ENUMERATION = True
# A reset asked for an unknown address answers the same but sends nothing: the
# platform must not mail arbitrary addresses on anybody's request.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Firearms Protocol review] "
MFA_ADAPTER = "config.auth.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Firearms Protocol review"
# TOTP secrets are stored encrypted (config.auth.MFAAdapter) with this key, or one
# derived from SECRET_KEY when it is not set (then rotating SECRET_KEY means every
# person sets up their second factor again).
MFA_SECRET_KEY = env.str("MFA_SECRET_KEY", default="")
# The second factor is required of everybody (config.middleware.SignInPolicyMiddleware):
# a person who has not set one up yet is taken to its set-up page after the password.
USERSESSIONS_TRACK_ACTIVITY = False  # a write per request otherwise (autosave posts often)

# django-axes: five failures for one login from one address lock that pair out
# for 15 minutes (allauth's own cache-based limits also apply to its form).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "config.auth.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "account/lockout.html"
AXES_VERBOSE = False

# Sessions: a confidential platform signs people out after inactivity.
# Sessions in the database, each read with its user and roles in one statement
# (config/sessions.py; every request reads them, autosave posts often). Django's own
# app stays installed for `clearsessions`, which cleans this engine's table.
SESSION_ENGINE = "config.sessions"
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_COOKIE_AGE", default=8 * 60 * 60)
# Sliding expiry without a database write on every request (autosave posts often):
# config.middleware.SessionRefreshMiddleware re-saves the session at most every
# SESSION_REFRESH_SECONDS, so the inactivity timeout is exact to within that.
SESSION_REFRESH_SECONDS = 300
# ASVS 7.3.2: however active, a sign-in ends after this (then password and second factor again).
SESSION_ABSOLUTE_SECONDS = env.int("DJANGO_SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Internationalisation: the six official UN languages; Arabic is right to left.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("ar", _("Arabic")),
    ("zh-hans", _("Chinese")),
    ("en", _("English")),
    ("fr", _("French")),
    ("ru", _("Russian")),
    ("es", _("Spanish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# MEDIA_URL is deliberately not routed: results and attachments are confidential
# and only served by views that check access.
MEDIA_URL = "/media-not-served/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# EMAIL_URL in django-environ's form (smtp+tls://user:password@host:587), mapped
# onto Django 6.1's MAILERS. Without it, e-mails are printed on the console.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_email_options = {
    option: _email[setting]
    for option, setting in {
        "host": "EMAIL_HOST",
        "port": "EMAIL_PORT",
        "username": "EMAIL_HOST_USER",
        "password": "EMAIL_HOST_PASSWORD",
        "use_tls": "EMAIL_USE_TLS",
        "use_ssl": "EMAIL_USE_SSL",
    }.items()
    if _email.get(setting) not in (None, "")
}
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"]}}
if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = _email_options
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="firearms-review@localhost")
# The platform's address as people reach it: links in e-mails are absolute.
SITE_URL = env.str("DJANGO_SITE_URL", default="http://127.0.0.1:8000")

# Security headers. Django's own CSP: no inline script or style anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # ASVS 3.3.3: the __Host- prefix makes browsers refuse these cookies unless they
    # are Secure, for this host only and the whole path (no subdomain can set them).
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# Celery. Without Redis (the embedded default) tasks run in process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# A separate queue name lets a test run use its own queue on a shared Redis.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 10 * 60
CELERY_TASK_TIME_LIMIT = 15 * 60
# Must exceed the longest task, or Redis redelivers a running job to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 60 * 60,
    # A Redis that hangs (or a cut network) must not hold a request that enqueues a
    # job: the publish gives up after these, the job stays queued for the sweep
    # (tests/ops/test_faults.py). Above the worker's 1 s BRPOP poll.
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {
    "requeue-stalled-jobs": {"task": "reviews.tasks.requeue_stalled_jobs", "schedule": 5 * 60},
    # Offline uploads never confirmed (their token expires after 2 hours).
    "cleanup-offline-uploads": {"task": "reviews.tasks.cleanup_offline_uploads", "schedule": 30 * 60},
    "deadline-reminders": {"task": "reviews.tasks.send_deadline_reminders", "schedule": 60 * 60},
    # Sessions past their expiry are refused already; their rows go once a day.
    "clear-expired-sessions": {"task": "parties.tasks.clear_expired_sessions", "schedule": 24 * 60 * 60},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # WeasyPrint narrates every page it lays out at INFO.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

# Virus scanning of uploads (questionnaire/scanning.py) by clamd, through its unix
# socket (CLAMD_SOCKET) or TCP (CLAMD_HOST, CLAMD_PORT). Unset: uploads are not
# scanned. Set but unreachable: uploads are refused (fail closed).
CLAMD_SOCKET = env.str("CLAMD_SOCKET", default="")
CLAMD_HOST = env.str("CLAMD_HOST", default="")
CLAMD_PORT = env.int("CLAMD_PORT", default=3310)
CLAMD_TIMEOUT = env.float("CLAMD_TIMEOUT", default=30.0)

# Domain settings: named, not magic numbers.
INVITATION_VALID_DAYS = 10
ANSWER_TEXT_MAX_LENGTH = env.int("ANSWER_TEXT_MAX_LENGTH", default=50_000)
# A whole cluster saved at once may legitimately carry several long answers, and a
# browser sends each non-Latin character as up to nine bytes (%XX per UTF-8 byte):
# Django's 2.5 MB would refuse a page with a few full-length Arabic or Chinese
# answers. Beyond this, config.views.bad_request says what happened.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=16 * 1024 * 1024)
SELF_ASSESSMENT_DUE_MONTHS = 6
# Deadlines of a review from its launch (domain.md 1.7); each cycle keeps its own copy.
FOCAL_POINT_DUE_WEEKS = 2
EXPERTS_DUE_WEEKS = 4
WRITTEN_FEEDBACK_DUE_MONTHS = 6  # after the submission of the self-assessment
REMINDER_DAYS_BEFORE = 7  # reminder e-mails this many days before a deadline, and once after it
MAX_REVIEWS_PER_STATE_PER_CYCLE = 3  # the cap on the reviews one State carries in a cycle
