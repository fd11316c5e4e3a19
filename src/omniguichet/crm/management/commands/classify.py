"""`omniguichet classify --in messages.jsonl --out predictions.jsonl`: the motive suggested for each message.

Input lines are `{"id", "subject", "body"}` (subject and body may be missing: read as empty); output lines, in
the same order, are `{"id", "motive", "confidence"}`, or `{"id", "error": {"line", "message"}}` for a line that
could not be read (bad JSON, not an object, no id, a subject or body that is not a string). Errors are also
printed on stderr with their line number; the other lines go on, and the command exits with status 1 if any line
failed. Blank lines are skipped. `-` reads standard input or writes standard output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omniguichet.crm.classifier import suggest_many

BATCH = 256


class LineError(ValueError):
    pass


def parse_line(raw: bytes) -> dict[str, Any]:
    """The message of one input line, or LineError saying what is wrong with it."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LineError(f"not UTF-8: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise LineError(f"bad JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(value, dict):
        raise LineError(f"a JSON object is expected, not {type(value).__name__}")
    if value.get("id") is None:
        raise LineError('"id" is missing')
    if isinstance(value["id"], bool) or not isinstance(value["id"], str | int):
        raise LineError('"id" must be a string or an integer')
    for field in ("subject", "body"):
        if field in value and not isinstance(value[field], str):
            raise LineError(f'"{field}" must be a string')
    return {"id": value["id"], "subject": value.get("subject", ""), "body": value.get("body", "")}


def _id_of(raw: bytes) -> Any:
    """The id of a line that failed, when it can still be read (else None)."""
    try:
        value = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return None
    ident = value.get("id") if isinstance(value, dict) else None
    return ident if isinstance(ident, str | int) and not isinstance(ident, bool) else None


class Command(BaseCommand):
    help = (
        "Suggest a contact motive for each message of a JSON-lines file ({id, subject, body}) and write "
        "{id, motive, confidence} lines; unreadable lines are reported and written as {id, error}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--in", dest="input", required=True, help="JSON-lines file of messages ('-': stdin)"
        )
        parser.add_argument(
            "--out", dest="output", required=True, help="JSON-lines file to write ('-': stdout)"
        )
        parser.add_argument("--batch", type=int, default=BATCH, help="messages classified together")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")

    def handle(self, *args, **options) -> None:
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        with ExitStack() as stack:
            source: IO[bytes]
            if options["input"] == "-":
                source, size = sys.stdin.buffer, None
            else:
                path = Path(options["input"])
                if not path.is_file():
                    raise CommandError(f"{path}: no such file")
                source, size = stack.enter_context(path.open("rb")), path.stat().st_size
            if options["output"] == "-":
                sink: IO[str] = self.stdout._out  # type: ignore[assignment]
            else:
                sink = stack.enter_context(Path(options["output"]).open("w", encoding="utf-8"))
            show = not options["no_progress"] and size is not None and sys.stderr.isatty()
            total, failed = self._classify(source, sink, size if show else None, options["batch"])
        summary = f"{total:,} lines, {total - failed:,} classified, {failed:,} failed"
        if failed:
            raise CommandError(summary, returncode=1)
        self.stderr.write(summary, style_func=lambda text: text)  # a summary, not an error

    def _classify(self, source: IO[bytes], sink: IO[str], size: int | None, batch: int) -> tuple[int, int]:
        total = failed = 0
        progress = task = None
        if size is not None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            progress = Progress(
                TextColumn("[bold]Classifying"),
                BarColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            progress.start()
            task = progress.add_task("classify", total=size)
        try:
            for chunk in _chunks(source, batch):
                pending: list[tuple[int, dict[str, Any]]] = []
                results: dict[int, dict[str, Any]] = {}
                for number, raw in chunk:
                    total += 1
                    try:
                        pending.append((number, parse_line(raw)))
                    except LineError as exc:
                        failed += 1
                        self.stderr.write(f"line {number}: {exc}")
                        results[number] = {"id": _id_of(raw), "error": {"line": number, "message": str(exc)}}
                for (number, message), suggestion in zip(
                    pending, suggest_many([m for _, m in pending]), strict=True
                ):
                    results[number] = {
                        "id": message["id"],
                        "motive": suggestion.motive,
                        "confidence": round(suggestion.confidence, 4),
                    }
                for number, _raw in chunk:
                    sink.write(json.dumps(results[number], ensure_ascii=False) + "\n")
                if progress is not None and task is not None:
                    progress.advance(task, sum(len(raw) for _, raw in chunk))
        finally:
            if progress is not None:
                progress.stop()
        return total, failed


def _chunks(source: IO[bytes], size: int) -> Iterator[list[tuple[int, bytes]]]:
    """The non-blank lines of `source` with their line numbers (from 1), `size` at a time."""
    chunk: list[tuple[int, bytes]] = []
    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        chunk.append((number, raw))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
