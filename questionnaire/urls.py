from django.urls import include, path

from . import views

app_name = "questionnaire"
urlpatterns = [
    path("<int:pk>/", views.response_overview, name="response"),
    path("<int:pk>/articles/<int:number>/", views.article_answer, name="article"),
    path("<int:pk>/articles/", views.cluster_answer, name="cluster"),
    path("<int:pk>/answers/<str:code>/", views.answer_autosave, name="answer_save"),
    path("<int:pk>/carry-over/", views.response_carry_over, name="carry_over"),
    path("<int:pk>/assignments/", views.article_assign, name="assign"),
    path("<int:pk>/assignments/<int:assignment>/delete/", views.article_unassign, name="unassign"),
    path("<int:pk>/completeness/", views.response_completeness, name="completeness"),
    path("<int:pk>/submit/", views.response_submit, name="submit"),
    path("<int:pk>/submitted/", views.response_submitted, name="submitted"),
    path("", include("questionnaire.urls_history")),
    path("", include("questionnaire.urls_offline")),
    path("", include("questionnaire.urls_documents")),
    path("", include("questionnaire.urls_evidence")),
]
