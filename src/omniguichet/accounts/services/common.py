"""Limits of the one-time codes."""

from __future__ import annotations

import datetime as dt

CODE_LIFETIME = dt.timedelta(minutes=10)


LETTER_CODE_LIFETIME = dt.timedelta(days=15)


MAX_CODE_ATTEMPTS = 5


MAX_CODES_PER_HOUR = 5
