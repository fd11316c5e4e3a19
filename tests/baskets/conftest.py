from tests.documents.conftest import _document_settings, insured, insured_actor, rib_request  # noqa: F401 (fixtures)
from tests.messaging.conftest import ain_insured, logged  # noqa: F401 (fixtures)
