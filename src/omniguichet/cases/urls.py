"""Pages of the cases app, included at the site root: the person's cases in the online account."""

from django.urls import path

from omniguichet.cases import views

app_name = "cases"
urlpatterns = [
    path("compte/dossiers/", views.my_cases, name="mine"),
]
