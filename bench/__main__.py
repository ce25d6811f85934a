"""``python -m bench``: the command line of the benchmark (see bench/run.py for what it
measures and bench/README.md for how)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.harness import ROOT, BenchError
from bench.profile import find_py_spy
from bench.run import RESULTS, Config, run, say
from bench.run import __doc__ as DESCRIPTION
from bench.table import table


def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: N=20 small, 5 of 1 MB, 5 trials, no big message",
    )
    parser.add_argument(
        "-n",
        "--n-small",
        type=int,
        help="reports of 5-20 KB (default 1000; 20 or fewer: --quick for the rest)",
    )
    parser.add_argument("--n-large", type=int, help="reports with a 1 MB attachment (default 100)")
    parser.add_argument("--trials", type=int, help="pickup latency trials (default 50)")
    parser.add_argument(
        "--big-mb",
        type=float,
        help="size of the single big message, 0 to skip (default 25; --quick: 0)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="ceiling and gateway alternately this many times per throughput case; the "
        "round with the median ratio is reported (default 3; --quick: 1)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated reports")
    parser.add_argument(
        "--gateway-src", default=str(ROOT), help="checkout whose gateway/ runs (default: this one)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the gateway during the 5-20 KB run"
    )
    parser.add_argument(
        "--output", default=str(RESULTS / "latest.json"), help="where the JSON goes"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory (logs, databases)"
    )
    parser.add_argument(
        "--pipeline-workers", type=int, help="the gateway's pipeline_workers (default: its own)"
    )
    args = parser.parse_args(argv)
    quick = args.quick or (args.n_small is not None and 0 < args.n_small <= 20)
    n_small = args.n_small if args.n_small is not None else (20 if quick else 1000)
    return Config(
        n_small=n_small,
        n_large=args.n_large if args.n_large is not None else (5 if quick else 100),
        trials=args.trials if args.trials is not None else (5 if quick else 50),
        big_bytes=int((args.big_mb if args.big_mb is not None else (0 if quick else 25)) * 1e6),
        rounds=max(1, args.rounds if args.rounds is not None else (1 if quick else 3)),
        seed=args.seed,
        gateway_src=args.gateway_src,
        profile=args.profile,
        output=args.output,
        keep=args.keep,
        pipeline_workers=args.pipeline_workers,
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    if config.profile and find_py_spy() is None:
        say("bench: --profile needs py-spy: .venv/bin/pip install py-spy")
        return 2
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop Dovecot and the gateway.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = run(config)
    except BenchError as exc:
        say(f"bench: FAILED: {exc}")
        return 1
    print(table(result))
    output = Path(config.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    say(f"bench: results written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
