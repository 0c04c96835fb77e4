from django.urls import path

from . import views_registry as views

urlpatterns = [
    path("recommendations/", views.registry_list, name="registry"),
    path("recommendations/export.xlsx", views.registry_xlsx, name="registry_xlsx"),
    path("expertise/programmes/", views.programme_offers, name="programme_offers"),
    path("expertise/matching/", views.matching, name="matching"),
    path("expertise/matching.xlsx", views.matching_xlsx, name="matching_xlsx"),
    path("expertise/offers/<int:pk>/withdraw/", views.offer_withdraw, name="offer_withdraw"),
    path("expertise/<str:iso3>/", views.state_offers, name="state_offers"),
]
