"""Routes of the dialogue on answers (included from reviews/urls.py)."""

from django.urls import path

from . import views_dialogue as views

urlpatterns = [
    path("<int:pk>/questions/<str:code>/threads/", views.thread_create, name="thread_create"),
    path("<int:pk>/threads/", views.review_threads, name="review_threads"),
    path("threads/", views.my_threads, name="my_threads"),
    path("threads/<int:pk>/comments/", views.comment_create, name="comment_create"),
    path("threads/<int:pk>/resolve/", views.thread_resolve, name="thread_resolve"),
    path("threads/<int:pk>/assign/", views.thread_assign, name="thread_assign"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
]
