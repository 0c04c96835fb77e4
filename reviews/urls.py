from django.urls import path

from . import views

app_name = "reviews"
urlpatterns = [
    path("cycles/", views.cycle_list, name="cycles"),
    path("cycles/new/", views.cycle_launch, name="cycle_launch"),
    path("cycles/<int:pk>/", views.cycle_detail, name="cycle"),
    path("<int:pk>/", views.review_detail, name="review"),
    path("<int:pk>/articles/<int:number>/", views.review_article, name="article"),
    path("<int:pk>/questions/<str:code>/threads/", views.thread_create, name="thread_create"),
    path("threads/<int:pk>/comments/", views.comment_create, name="comment_create"),
    path("threads/<int:pk>/resolve/", views.thread_resolve, name="thread_resolve"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/new/", views.job_create, name="job_create"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/download/", views.job_download, name="job_download"),
]
