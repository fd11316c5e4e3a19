"""The quick scan of request bodies for refused characters (core.middleware.suspect_body) says the same as the
single regular expression it replaced, on any bytes."""

import re

from hypothesis import example, given
from hypothesis import strategies as st

from omniguichet.core.middleware import suspect_body

# The expression the scan replaced (one alternative per kind of refused character, tried at every byte).
REFERENCE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\\u00[01][0-9a-fA-F]|\\u007[fF]|\\[bf]")

# Bytes near the edges: controls, tab/LF/CR (allowed), DEL, backslash, the letters and digits of the escapes.
_PIECES = st.sampled_from([
    b"\x00", b"\x08", b"\x09", b"\x0a", b"\x0b", b"\x0d", b"\x1f", b" ", b"\x7f", b"\x80", b"\\", b"u", b"0", b"1",
    b"2", b"7", b"f", b"F", b"b", b"a", b"\\u00", b"\\u007", b'"', "é".encode(),
])  # fmt: skip


@given(st.one_of(st.binary(max_size=64), st.lists(_PIECES, max_size=24).map(b"".join)))
@example(b'[{"note": "caf\\u00e9"}]')
@example(b'[{"note": "\\u001b[31m"}]')
@example(b'[{"note": "\\u007F"}]')
@example(b'[{"note": "a\\\\b"}]')
@example(b'[{"note": "tab\\tand\\nline"}]')
@example(b"\x7f")
def test_the_scan_agrees_with_the_expression_it_replaced(body):
    assert suspect_body(body) == (REFERENCE.search(body) is not None)


def test_a_clean_batch_is_not_suspect():
    assert not suspect_body(
        b'[{"external_id": "a-1", "note": "Appel re\\u00e7u, dossier transf\\u00e9r\\u00e9"}]'
    )
    assert suspect_body(b'[{"note": "\\u0000"}]')
    assert suspect_body(b'[{"note": "raw \x01 byte"}]')
