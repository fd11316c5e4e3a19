"""URLs of the crm bench's framework floor: a django-ninja endpoint with the search's query shape that does
nothing (no token, no service, no SQL), served with the project's settings and middleware.

What it costs is the least any endpoint of the chosen stack can cost: the crm bench prints it next to the search's
raw SQL, to show how much of the 2x ratio budget the stack alone takes.
"""

from django.urls import path
from ninja import NinjaAPI, Query

from omniguichet.crm.api import SearchQuery

floor_api = NinjaAPI(title="bench floor", urls_namespace="bench-floor", docs_url=None, openapi_url=None)


@floor_api.get("/persons/search")
def search_nothing(request, query: Query[SearchQuery]) -> list[dict]:
    return [{"id": 1, "q": query.q, "limit": query.limit}]


urlpatterns = [path("api/v1/", floor_api.urls)]
