"""Where the engine's sources are: a CSV file, a Parquet file, a glob, a directory of Parquet files, or a
directory laid out by month in Hive style (`month=YYYY-MM/...`), pruned to the months asked for before any file
is opened. No Django, like the engine."""

from __future__ import annotations

import glob
import os
import re


class SchemaError(ValueError):
    """A source that does not follow the documented schema; the message names the file and the column."""


PARTITION_RE = re.compile(r"^(month|caisse)=([^/]+)$")
# The partition keys a warehouse directory may be laid out by (Hive style, `key=value` folders): contacts by the
# local (Europe/Paris) month of started_at, the month of the indicators, and optionally by caisse below it.
PARTITION_KEYS = ("month", "caisse")


def hive_months(path: str | os.PathLike[str]) -> list[str] | None:
    """The `month=YYYY-MM` folders of a directory laid out by month (sorted), or None when it is not."""
    text = os.fspath(path)
    if not os.path.isdir(text):
        return None
    months = sorted(
        match.group(2)
        for entry in os.scandir(text)
        if entry.is_dir() and (match := PARTITION_RE.match(entry.name)) and match.group(1) == "month"
    )
    return months or None


def _files(
    role: str, path: str | os.PathLike[str], months: tuple[str, str] | None = None
) -> tuple[str, list[str]]:
    """(kind, files) of a source: a CSV file, a Parquet file, a directory of Parquet parts or a glob.

    A directory laid out by month (`month=YYYY-MM/...`, kind "hive") is pruned here, before any file is opened:
    with `months` = (first, last), only the files of the month folders in that range are listed (the folder
    names are the partition values; loose files beside the month folders, like the parts of a flat warehouse
    being migrated, are not read)."""
    text = os.fspath(path)
    if os.path.isdir(text):
        found = hive_months(text)
        if found is not None:
            kept = [m for m in found if months is None or months[0] <= m <= months[1]]
            files = sorted(
                f
                for m in kept
                for f in glob.glob(os.path.join(text, f"month={m}", "**", "*.parquet"), recursive=True)
            )
            if not files and months is None:
                raise SchemaError(f"{role}: no Parquet file in directory {text}")
            return "hive", files
        files = sorted(glob.glob(os.path.join(text, "**", "*.parquet"), recursive=True))
        if not files:
            raise SchemaError(f"{role}: no Parquet file in directory {text}")
        return "parquet", files
    files = sorted(glob.glob(text)) if any(ch in text for ch in "*?[") else [text]
    if not files or not all(os.path.isfile(f) for f in files):
        raise SchemaError(f"{role}: no such file: {text}")
    lowered = [f.lower() for f in files]
    if all(f.endswith((".csv", ".csv.gz")) for f in lowered):
        return "csv", files
    if all(f.endswith(".parquet") for f in lowered):
        return "parquet", files
    raise SchemaError(f"{role}: {text}: expected .parquet or .csv files")
