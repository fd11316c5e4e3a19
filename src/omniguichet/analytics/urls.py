from django.urls import path

from omniguichet.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.national, name="national"),
    path("export/", views.export, name="export"),
    path("national/<slug:table>.csv", views.national_csv, name="national_csv"),
    path("caisses/<str:code>/", views.caisse, name="caisse"),
    path("caisses/<str:code>/<slug:table>.csv", views.caisse_csv, name="caisse_csv"),
]
