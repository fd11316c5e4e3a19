"""Request guards shared by every page and endpoint."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.translation import gettext as _

from omniguichet.core.text import control_character, control_character_reason, ndjson_lines, printable_name

# A refused character as it may appear in a raw body: raw (UTF-8 never uses these bytes inside a multi-byte
# character, so a byte search is exact) or as a JSON escape (\u0000-\u001f, \u007f; tab and line escapes match
# too and are sorted out by the parse that follows). Most bodies hold none: they are let through unparsed.
# JSON's short escapes \b and \f decode to control characters too (a false alarm, e.g. an escaped backslash before
# a "b", only costs the walk of the parsed body).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_SUSPECT_ESCAPES = re.compile(rb"\\(?:u00[01][0-9a-fA-F]|u007[fF]|[bf])")


def suspect_body(body: bytes) -> bool:
    """Whether a raw body may hold a refused character, raw or escaped (see above). Two passes that each run at
    memory speed (bytes.translate deletes the control bytes: the length changes if there was one; the escapes all
    start with a backslash, which the regular expression searches first): a tenth of the time of one regular
    expression with both alternatives, which tried every alternative at every byte (~40 ms for a batch of 10,000
    contacts, bench/ingest.py)."""
    return len(body.translate(None, _CONTROL_BYTES)) != len(body) or _SUSPECT_ESCAPES.search(body) is not None


# The same in a query string, percent-encoded or raw.
_SUSPECT_QUERY = re.compile(r"%(?:[01][0-9a-fA-F]|7[fF])|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _is_text(content_type: str) -> bool:
    """Bodies read as text (JSON, NDJSON, text/*, or no declared type, which ninja reads as JSON). Everything
    else (application/octet-stream, application/pdf, image/*...) is binary content, left alone."""
    return (
        not content_type
        or content_type.startswith("text/")
        or content_type in ("application/json", "application/x-ndjson", "application/ndjson")
        or content_type in ("application/jsonlines", "application/x-jsonlines", "application/json-seq")
        or content_type.endswith("+json")
    )


def _check(fields: dict[str, str], name: str, value: str) -> None:
    char = control_character(value)
    if char is not None:
        fields.setdefault(printable_name(name) or "body", control_character_reason(char))


def _walk(fields: dict[str, str], path: str, value: Any) -> None:
    """Every string of a parsed JSON value, keys included; a field is named by its path ("rows.3.note"), as the
    API names fields in its validation errors."""
    if isinstance(value, str):
        _check(fields, path, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            _check(fields, name, str(key))
            _walk(fields, name, item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(fields, f"{path}.{index}" if path else str(index), item)


def _text_body_fields(body: bytes, content_type: str) -> dict[str, str]:
    """The fields of a text body holding a refused character: NDJSON row by row (rows numbered from 0 like the
    items of a JSON array, blank lines skipped as the ingestion does), any other text as one JSON document walked
    whole, and the body itself when it does not parse."""
    fields: dict[str, str] = {}
    if "ndjson" in content_type or "jsonlines" in content_type:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return {"body": control_character_reason(_first_control_byte(body))}
        for index, line in enumerate(ndjson_lines(text)):
            try:
                _walk(fields, str(index), json.loads(line, strict=False))
            except ValueError:  # not JSON: the row as a whole
                _check(fields, str(index), line)
        return fields
    try:
        # strict=False: a raw control character inside a string (invalid JSON) still gets its field named.
        _walk(fields, "", json.loads(body, strict=False))
    except ValueError:  # not JSON (nor UTF-8, UTF-16 or UTF-32 text)
        return {"body": control_character_reason(_first_control_byte(body))}
    return fields


def _first_control_byte(body: bytes) -> str:
    found = re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", body)
    return chr(found.group()[0]) if found else "\x00"


def refused_fields(request: HttpRequest) -> dict[str, str]:
    """Where the request holds a control character the platform refuses: path, query parameters (names and
    values), form fields (names and values, urlencoded or multipart), uploaded file names, and every string of a
    JSON or NDJSON body. Binary bodies and the content of uploaded files are not read."""
    fields: dict[str, str] = {}
    _check(fields, "path", request.path_info)
    if _SUSPECT_QUERY.search(request.META.get("QUERY_STRING", "")):
        for name, values in request.GET.lists():
            _check(fields, name, name)
            for value in values:
                _check(fields, name, value)
    if request.method not in _BODY_METHODS:
        return fields
    content_type = (request.content_type or "").lower()
    if content_type in _FORMS:
        if request.method == "POST":  # parsed once here, kept by the request for the view
            data, files = request.POST, request.FILES
        elif content_type == _FORMS[0]:
            data, files = QueryDict(request.body, encoding=request.encoding), None
        else:  # a multipart body of another method is parsed by nobody (ninja would need its own middleware)
            return fields
        for name, values in data.lists():
            _check(fields, name, name)
            for value in values:
                _check(fields, name, value)
        # Django's multipart parser already drops non-printable characters from file names; kept as a guard.
        for name, uploads in files.lists() if files is not None else ():
            _check(fields, name, name)
            for upload in uploads:
                _check(fields, name, upload.name or "")
    elif _is_text(content_type):
        body = request.body
        if suspect_body(body):
            fields.update((k, v) for k, v in _text_body_fields(body, content_type).items() if k not in fields)
    return fields


class RefuseNulBytes:
    """NUL and the other control characters (C0 except tab, LF and CR; DEL) are refused at once, wherever the
    request carries text: no text the platform accepts may hold one, and PostgreSQL refuses NUL in any text
    parameter (a server error deep in some query otherwise). The API answers 422 in its error format with the
    fields concerned; pages answer 422 with a French page naming them. See docs/security.md."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path_info.startswith("/api/")
        try:
            fields = refused_fields(request)
        except RequestDataTooBig:
            if not api:
                raise
            from omniguichet.core.api import too_big

            return too_big(request)
        except (MultiPartParserError, SuspiciousOperation):
            # A body Django cannot read (too many fields, broken multipart): the view meets the same error.
            if not api:
                raise
            from omniguichet.core.api import _error

            reason = _("cannot be read")
            return _error(request, 422, "invalid", f"body: {reason}", {"body": reason})
        if fields:
            return self._refuse(request, fields, api=api)
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, fields: dict[str, str], *, api: bool) -> HttpResponse:
        if api:
            from omniguichet.core.api import _error

            message = "; ".join(f"{name}: {why}" for name, why in fields.items())
            return _error(request, 422, "invalid", message, fields)
        return render(request, "core/refused_characters.html", {"fields": fields}, status=422)
