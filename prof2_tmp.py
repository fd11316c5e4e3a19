import tempfile, time
from bench.crm import _database_url
from bench.seed import _setup
var = tempfile.mkdtemp()
_setup(_database_url(None, var), var)
from bench.documents import _load_documents
from omniguichet.demo.services import ensure_demo_users, seed_population
from omniguichet.documents import services
from omniguichet.referential.models import Person, User
from omniguichet.core.actors import Actor
from django.db import connection
from django.test.utils import CaptureQueriesContext
ensure_demo_users(); seed_population(persons=3000, seed=42); services.seed_baskets()
pbc = {}
for pk, c in Person.objects.values_list("pk", "caisse_id"):
    pbc.setdefault(c, []).append(pk)
_load_documents(100000, pbc)
from omniguichet.documents.models import Basket
b = Basket.objects.filter(caisse_id="751", kind="ij").first()
actor = Actor.agent(User.objects.get(username="agent-751"))
with CaptureQueriesContext(connection) as cq:
    services.basket_documents(actor=actor, basket_id=b.pk)
    services.list_baskets(actor=actor)
with connection.cursor() as cur:
    for q in cq.captured_queries[1:]:
        print(q["time"], q["sql"][-400:])
        cur.execute("EXPLAIN QUERY PLAN " + q["sql"]); print(cur.fetchall())
