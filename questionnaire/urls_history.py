"""URL routes of the history feature (included by questionnaire/urls.py)."""

from django.urls import path

from . import views_history

urlpatterns: list = [
    path("<int:pk>/answers/<str:code>/history/", views_history.answer_history, name="answer_history"),
    path(
        "<int:pk>/answers/<str:code>/history/<int:revision>/restore/",
        views_history.answer_restore,
        name="answer_restore",
    ),
]
