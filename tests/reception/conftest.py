from tests.appointments.conftest import (  # noqa: F401 - fixtures shared with the appointments tests
    _sink,
    insured,
    motive,
    second_agent_paris,
    site_ain,
    site_paris,
)
