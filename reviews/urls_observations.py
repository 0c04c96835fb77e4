"""Routes of the list of observations, the summary and the final documents
(included from reviews/urls.py)."""

from django.urls import path

from . import views_observations as views

urlpatterns = [
    path("<int:pk>/observations/", views.observations, name="observations"),
    path("<int:pk>/observations/new/", views.observation_create, name="observation_create"),
    path("observations/<int:pk>/edit/", views.observation_edit, name="observation_edit"),
    path("observations/<int:pk>/comments/", views.observation_comment, name="observation_comment"),
    path("observations/<int:pk>/agree/", views.observation_agree, name="observation_agree"),
    path("observations/<int:pk>/history/", views.observation_history, name="observation_history"),
    path("<int:pk>/summary/", views.summary_save, name="summary_save"),
    path("<int:pk>/summary/comments/", views.summary_comment, name="summary_comment"),
    path("<int:pk>/summary/clear/", views.summary_clear, name="summary_clear"),
    path("<int:pk>/summary/finalize/", views.summary_finalize, name="summary_finalize"),
    path("<int:pk>/final-documents/", views.final_documents_build, name="final_documents_build"),
    path("final-documents/<int:pk>/", views.final_document, name="final_document"),
]
