"""URL routes of the offline feature (included by questionnaire/urls.py)."""

urlpatterns: list = []
