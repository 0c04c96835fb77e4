"""Routes of the technical-assistance needs (included from reviews/urls.py)."""

from django.urls import path

from . import views_ta as views

urlpatterns = [
    path("ta/", views.ta_needs, name="ta_needs"),
    path("ta/refresh/", views.ta_refresh, name="ta_refresh"),
    path("ta/report/", views.ta_report, name="ta_report"),
    path("ta/states/<str:iso3>/", views.ta_state, name="ta_state"),
    path("ta/states/<str:iso3>/refresh/", views.ta_state_refresh, name="ta_state_refresh"),
    path("ta/needs/<int:pk>/status/", views.ta_need_move, name="ta_need_move"),
]
