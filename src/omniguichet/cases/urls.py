from django.urls import path

from omniguichet.cases import views

app_name = "cases"
urlpatterns = [
    path("compte/dossiers/", views.my_cases_page, name="mine"),
]
