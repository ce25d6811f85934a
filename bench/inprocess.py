"""The pipeline alone, in this process, with and without worker processes: how fast it
empties a queue of stored reports, and where its CPU goes.

    python -m bench.inprocess -n 400 --workers 1 2 3
    taskset -c 0 python -m bench.inprocess -n 400 --workers 1 2

No IMAP, no SMTP, no sender: the reports are stored as intake stores them, and one
``Pipeline`` (with ``pipeline_workers`` - 1 worker processes) decides them. The figure
that matters for scaling is the pipeline thread's CPU per report with workers: what
stays in the one writer, so the most reports a second any number of cores can give is
1000 / that. Configurations run alternately (``--rounds``), as this machine's speed
swings; the median of each is printed, as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench import procs
from bench.reports import attachment_reports, small_reports
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.prepare import Job, load_keyed
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.settings_check import usable_cores
from gateway.store import open_db
from gateway.workers import Workers

ROOT = Path(__file__).resolve().parents[1]


def once(raws: list[bytes], pipeline_workers: int, folder: Path) -> dict:
    """One run: the reports stored, then decided; the clock runs from the first claim."""
    settings = Settings(data_dir=folder, rules_file=ROOT / "rules.yaml", smtp_intake_port=None)
    db = open_db(settings.database_path)
    ruleset, key = load_keyed(settings.rules_file)
    for raw in raws:
        accept(db, raw, "support", "bench")
    workers = Workers.for_settings(
        Settings(pipeline_workers=pipeline_workers, data_dir=folder), lambda r: key
    )
    pipeline = Pipeline(db, lambda: ruleset, Renderer("gw@trygghet-agder.example", "GW"),
                        settings, workers)  # fmt: skip
    if workers is not None:
        workers.start()
        for proc in workers._procs:  # every worker up and its rules loaded, before the clock
            proc.send(Job(0, None, dt.datetime.now(dt.UTC), None, ()))
            proc.receive(0, 60, {})
    pids = procs.descendants(os.getpid())
    before = {p: procs.cpu_seconds(p) for p in pids}
    wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    while pipeline.process_batch(50):
        pass
    wall, thread = time.perf_counter() - wall, time.thread_time() - thread
    process = time.process_time() - process
    used = sum(procs.cpu_seconds(p) - before[p] for p in pids)
    if workers is not None:
        workers.close()
    n = len(raws)
    return {
        "reports_per_s": round(n / wall, 1),
        "pipeline_thread_ms": round(thread * 1e3 / n, 2),
        "this_process_ms": round(process * 1e3 / n, 2),
        "worker_processes_ms": round(used * 1e3 / n, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=400, help="reports per run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, usable_cores()])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="1 MB attachments, not 5-20 KB")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the reports' truncated PDFs: one warning each
    raws = attachment_reports(args.n, 1_000_000) if args.large else small_reports(args.n, 11)
    runs: dict[int, list[dict]] = {w: [] for w in args.workers}
    for _round in range(args.rounds):
        for w in args.workers:
            with tempfile.TemporaryDirectory() as folder:
                runs[w].append(once(raws, w, Path(folder)))
    out = {"cores": usable_cores(), "n": args.n, "large": args.large, "rounds": args.rounds}
    for w, results in runs.items():
        out[f"pipeline_workers={w}"] = {
            k: statistics.median(x[k] for x in results) for k in results[0]
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
