from django.urls import path

from . import views

app_name = "parties"
urlpatterns = [
    path("invitations/", views.invitation_create, name="invite"),
    path("invitations/<str:token>/", views.invitation_accept, name="accept"),
    path("account/", views.account_security, name="account"),
]
