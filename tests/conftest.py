import datetime as dt
import itertools

import pytest
from django.core.cache import cache
from django.utils import translation

from omniguichet.appointments.services import forget_weekly_patterns
from omniguichet.baskets.services import forget_routing
from omniguichet.core.actors import Actor
from omniguichet.crm.services import forget_motives
from omniguichet.referential.models import Caisse, Person, Role, User
from omniguichet.referential.validators import compose_nir

_orders = itertools.count(1)


# --- no NIR in any log line of the whole run (tests/log_scan.py) -------------------------------------------------
def pytest_configure(config):
    import os
    import tempfile

    from tests import log_scan

    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist): its workers inherit it
        os.environ.setdefault(log_scan.LOG_DIR_VARIABLE, tempfile.mkdtemp(prefix="omniguichet-test-logs-"))


@pytest.fixture(scope="session", autouse=True)
def _logs_of_the_run(request):
    from tests import log_scan

    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    log_scan.install(worker)


def pytest_sessionfinish(session, exitstatus):
    import os

    from tests import log_scan

    if hasattr(session.config, "workerinput"):
        return
    directory = os.environ.get(log_scan.LOG_DIR_VARIABLE, "")
    found = log_scan.scan(directory) if directory else []
    if found:
        print(f"\nNIR-shaped strings in {len(found)} log line(s) of this run (tests/log_scan.py):")
        for line in found[:20]:
            print("  " + line[:300])
        session.exitstatus = 1


# --- a real Redis (tests/redis_server.py) -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _redis_databases(tmp_path_factory):
    from tests import redis_server

    with redis_server.running(tmp_path_factory.mktemp("redis")) as url:
        yield redis_server.Databases(url)


@pytest.fixture
def redis_url(_redis_databases) -> str:
    """The URL of an emptied database of Debian's redis-server, started once per test process."""
    return _redis_databases.fresh()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # argon2 is deliberately slow; tests that are not about hashing need not pay for it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Assertions read the English source messages; the French ones are checked by tests that ask for French.
    settings.LANGUAGE_CODE = "en"
    cache.clear()  # cached figures must not leak from one test to the next
    forget_weekly_patterns()  # nor the free-slot search's schedule (rolled-back sites keep their ids)
    forget_motives()  # nor the contact motives (a test's rolled-back motive, or one changed by an UPDATE)
    forget_routing()  # nor the routing rules and baskets (committed by a transactional test, then flushed)
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _staff_second_factor(monkeypatch):
    """Tests that log a staff member in with the test client (`client.force_login`) get a session verified by a
    second factor, as after the real two steps (password, then TOTP code): the rule stays, the fixture gives the
    factor. A staff login without a device gets one."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from omniguichet.core.guards import is_staff_login

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if is_staff_login(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def _reference_data_for_transactional_tests(request):
    """Tests in committed transactions (live servers, concurrency) end with a flush that also empties what data
    migrations loaded (caisses, contact motives, routing rules, appointment motives, reply templates): load it
    again (idempotent) for the next such test."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and (
        marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    )
    if transactional or {"live_server", "transactional_db"} & set(request.fixturenames):
        from omniguichet.appointments.services import load_appointment_motives
        from omniguichet.crm.services import load_motives
        from omniguichet.documents.services import load_routing_rules
        from omniguichet.referential.services import load_caisses
        from omniguichet.teleservices.services import load_motives as load_teleservice_motives

        request.getfixturevalue("transactional_db")
        load_caisses()
        load_motives()
        load_teleservice_motives()
        load_routing_rules()
        load_appointment_motives()
        # The reply templates the messaging migration installs (the accessibility test opens one).
        import importlib

        from django.apps import apps

        importlib.import_module("omniguichet.messaging.migrations.0002_reply_templates").add(apps, None)
        # And the routing rules of messages and e-mails.
        importlib.import_module("omniguichet.messaging.migrations.0006_basket_items").forward(apps, None)


@pytest.fixture
def caisse_paris(db) -> Caisse:
    return Caisse.objects.get(code="751")


@pytest.fixture
def caisse_ain(db) -> Caisse:
    return Caisse.objects.get(code="011")


def make_user(username: str, *, role: str = Role.MANAGER, caisse: Caisse | None = None) -> User:
    return User.objects.create_user(username=username, password="not-used-here-123", role=role, caisse=caisse)


@pytest.fixture
def agent_paris(caisse_paris) -> User:
    return make_user("agent-paris", role=Role.RECEPTION_AGENT, caisse=caisse_paris)


@pytest.fixture
def agent_ain(caisse_ain) -> User:
    return make_user("agent-ain", role=Role.BACKOFFICE_AGENT, caisse=caisse_ain)


@pytest.fixture
def supervisor(db) -> User:
    return make_user("national", role=Role.NATIONAL_SUPERVISOR)


def person_data(**overrides):
    """Keyword arguments of create_person for a consistent identity (a fresh NIR each call)."""
    sex = overrides.get("sex", "F")
    birth_date = overrides.get("birth_date", dt.date(1984, 12, 3))
    birth_place = overrides.get("birth_place", "75056")
    data = {
        "nir": compose_nir(
            sex=sex, birth_date=birth_date, birth_place=birth_place, order=next(_orders) % 999 + 1
        ),
        "given_names": "Marie Hélène",
        "family_name": "Lefèvre",
        "birth_date": birth_date,
        "sex": sex,
        "birth_place": birth_place,
        "caisse_code": "751",
    }
    data.update(overrides)
    return data


@pytest.fixture
def make_person(db):
    from omniguichet.core.actors import Channel
    from omniguichet.referential.services import create_person

    def make(**overrides) -> Person:
        return create_person(actor=Actor.system(), channel=Channel.BACKOFFICE, **person_data(**overrides))

    return make
