"""Figures of several deployments side by side: ``gateway stats --across DB ...``.

An association-wide view (Höglandet's figures for the whole association) or a
comparison across associations (the Swedish "Lex Heller" practice) needs the same
figures from several case logs. Each log is opened read-only and only its figures
are read (``store.stats.open_figures_only``): no subject, text, address or reference
ever leaves a deployment. Each row carries the deployment's name first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from gateway.rules.base import RuleSet
from gateway.stats import Row, figures
from gateway.store.stats import open_figures_only

DEPLOYMENT = "deployment"


def deployment_name(path: Path) -> str:
    """What a case log is called in the table: its folder for the usual gateway.db
    (``/var/lib/avviksgateway/hoglandet/gateway.db`` is ``hoglandet``), else its stem."""
    path = Path(path)
    return path.resolve().parent.name if path.name == "gateway.db" else path.stem


def across(
    paths: Sequence[Path],
    ruleset: RuleSet,
    start: dt.date,
    end: dt.date,
    by: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> list[Row]:
    """The figures of each case log in ``paths``, in the order given, each row keyed by
    its deployment first. Working hours are counted in ``ruleset``'s calendar, so the
    columns mean the same for every deployment."""
    rows: list[Row] = []
    for path in paths:
        db = open_figures_only(path)
        try:
            for row in figures(db, ruleset, start, end, by, now):
                key = {DEPLOYMENT: deployment_name(path), **row.key}
                rows.append(dataclasses.replace(row, key=key))
        finally:
            db.close()
    return rows
