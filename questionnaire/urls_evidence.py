"""URL routes of the evidence feature (included by questionnaire/urls.py, so
mounted under /responses/): a State's library and the editing and deletion of
its entries, an answer's evidence, downloads."""

from django.urls import path

from . import views_evidence

urlpatterns: list = [
    path("states/<str:iso3>/evidence/", views_evidence.evidence_library, name="evidence_library"),
    path("evidence/<int:pk>/download/", views_evidence.evidence_download, name="evidence_download"),
    path("evidence/<int:pk>/edit/", views_evidence.evidence_edit, name="evidence_edit"),
    path("evidence/<int:pk>/delete/", views_evidence.evidence_delete, name="evidence_delete"),
    path("<int:pk>/answers/<str:code>/evidence/", views_evidence.evidence_attach, name="evidence_attach"),
    path(
        "<int:pk>/answers/<str:code>/evidence/<int:evidence>/detach/",
        views_evidence.evidence_detach,
        name="evidence_detach",
    ),
]
