from django.urls import include, path

from . import views

app_name = "reviews"
urlpatterns = [
    path("cycles/", views.cycle_list, name="cycles"),
    path("cycles/new/", views.cycle_launch, name="cycle_launch"),
    path("cycles/<int:pk>/", views.cycle_detail, name="cycle"),
    # The workflow: groups, changes to the draw, status, appointments, deadlines, overview.
    path("groups/", views.groups, name="groups"),
    path("workload/", views.workload, name="workload"),
    path("overview/", views.overview, name="overview"),
    path("overview/export.xlsx", views.overview_xlsx, name="overview_xlsx"),
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment"),
    path("assignments/<int:pk>/change/", views.assignment_change, name="assignment_change"),
    path("<int:pk>/status/", views.review_transition, name="review_transition"),
    path("<int:pk>/focal-point/", views.focal_point_appoint, name="focal_point_appoint"),
    path("<int:pk>/deadlines/", views.deadline_extend, name="deadline_extend"),
    path("<int:pk>/", views.review_detail, name="review"),
    path("<int:pk>/articles/<int:number>/", views.review_article, name="article"),
    # The dialogue on answers, and the observations, summary and final documents.
    path("", include("reviews.urls_dialogue")),
    path("", include("reviews.urls_observations")),
    path("", include("reviews.urls_registry")),  # recommendations registry, expertise offers and matching
    path("", include("reviews.urls_ta")),
    path("reports/", include("reviews.urls_reports")),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/new/", views.job_create, name="job_create"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/download/", views.job_download, name="job_download"),
]
