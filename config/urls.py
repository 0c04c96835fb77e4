from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from . import views

# The admin signs in through the same form, second factor and throttling as
# everybody (set before admin.site.urls binds its login view).
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", views.home, name="home"),
    path("session/form-token/", views.form_token, name="form_token"),
    # Sign-in, second factor (accounts/2fa/), password reset, own sessions (accounts/sessions/).
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("responses/", include("questionnaire.urls")),
    path("reviews/", include("reviews.urls")),
    path("people/", include("parties.urls")),
    path("audit/", include("audit.urls")),
    path("admin/", admin.site.urls),
]
handler400 = "config.views.bad_request"

admin.site.site_header = "Firearms Protocol review — administration"
