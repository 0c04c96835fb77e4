"""URL routes of the offline feature (included by questionnaire/urls.py)."""

from django.urls import path

from . import views_offline

urlpatterns: list = [
    path("<int:pk>/offline/download.xlsx", views_offline.offline_download, name="offline_download"),
    path("<int:pk>/offline/upload/", views_offline.offline_upload, name="offline_upload"),
    path("<int:pk>/offline/confirm/", views_offline.offline_confirm, name="offline_confirm"),
]
