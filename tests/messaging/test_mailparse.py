"""The e-mail parser on arbitrary input: whatever the bytes, a ParsedMail or MailRefused, nothing else."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omniguichet.messaging.services.mailparse import MailRefused, ParsedMail, parse_email

HEADERS = st.sampled_from([
    b"From: a@example.org", b"From: <>", b"From: =?utf-8?q?=FF?= <a@b>", b"To: 751@courriel.example",
    b"Subject: =?unknown?b?xx?=", b"Content-Type: multipart/mixed; boundary=B", b"Content-Type: text/html",
    b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: base64", b"Message-ID: <x@y>",
    b"References: <a@b> <c", b"In-Reply-To: ", b"Auto-Submitted: no", b"Content-Disposition: attachment; filename=",
    b"--B", b"--B--", b"\xff\xfe: x", b"Subject: \x00\x01",
])  # fmt: skip


def _check(data: bytes) -> None:
    try:
        parsed = parse_email(data)
    except MailRefused as exc:
        assert exc.code in (550, 554) and exc.reason
        return
    assert isinstance(parsed, ParsedMail) and parsed.sender and parsed.message_id.startswith("<")
    for text in (parsed.body, parsed.subject, parsed.html):
        text.encode("utf-8")  # storable: no surrogate
        assert "\x00" not in text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data):
    _check(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(HEADERS, st.binary(max_size=60)), max_size=20), st.binary(max_size=300))
def test_header_soup(lines, body):
    _check(b"\r\n".join(lines) + b"\r\n\r\n" + body)
