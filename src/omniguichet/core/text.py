"""Text helpers shared by every app."""

import unicodedata


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of a name, for searches tolerant of accents and case."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.replace("-", " ").replace("'", " ").lower().split())
