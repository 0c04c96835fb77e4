"""URL routes of the documents feature (included by questionnaire/urls.py)."""

urlpatterns: list = []
