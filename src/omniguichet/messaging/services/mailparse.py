"""Reading an e-mail received by the platform (`omniguichet mailin`): the standard library's `email` package with
policy `default`, the text preferred to the HTML, the HTML sanitised with nh3 (no script, style, event handler
or image reaches an agent's screen), the files listed for the documents' checks, the threading headers and the
signs of automatic mail. Pure functions, no database: whatever the bytes, `parse_email` returns a `ParsedMail`
or raises `MailRefused` (an SMTP code and a reason), nothing else."""

from __future__ import annotations

import email
import email.policy
import hashlib
import html as html_lib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from typing import Any

from omniguichet.messaging.models import MAX_BODY, MAX_HTML

SUBJECT_MAX = 150
# "[Réf. 1234]" (or "Ref 1234", "réf.1234") in a subject: the thread it answers.
SUBJECT_REFERENCE = re.compile(r"\[\s*r[ée]f\.?\s*:?\s*(\d{1,12})\s*\]", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
# Structural damage: the message cannot be read as its author meant it.
FATAL_DEFECTS = (
    "StartBoundaryNotFoundDefect",
    "CloseBoundaryNotFoundDefect",
    "MultipartInvariantViolationDefect",
    "NoBoundaryInMultipartDefect",
    "MissingHeaderBodySeparatorDefect",
    "InvalidMultipartContentTransferEncodingDefect",
    "FirstHeaderLineIsContinuationDefect",
)
# Tags an agent's screen may show from an e-mail's HTML: text structure and links, nothing that loads or runs.
HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
HTML_ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BLOCK_END = re.compile(r"<br\s*/?>|</(?:p|div|li|tr|h[1-6]|blockquote|pre|table)>", re.IGNORECASE)


class MailRefused(Exception):
    """An e-mail the platform does not take: the SMTP answer's code and its reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason

    @property
    def smtp_reply(self) -> str:
        status = {550: "5.1.7", 552: "5.3.4", 554: "5.6.0"}.get(self.code, "5.0.0")
        return f"{self.code} {status} {self.reason}"


@dataclass(frozen=True)
class ParsedFile:
    name: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: str  # normalised like the referential's e-mail contact points (lower-cased)
    subject: str
    body: str  # the text shown (the text part, else the sanitised HTML's text), at most MAX_BODY characters
    html: str  # the HTML part, sanitised ("" when none)
    references: tuple[str, ...]  # In-Reply-To and References, the most recent first
    subject_reference: int | None
    files: tuple[ParsedFile, ...] = field(default=())
    automatic: bool = False  # Auto-Submitted, Precedence bulk/list/junk, list mail: never acknowledged


def sanitise_html(raw: str) -> str:
    """The HTML an agent may see: nh3 (ammonia) with a short list of tags, no images, styles, scripts or event
    handlers, links only to http(s) and mailto and opened without referrer."""
    import nh3

    return nh3.clean(
        raw,
        tags=HTML_TAGS,
        attributes=HTML_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )[:MAX_HTML]


def html_text(clean_html: str) -> str:
    """The text of sanitised HTML (block ends become line ends)."""
    import nh3

    text = nh3.clean(BLOCK_END.sub("\n", clean_html), tags=set())
    lines = [" ".join(html_lib.unescape(line).split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _clean_text(value: str) -> str:
    return CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _strict_text(part: Message) -> str:
    """A text part decoded with its declared charset, strictly: an unknown charset or bytes that are not in it
    refuse the mail (the agent would read garbage)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset("us-ascii") or "us-ascii"
    try:
        return payload.decode(charset, errors="strict")
    except LookupError:
        raise MailRefused(554, f"unknown charset {charset[:40]!r}") from None
    except UnicodeDecodeError:
        raise MailRefused(554, f"text not in its declared charset {charset[:40]!r}") from None


def _header(message: EmailMessage, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    text = str(value)
    if _has_surrogates(text):
        raise MailRefused(554, f"header {name} is not in a declared charset")
    return _clean_text(text).replace("\n", " ").strip()


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _sender(message: EmailMessage) -> str:
    from django.core.exceptions import ValidationError

    from omniguichet.referential.validators import validate_email_address

    header = message.get("From")
    if header is None or not str(header).strip():
        raise MailRefused(550, "no From header")
    addresses: tuple[Any, ...] = tuple(getattr(header, "addresses", ()))
    spec = str(addresses[0].addr_spec or "") if len(addresses) == 1 else ""
    if "@" not in spec:
        raise MailRefused(550, "the From header must hold exactly one address")
    try:
        return validate_email_address(spec)
    except ValidationError:
        raise MailRefused(550, "the From address is not valid") from None


def _automatic(message: EmailMessage) -> bool:
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return True
    if _header(message, "Precedence").lower() in {"bulk", "list", "junk"}:
        return True
    return bool(message.get("List-Id") is not None or message.get("List-Unsubscribe") is not None)


def _file_name(part: Message, index: int) -> str:
    name = part.get_filename() or ""
    if _has_surrogates(name):
        name = ""
    name = CONTROL.sub("", name).replace("/", "_").replace("\\", "_").strip()
    return (name or f"piece-{index}")[:200]


def _check_defects(message: EmailMessage) -> None:
    for part in message.walk():
        for defect in part.defects:
            if type(defect).__name__ in FATAL_DEFECTS:
                raise MailRefused(554, f"malformed MIME ({type(defect).__name__})")


def _parse(data: bytes) -> ParsedMail:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    if not message.keys():
        raise MailRefused(554, "malformed message: no header")
    _check_defects(message)
    sender = _sender(message)
    raw_id = _header(message, "Message-ID")
    found = MESSAGE_ID.search(raw_id)
    # Without a Message-ID the content's digest stands for it: a replayed mail is still stored once.
    message_id = found.group(0) if found else f"<{hashlib.sha256(data).hexdigest()}@mailin.invalid>"
    references = MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    references += reversed(MESSAGE_ID.findall(_header(message, "References")))
    subject = " ".join(_header(message, "Subject").split())
    reference = SUBJECT_REFERENCE.search(subject)

    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = _clean_text(_strict_text(text_part)).strip() if text_part is not None else ""
    html = sanitise_html(_clean_text(_strict_text(html_part))) if html_part is not None else ""
    body = text or html_text(html)
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 2].rstrip() + "\n…"
    files: list[ParsedFile] = []
    for part in message.walk():
        if part.is_multipart() or part is text_part or part is html_part:
            continue
        disposition = part.get_content_disposition()
        if part.get_content_maintype() == "text" and disposition != "attachment" and not part.get_filename():
            _strict_text(part)  # another text part: its charset must hold too
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            files.append(ParsedFile(_file_name(part, len(files) + 1), payload))
    if not body.strip() and not files:
        raise MailRefused(554, "empty message: no text and no file")
    return ParsedMail(
        message_id=message_id[:255],
        sender=sender,
        subject=subject[:SUBJECT_MAX],
        body=body,
        html=html,
        references=tuple(dict.fromkeys(r[:255] for r in references))[:50],
        subject_reference=int(reference.group(1)) if reference else None,
        files=tuple(files),
        automatic=_automatic(message),
    )


def parse_email(data: bytes) -> ParsedMail:
    """Read one e-mail; `MailRefused` (and only it) for what the platform does not take: malformed MIME, an
    unknown or wrong charset, no valid From, an empty message."""
    try:
        return _parse(data)
    except MailRefused:
        raise
    except Exception as exc:  # the email package's own failures on hostile input (header parser bugs...)
        raise MailRefused(554, f"malformed message ({type(exc).__name__})") from None
