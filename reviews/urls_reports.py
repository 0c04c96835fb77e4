"""Routes of the cycle reports, the dashboards and job cancellation (included
from reviews/urls.py)."""

from django.urls import path

from . import views_reports as views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("cycles/<int:pk>/responses.csv", views.cycle_csv, name="cycle_csv"),
    path("cycles/<int:pk>/general-report/", views.general_report_create, name="general_report"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
]
