"""URL routes of the documents feature (included by questionnaire/urls.py): a
response as PDF or Word, for whoever may view it."""

from django.urls import path

from . import views_documents

urlpatterns: list = [
    path("<int:pk>/document.pdf", views_documents.document_pdf, name="document_pdf"),
    path("<int:pk>/document.docx", views_documents.document_docx, name="document_docx"),
]
