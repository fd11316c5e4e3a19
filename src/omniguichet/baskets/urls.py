"""The basket console of the back office (/agent/baskets/). Included at the site root."""

from django.urls import path

from omniguichet.baskets import views

app_name = "baskets"
urlpatterns = [
    path("agent/baskets/", views.baskets, name="baskets"),
    path("agent/baskets/<int:basket_id>/", views.basket, name="basket"),
    path("agent/baskets/actions/", views.action, name="action"),
]
