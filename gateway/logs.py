"""Logging for the daemon: plain lines for a terminal, JSON lines for the journal.

``AVVIK_LOG_FORMAT=json`` (or ``log_format = "json"`` in the settings) writes one JSON
object per line: time, level, logger, message, and the exception if any, so a log
collector needs no parsing rules. What is logged never includes message bodies or
subjects; see the README's privacy section.
"""

from __future__ import annotations

import datetime as dt
import json
import logging


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup(log_format: str = "text", verbose: bool = False) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # aiosmtpd logs every connection (and its own start-up probe) at INFO: too chatty.
    logging.getLogger("mail.log").setLevel(logging.DEBUG if verbose else logging.WARNING)
