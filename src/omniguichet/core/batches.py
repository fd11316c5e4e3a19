"""Helpers for the processing of large batches (ingestion endpoints, imports)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch is parsed, checked, written and answered.

    A batch of 10,000 contacts allocates a few hundred thousand objects (the parsed rows, their values, the results)
    that hold no reference cycle and are freed by reference counting when the request ends. Meanwhile, every 700
    allocations the collector walks the young objects, and the rows that survive long enough make it walk the whole
    heap of the process again and again: a third of the web process's time on a batch (bench/ingest.py). Cycles
    created meanwhile are collected as usual once the block ends.

    The switch is the process's: another thread's request in the same block is not collected either, for as long
    (half a second for 10,000 contacts). If the collector was already off (someone else's choice, or an enclosing
    block), it is left as it was."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
