"""URL routes of the history feature (included by questionnaire/urls.py)."""

urlpatterns: list = []
