from django.urls import path

from omniguichet.cases import views

app_name = "cases"
urlpatterns = [
    path("compte/dossiers/", views.my_cases_page, name="mine"),
    # The deposit link of the case messages (cases.services.messages.deposit_url): a case's requested document.
    path("compte/dossiers/<path:reference>/pieces/<slug:code>", views.case_request, name="case_request"),
]
