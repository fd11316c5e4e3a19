"""The load test (issue 18, section 4): `serve --production` on PostgreSQL with N seeded persons, loaded by locust.

    python -m bench.load.run                                   # 1,000,000 persons; 1, 2 and 4 web processes
    python -m bench.load.run --persons 100000 --web 2 --step-seconds 60
    python -m bench.load.run --users 10,20,40 --hold-seconds 600   # then 10 minutes at the best step

1. A throwaway PostgreSQL cluster (Debian's `pg_virtualenv -t`: a temporary directory, removed at the end) with
   the memory a server would give it and `pg_stat_statements`.
2. `omniguichet migrate`, then `omniguichet seed --persons N` (the demo's seed: COPY on PostgreSQL; online
   services, document baskets, appointment sites, documents), then `VACUUM ANALYZE`.
3. Logins for a sample of account holders and for every caisse's agent (`bench.load.credentials`: written in the
   database, nothing added to the server).
4. For each number of web processes W: `omniguichet serve --production --workers W` (gunicorn, whitenoise,
   the production settings, one task worker), a warm-up, then locust headless (`bench/load/locustfile.py`, its
   mix) at increasing numbers of users, each acting once a second on average at random instants (Poisson
   arrivals, `bench/load/pacing.py`), for `--step-seconds` each. A step passes when its p99 is at most 300 ms with
   no error; the ladder stops at the second step that fails. The best sustained rate is the highest passing
   step's.
5. Around each step: the CPU time of each process tree (`/proc/<pid>/stat`: gunicorn, task workers, the
   PostgreSQL postmaster and its backends, locust) and of the whole machine (`/proc/stat`), and the load
   average; the slowest endpoints by p99 and the database's heaviest statements (pg_stat_statements).
6. With `--hold-seconds`: the best step of the largest W again, for that long.

Everything started is stopped at the end (gunicorn, workers, locust, the cluster), also on Ctrl-C or an error.
The machine is shared: the "other" column is CPU used by processes that are not the test's, during the step.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENTRY = [sys.executable, "-m", "omniguichet.cli"]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
P99_TARGET_MS = 300.0
PG_OPTIONS = [
    "shared_buffers=2GB", "effective_cache_size=8GB", "max_connections=200", "max_wal_size=8GB",
    "checkpoint_timeout=30min", "shared_preload_libraries=pg_stat_statements",
]  # fmt: skip
TICKS = os.sysconf("SC_CLK_TCK")


# --- command line -----------------------------------------------------------------------------------------------


def _positive_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a comma-separated list of whole numbers, e.g. 1,2,4"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: numbers of at least 1, e.g. 1,2,4")
    return values


def _at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {minimum}")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=_at_least(1000), default=1_000_000, help="persons seeded")
    parser.add_argument("--web", type=_positive_list, default=[1, 2, 4], help="gunicorn workers, e.g. 1,2,4")
    parser.add_argument(
        "--users", type=_positive_list, default=[5, 10, 20, 30, 40, 55, 70, 90, 120],
        help="the ladder of simulated users (each acts once a second)",
    )  # fmt: skip
    parser.add_argument("--step-seconds", type=_at_least(10), default=60)
    parser.add_argument(
        "--hold-seconds", type=_at_least(0), default=0, help="then the best step for this long"
    )
    parser.add_argument("--insured", type=_at_least(10), default=3000, help="persons given a login")
    parser.add_argument("--task-workers", type=_at_least(1), default=1)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- CPU accounting from /proc ----------------------------------------------------------------------------------


def _processes() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds used (user + system), command line)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = (
                Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[0] is the state (field 3); utime, stime, cutime, cstime are fields 14-17.
        ticks = sum(int(v) for v in fields[11:15])
        out[int(entry)] = (int(fields[1]), ticks / TICKS, cmdline)
    return out


def _tree(processes: dict[int, tuple[int, float, str]], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu, _cmd) in processes.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in processes and pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICKS


@dataclass
class CpuSample:
    groups: dict[str, float]
    machine: float
    at: float


def sample_cpu(roots: dict[str, int], split: dict[str, str] | None = None) -> CpuSample:
    """CPU seconds of each named process tree. `split` moves the processes of a tree whose command line holds a
    marker into another group (the serve tree holds gunicorn and the task workers)."""
    processes = _processes()
    groups: dict[str, float] = {}
    for name, root in roots.items():
        for pid in _tree(processes, root):
            cmd = processes[pid][2]
            target = name
            for marker, other in (split or {}).items():
                if marker in cmd:
                    target = other
            groups[target] = groups.get(target, 0.0) + processes[pid][1]
    return CpuSample(groups=groups, machine=_machine_busy(), at=time.monotonic())


def cpu_split(before: CpuSample, after: CpuSample) -> dict[str, float]:
    """Cores used by each group over the interval, and by the rest of the machine ("other")."""
    seconds = after.at - before.at
    out = {
        name: max(0.0, after.groups.get(name, 0.0) - before.groups.get(name, 0.0)) / seconds
        for name in after.groups
    }
    out["other"] = max(0.0, (after.machine - before.machine) / seconds - sum(out.values()))
    return out


# --- the server and locust -----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, process: subprocess.Popen, seconds: float = 600) -> None:
    """Until the URL answers 200 (start-up runs collectstatic and the checks: slow on a busy machine)."""
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read()[:300]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(1)
    raise SystemExit(f"no answer from {url} within {seconds:.0f} s (last: {last})")


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    """Stop a process we started and its group (it was started in a session of its own)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@dataclass
class Step:
    web: int
    users: int
    seconds: int
    requests: int = 0
    failures: int = 0
    rate: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cpu: dict[str, float] = field(default_factory=dict)
    slowest: list[tuple[str, int, float, float]] = field(default_factory=list)
    statements: list[tuple[str, int, float, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.requests > 0 and self.failures == 0 and self.p99 <= P99_TARGET_MS


def _read_stats(prefix: Path, step: Step) -> None:
    with open(f"{prefix}_stats.csv") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        count = int(row["Request Count"])
        if row["Name"] == "Aggregated":
            step.requests, step.failures = count, int(row["Failure Count"])
            step.rate = float(row["Requests/s"])
            step.p50, step.p95, step.p99 = (float(row[k] or 0) for k in ("50%", "95%", "99%"))
        elif count:
            step.slowest.append((f"{row['Type']} {row['Name']}", count, float(row["50%"]), float(row["99%"])))
    step.slowest.sort(key=lambda r: -r[3])
    del step.slowest[6:]
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        with open(failures) as f:
            step.errors = [
                f"{r['Method']} {r['Name']}: {r['Error']} x{r['Occurrences']}" for r in csv.DictReader(f)
            ]


def _statements(database_url: str, reset: bool = False) -> list[tuple[str, int, float, float]]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        if reset:
            conn.execute("SELECT pg_stat_statements_reset()")
            return []
        rows = conn.execute(
            "SELECT query, calls, total_exec_time, mean_exec_time FROM pg_stat_statements "
            "WHERE query NOT ILIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 5"
        ).fetchall()
    return [(" ".join(q.split())[:110], calls, total, mean) for q, calls, total, mean in rows]


def run_step(
    *, base: str, users: int, seconds: int, web: int, env: dict[str, str], roots: dict[str, int],
    database_url: str, work: Path, quiet: bool = False,
) -> Step:  # fmt: skip
    step = Step(web=web, users=users, seconds=seconds)
    prefix = work / f"w{web}-u{users}-{int(time.time())}"
    spawn = max(1.0, users / 5)  # every user within about 5 s; the stats are reset once they all run
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
        "-u", str(users), "-r", f"{spawn:g}", "-t", f"{seconds + 5}s", "--reset-stats", "--csv", str(prefix),
        "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10",
    ]  # fmt: skip
    _statements(database_url, reset=True)
    with open(f"{prefix}.log", "w") as log:
        locust = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
        )
    try:
        time.sleep(6)  # spawning
        before = sample_cpu({**roots, "locust": locust.pid}, split={" worker": "task workers"})
        load_before = os.getloadavg()
        time.sleep(seconds - 1)
        after = sample_cpu({**roots, "locust": locust.pid}, split={" worker": "task workers"})
        load_after = os.getloadavg()
        locust.wait(timeout=seconds + 120)
    finally:
        _stop(locust)
    step.cpu = cpu_split(before, after)
    step.load = tuple(round((a + b) / 2, 2) for a, b in zip(load_before, load_after, strict=True))  # type: ignore[assignment]
    _read_stats(prefix, step)
    step.statements = _statements(database_url)
    if not quiet:
        _print_step(step)
    return step


def _print_header() -> None:
    print(
        f"{'web':>3} {'users':>5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>6} "
        f"{'gunicorn':>8} {'postgres':>8} {'tasks':>6} {'locust':>6} {'other':>6} {'load1':>5}  verdict",
        flush=True,
    )


def _print_step(step: Step) -> None:
    c = step.cpu
    print(
        f"{step.web:>3} {step.users:>5} {step.rate:>7.1f} {step.p50:>6.0f} {step.p95:>6.0f} {step.p99:>6.0f} "
        f"{step.failures:>6} {c.get('web', 0):>8.2f} {c.get('postgres', 0):>8.2f} {c.get('task workers', 0):>6.2f} "
        f"{c.get('locust', 0):>6.2f} {c.get('other', 0):>6.2f} {step.load[0]:>5.2f}  "
        f"{'pass' if step.passed else 'FAIL'}",
        flush=True,
    )
    for error in step.errors[:5]:
        print(f"        error: {error}", flush=True)


def _postmaster_pid(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        data = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
    return int(Path(data, "postmaster.pid").read_text().split("\n", 1)[0])


# --- the run ---------------------------------------------------------------------------------------------------


def inside(args: argparse.Namespace) -> None:
    """Runs inside pg_virtualenv (PG* variables set): seed, then the ladders."""
    database_url = (
        f"postgres://{os.environ['PGUSER']}:{os.environ['PGPASSWORD']}@{os.environ['PGHOST']}:"
        f"{os.environ.get('PGPORT', '5432')}/{os.environ['PGDATABASE']}"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DATABASE_URL=database_url, OMNIGUICHET_VAR_DIR=str(work / "var"), SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1", DJANGO_SETTINGS_MODULE="omniguichet.settings", BENCH_LOAD_DATABASE="1",
        OMNIGUICHET_EXPORT_EVERY_SECONDS="0", LOAD_CREDENTIALS=str(work / "credentials.json"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH", "")])),
    )  # fmt: skip
    results: dict = {"persons": args.persons, "steps": [], "hold": None}
    try:
        subprocess.run(["psql", "-qc", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"], check=True)
        started = time.perf_counter()
        subprocess.run([*ENTRY, "migrate", "--noinput", "-v", "0"], env=env, check=True)
        subprocess.run(
            [*ENTRY, "seed", "--persons", str(args.persons), "--no-progress"], env=env, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(["psql", "-qc", "VACUUM ANALYZE"], check=True)
        results["seed_seconds"] = time.perf_counter() - started
        print(f"seeded {args.persons:,} persons in {results['seed_seconds']:.0f} s (migrate, seed, analyze)")
        minted = subprocess.run(
            [sys.executable, "-m", "bench.load.credentials", env["LOAD_CREDENTIALS"], str(args.insured), "200"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        print(f"logins: {minted.strip()}")
        size = subprocess.run(
            ["psql", "-Atc", "SELECT pg_size_pretty(pg_database_size(current_database()))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        print(f"database size {size}; {os.cpu_count()} cores; load average now {os.getloadavg()[0]:.2f}")
        results["database_size"] = size
        postmaster = _postmaster_pid(database_url)
        base = f"http://127.0.0.1:{port}"
        _print_header()
        for web in args.web:
            best = _ladder(args, web, base, port, env, postmaster, database_url, work, results)
            if args.hold_seconds and web == args.web[-1] and best is not None:
                print(
                    f"hold: {best.users} users with {web} web processes for {args.hold_seconds} s", flush=True
                )
                results["hold"] = asdict(
                    _with_server(
                        web, port, env, args, base,
                        lambda roots, best=best, web=web: run_step(
                            base=base, users=best.users, seconds=args.hold_seconds, web=web, env=env,
                            roots={**roots, "postgres": postmaster}, database_url=database_url, work=work,
                        ),
                    )
                )  # fmt: skip
        _summary(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _with_server(web, port, env, args, base, body):
    server = subprocess.Popen(
        [*ENTRY, "serve", "--production", "--workers", str(web), "--task-workers", str(args.task_workers),
         "--host", "127.0.0.1", "--port", str(port), "--mailin-port", "0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_ready(f"{base}/readyz", server)
        return body({"web": server.pid})
    finally:
        _stop(server)


def _ladder(args, web, base, port, env, postmaster, database_url, work, results) -> Step | None:
    def body(roots: dict[str, int]) -> Step | None:
        roots = {**roots, "postgres": postmaster}
        # Warm-up: every gunicorn worker imports, connects and fills its caches; not counted.
        run_step(
            base=base, users=max(2, args.users[0]), seconds=15, web=web, env=env, roots=roots,
            database_url=database_url, work=work, quiet=True,
        )  # fmt: skip
        best, failed = None, 0
        for users in args.users:
            step = run_step(
                base=base, users=users, seconds=args.step_seconds, web=web, env=env, roots=roots,
                database_url=database_url, work=work,
            )  # fmt: skip
            results["steps"].append(asdict(step))
            if step.passed:
                best = step if best is None or step.rate > best.rate else best
            else:
                failed += 1
                if failed == 2:
                    break
        return best

    return _with_server(web, port, env, args, base, body)


def cpu_per_request(step: Step) -> dict[str, float]:
    """Milliseconds of CPU each tier spent per request during the step: far steadier than the rate on a shared
    machine (a request waiting for a core costs latency, not CPU)."""
    return {
        k: step.cpu.get(k, 0.0) * 1000 / max(step.rate, 1e-9) for k in ("web", "postgres", "task workers")
    }


def _summary(results: dict) -> None:
    steps = [Step(**{**s, "load": tuple(s["load"])}) for s in results["steps"]]
    print("\nbest sustained rate (p99 <= 300 ms, 0 errors) per number of web processes:")
    for web in sorted({s.web for s in steps}):
        passing = [s for s in steps if s.web == web and s.passed]
        if not passing:
            print(f"  {web} web: no step passed")
            continue
        best = max(passing, key=lambda s: s.rate)
        c = best.cpu
        print(
            f"  {web} web: {best.rate:.1f} req/s ({best.users} users, p99 {best.p99:.0f} ms); cores used: "
            f"gunicorn {c.get('web', 0):.2f}, postgres {c.get('postgres', 0):.2f}, "
            f"task workers {c.get('task workers', 0):.2f}, locust {c.get('locust', 0):.2f}, "
            f"others' processes {c.get('other', 0):.2f}; load average {best.load[0]:.2f}"
        )
        per = cpu_per_request(best)
        print(
            f"      CPU per request: gunicorn {per['web']:.1f} ms, postgres {per['postgres']:.1f} ms, task workers "
            f"{per['task workers']:.1f} ms; {os.cpu_count()} idle cores would carry about "
            f"{(os.cpu_count() or 1) * 1000 / max(0.1, sum(per.values())):.0f} req/s at this CPU cost"
        )
        for name, count, p50, p99 in best.slowest[:4]:
            print(f"      slowest: {name}  n={count}  p50 {p50:.0f} ms  p99 {p99:.0f} ms")
        for query, calls, total, mean in best.statements[:3]:
            print(f"      database: {total / 1000:.1f} s in {calls} calls ({mean:.2f} ms each): {query}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # A plain `kill` stops the run as Ctrl-C does, through the `finally` blocks that stop what it started (a run
    # started in the background ignores SIGINT).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.inside:
        inside(args)
        return
    if not shutil.which("pg_virtualenv"):
        raise SystemExit("pg_virtualenv is missing: apt-get install postgresql postgresql-common")
    options = [item for option in PG_OPTIONS for item in ("-o", option)]
    command = ["pg_virtualenv", "-t", *options, sys.executable, "-m", "bench.load.run", "--inside",
               *(argv if argv is not None else sys.argv[1:])]  # fmt: skip
    wrapper = subprocess.Popen(command)
    try:
        raise SystemExit(wrapper.wait())
    except KeyboardInterrupt:
        # Stop the run inside pg_virtualenv: it stops the server and locust; pg_virtualenv then drops the cluster.
        processes = _processes()
        for pid in _tree(processes, wrapper.pid):
            if "--inside" in processes[pid][2]:
                os.kill(pid, signal.SIGTERM)
        raise SystemExit(wrapper.wait()) from None


if __name__ == "__main__":
    main()
