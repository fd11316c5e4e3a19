"""The client address comes from the proxy's header only when the request comes from a trusted proxy."""

from django.test import RequestFactory, override_settings

from omniguichet.core.throttle import client_address


@override_settings(
    THROTTLE_CLIENT_IP_HEADER="HTTP_X_REAL_IP", OMNIGUICHET_TRUSTED_PROXIES=["10.0.0.0/8", "::1"]
)
def test_header_believed_only_from_a_trusted_proxy():
    factory = RequestFactory()
    from_proxy = factory.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_REAL_IP="203.0.113.7")
    assert client_address(from_proxy) == "203.0.113.7"
    from_stranger = factory.get("/", REMOTE_ADDR="198.51.100.9", HTTP_X_REAL_IP="203.0.113.7")
    assert client_address(from_stranger) == "198.51.100.9"
    from_v6_proxy = factory.get("/", REMOTE_ADDR="::1", HTTP_X_REAL_IP="1.2.3.4, 203.0.113.8")
    assert client_address(from_v6_proxy) == "203.0.113.8"


@override_settings(THROTTLE_CLIENT_IP_HEADER="", OMNIGUICHET_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_no_header_configured_uses_the_peer():
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_REAL_IP="203.0.113.7")
    assert client_address(request) == "10.1.2.3"
