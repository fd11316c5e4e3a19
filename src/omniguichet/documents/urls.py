"""Pages of the documents app: the person's deposit pages (/compte/documents/, in the online account) and the
documents' pages in the basket console (/agent/baskets/documents/; the console itself is the baskets app's).
Included at the site root."""

from django.urls import path

from omniguichet.documents import views

app_name = "documents"
urlpatterns = [
    path("compte/documents/", views.my_documents, name="mine"),
    path("compte/documents/depot/", views.deposit, name="deposit"),
    path("borne/documents/", views.kiosk_documents, name="kiosk"),
    path("borne/documents/depot/", views.kiosk_deposit, name="kiosk_deposit"),
    path("agent/baskets/persons/<int:person_id>/", views.for_person, name="for_person"),
    path("agent/baskets/documents/<int:document_id>/", views.document, name="document"),
    path("agent/baskets/documents/<int:document_id>/file/", views.document_file, name="document_file"),
]
