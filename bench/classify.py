"""Benchmark of the motive classifier (issue 17, section 4): top-1 accuracy on the hand-written held-out messages
(`crm/data/classifier/heldout.jsonl`, never seen in training), per motive, and the time to classify one message
on one core (target ≤ 20 ms), plus the training time.

The model is the one the platform uses (`crm.classifier.model.train` on the shipped corpus). Each message is
classified alone, as the router will (`predict` on one row), repeated `--rounds` times over the held-out
messages; then the whole held-out set in one batch, and a 100 KB body. BLAS and OpenMP are held to one thread and
the process to one core.

    python -m bench.classify
    python -m bench.classify --rounds 20 --threshold 0.6
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402

TARGET_MS = 20.0


def _p(times_ms: list[float], q: int) -> float:
    return statistics.quantiles(times_ms, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=10, help="passes over the held-out messages, one at a time"
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="confidence below which an item is triaged"
    )
    parser.add_argument("--errors", action="store_true", help="print every misclassified held-out message")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    import sklearn

    from omniguichet.crm.classifier import model
    from omniguichet.crm.classifier.corpus import HELDOUT_PATH, TRAIN_PATH, motive_codes, read_jsonl

    train_rows = read_jsonl(TRAIN_PATH)
    heldout = read_jsonl(HELDOUT_PATH)
    started = time.perf_counter()
    pipeline = model.train(train_rows)
    training_s = time.perf_counter() - started

    suggestions = model.predict(pipeline, heldout)
    right = [s.motive == row["motive"] for s, row in zip(suggestions, heldout, strict=True)]
    per_motive: dict[str, list[bool]] = defaultdict(list)
    confusions: Counter[tuple[str, str]] = Counter()
    for ok, s, row in zip(right, suggestions, heldout, strict=True):
        per_motive[row["motive"]].append(ok)
        if not ok:
            confusions[(row["motive"], s.motive)] += 1
    sure = [(ok, s) for ok, s in zip(right, suggestions, strict=True) if s.confidence >= args.threshold]

    for row in heldout[:5]:  # warm-up
        model.predict(pipeline, [row])
    times_ms: list[float] = []
    for _ in range(args.rounds):
        for row in heldout:
            t = time.perf_counter()
            model.predict(pipeline, [row])
            times_ms.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    model.predict(pipeline, heldout)
    batch_ms = (time.perf_counter() - t) * 1000 / len(heldout)
    huge = {"subject": "Carte vitale", "body": ("J'ai perdu ma carte vitale, que faire ? " * 3000)[:100_000]}
    huge_ms = []
    for _ in range(20):
        t = time.perf_counter()
        model.predict(pipeline, [huge])
        huge_ms.append((time.perf_counter() - t) * 1000)

    print(
        f"motive classifier, one core ({platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, scikit-learn {sklearn.__version__}, model {model.MODEL_VERSION})"
    )
    print(f"  training: {len(train_rows):,} generated messages in {training_s:.2f} s")
    accuracy = sum(right) / len(right)
    print(f"  held-out top-1: {sum(right)}/{len(right)} = {accuracy:.1%} (aim ≥ 90 %)")
    print(
        f"  confidence ≥ {args.threshold}: {len(sure)}/{len(right)} messages routed ({len(sure) / len(right):.0%}), "
        f"{sum(ok for ok, _ in sure)}/{len(sure)} right ({sum(ok for ok, _ in sure) / max(1, len(sure)):.1%}); "
        f"the other {len(right) - len(sure)} to triage"
    )
    print("  per motive:")
    for code in motive_codes():
        oks = per_motive[code]
        print(f"    {code:24} {sum(oks):3}/{len(oks):<3} {sum(oks) / max(1, len(oks)):6.1%}")
    if confusions:
        print("  confusions (expected -> suggested):")
        for (expected, got), n in confusions.most_common():
            print(f"    {expected} -> {got}: {n}")
    mean = statistics.mean(times_ms)
    p99 = _p(times_ms, 99)
    print(
        f"  one message at a time ({len(times_ms):,}): mean {mean:.2f} ms, p50 {_p(times_ms, 50):.2f} ms, "
        f"p99 {p99:.2f} ms, max {max(times_ms):.2f} ms"
    )
    print(f"  in one batch of {len(heldout)}: {batch_ms:.2f} ms a message")
    print(f"  a 100 KB body: median {statistics.median(huge_ms):.2f} ms")
    print(
        f"  target ≤ {TARGET_MS:.0f} ms a message on one core: {'met' if p99 <= TARGET_MS else 'MISSED'} (p99)"
    )
    if args.errors:
        for ok, s, row in zip(right, suggestions, heldout, strict=True):
            if not ok:
                print(
                    f"    [{row['motive']} -> {s.motive} {s.confidence:.2f}] {row['subject']!r} {row['body'][:100]!r}"
                )


if __name__ == "__main__":
    main()
