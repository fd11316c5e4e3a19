"""Reading a page form's answer as a screen reader would: the message announced for a field is the text of the
element its input names in aria-describedby, and the input says it is invalid (django-dsfr's rendering)."""

from __future__ import annotations

from html.parser import HTMLParser


class _Ids(HTMLParser):
    """Every element's attributes and text by id (the text of its descendants included)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, dict[str, str]] = {}
        self.text: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.attrs[values["id"]] = {"tag": tag, **values}
            self.text.setdefault(values["id"], "")
        if tag not in {"input", "br", "img", "meta", "link", "hr", "source", "wbr"}:
            self._open.append((tag, values.get("id")))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            opened, _id = self._open.pop()
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        for _tag, element_id in self._open:
            if element_id:
                self.text[element_id] += data


def error_under(content: bytes | str, field_id: str) -> str:
    """The message announced for the field whose input (or group) has this id; fails if it is not marked
    invalid or names no message."""
    page = _Ids()
    page.feed(content.decode() if isinstance(content, bytes) else content)
    field = page.attrs.get(field_id)
    assert field is not None, f"no element #{field_id}"
    described = field.get("aria-describedby", "") or field.get("aria-labelledby", "")
    assert field.get("aria-invalid") == "true" or "fr-fieldset--error" in field.get("class", ""), field
    messages = [" ".join(page.text.get(i, "").split()) for i in described.split() if i.endswith("error")]
    assert messages and all(messages), (field_id, described)
    return " ".join(messages)
