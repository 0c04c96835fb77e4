from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("responses/", include("questionnaire.urls")),
    path("reviews/", include("reviews.urls")),
    path("people/", include("parties.urls")),
    path("audit/", include("audit.urls")),
    path("admin/", admin.site.urls),
]
admin.site.site_header = "Firearms Protocol review — administration"
