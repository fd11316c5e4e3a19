"""The OpenAPI document is the contract: schemathesis generates requests from it (valid and invalid) and checks
that the API never fails with a server error and answers what the document says."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from omniguichet.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def bearer(supervisor, make_person):
    from django.core import signals
    from django.db import close_old_connections

    from omniguichet.core.services import issue_token

    make_person()
    # Requests go straight to the WSGI application, whose end-of-request signal would close the test's database
    # connection (and its transaction); Django's own test client switches this off the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {issue_token(user=supervisor)[1]}"}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_follows_its_openapi_document(case, bearer):
    case.call_and_validate(
        headers=bearer,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
