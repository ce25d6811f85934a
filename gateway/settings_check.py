"""Every problem of a settings file at once, as ``file: key: what is wrong``.

``settings.load`` used to stop at the first problem, and a value of the wrong type
(``smtp_intake_port = "25x"``) only failed later, deep in a server, with a traceback.
Like rules.yaml (``gateway check-rules``), the settings are checked whole before
anything starts: each key's type and the ports' range at every load; that data_dir
can be used and that each ``[[imap]] mailbox`` is named in rules.yaml when
``gateway serve`` starts (``start_problems``).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gateway.auth.config import OAuthSettings

# the sections built by settings.from_mapping, and the dataclass each becomes
SECTIONS = ("smarthost", "alert_smarthost")


def _extra() -> set[str]:
    """Keys a section takes besides its dataclass's fields: the sign-in keys, read and
    taken out before the section is built (settings._secret, auth.config.parse_oauth)."""
    secrets = ("password", "client_secret", "certificate_passphrase", "refresh_token")
    return {
        "auth",
        *(f.name for f in dataclasses.fields(OAuthSettings)),
        *(f"{name}{end}" for name in secrets for end in ("", "_env", "_file")),
    }


def raw_problems(
    data: Mapping[str, Any], where: str, classes: tuple[type, type, type]
) -> list[str]:
    """The problems of a parsed settings file: unknown keys and values of the wrong type.
    ``classes``: the dataclasses of the file, its [smarthost]s and its [[imap]]s."""
    settings, smarthost, imap = classes
    found = _table(data, settings, where, skip={*SECTIONS, "imap"})
    for key in SECTIONS:
        if key in data:
            found += _section(data[key], smarthost, f"{where}: [{key}]")
    boxes = data.get("imap", [])
    if not isinstance(boxes, list):
        return [*found, f"{where}: imap: must be a list of [[imap]] tables"]
    for i, box in enumerate(boxes):
        found += _section(box, imap, f"{where}: [[imap]] #{i + 1}")
    return found


def port_problems(settings: Any, where: str) -> list[str]:
    """Ports out of range (a whole number is not yet a port)."""
    found = []
    for name in ("smtp_intake_port", "lmtp_intake_port", "metrics_port", "web_port"):
        port = getattr(settings, name)
        if port is not None and not 1 <= port <= 65535:
            found.append(f"{where}: {name}: {port} is not a port (1 to 65535)")
    return found


MAX_PIPELINE_WORKERS = 256


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as ``taskset`` or a
    container's cpuset sets it): ``pipeline_workers``' default."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_problems(settings: Any, where: str) -> list[str]:
    """A ``pipeline_workers`` that is no number of processes."""
    workers = settings.pipeline_workers
    if not 1 <= workers <= MAX_PIPELINE_WORKERS:
        return [f"{where}: pipeline_workers: must be 1 to {MAX_PIPELINE_WORKERS}, not {workers}"]
    return []


def start_problems(settings: Any, mailboxes: Mapping[str, str]) -> list[str]:
    """What only the machine that starts the gateway can tell: a data_dir that is not a
    writable folder (nor can be made one), and [[imap]] mailboxes rules.yaml does not
    name. Checked by ``gateway serve``, not at every load: a settings file may be
    checked elsewhere."""
    where = str(settings.source or "settings")
    found = []
    if why := unusable_folder(settings.data_dir):
        found.append(f"{where}: data_dir: {settings.data_dir} {why}")
    return [*found, *mailbox_problems(settings.imap, mailboxes, where)]


def mailbox_problems(boxes: Iterable[Any], mailboxes: Mapping[str, str], where: str) -> list[str]:
    """``[[imap]] mailbox`` names that rules.yaml's ``mailboxes:`` does not have."""
    known = ", ".join(sorted(mailboxes)) or "none"
    return [
        f"{where}: [[imap]] #{i + 1}: mailbox {box.mailbox!r} is not named in rules.yaml "
        f"(mailboxes: {known})"
        for i, box in enumerate(boxes)
        if box.mailbox not in mailboxes
    ]


def unusable_folder(path: Path) -> str | None:
    """Why ``path`` cannot hold the gateway's data, or None: the folder, or the nearest
    folder above it that exists, must be writable (the gateway makes the rest)."""
    probe = Path(path)
    while not probe.exists():
        if probe.parent == probe:
            return "cannot be created"
        probe = probe.parent
    if not probe.is_dir():
        return (
            "is not a folder" if probe == Path(path) else f"cannot be created ({probe} is a file)"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        return "is not writable" if probe == Path(path) else f"cannot be created in {probe}"
    return None


def _section(value: Any, cls: type, where: str) -> list[str]:
    if not isinstance(value, Mapping):
        return [f"{where}: must be a table"]
    return _table(value, cls, where, skip=_extra())


def _table(data: Mapping[str, Any], cls: type, where: str, skip: set[str]) -> list[str]:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)} - {"source", "oauth", "password"}
    found = []
    for key, value in data.items():
        if key in skip:
            continue
        if key not in names:
            found.append(f"{where}: {key}: unknown setting")
        elif expected := _wrong_type(value, hints[key]):
            found.append(f"{where}: {key}: must be {expected}, not {value!r}")
    return found


def _wrong_type(value: Any, hint: Any) -> str | None:
    """What ``value`` should have been, or None when it fits ``hint``."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    options = tuple(o for o in options if o is not type(None))
    for kind in options:
        if kind is bool and isinstance(value, bool):
            return None
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return None
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return None
        if kind in (str, Path) and isinstance(value, str):
            return None
        if typing.get_origin(kind) is tuple or kind not in (bool, int, float, str, Path):
            return None  # a table or list: its own check
    return " or ".join(_WORDS.get(k, k.__name__) for k in options)


_WORDS = {
    int: "a whole number",
    float: "a number",
    str: "text",
    Path: "a path",
    bool: "true or false",
}
