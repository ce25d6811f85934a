"""The sections of rules.yaml that are not rules: parties, service hours and privacy."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from gateway.hours import WEEKDAYS, ServiceHours
from gateway.i18n import phrases
from gateway.rules.base import PrivacyPolicy
from gateway.rules.helpdesk import parse_helpdesk
from gateway.rules.parties import MUNICIPALITY, Party
from gateway.rules.yaml_lines import LineDict, Problems
from gateway.rules.yaml_lines import line_of as _line

_ADDRESS = re.compile(r"^(\*|[^@\s*]+)@[a-z0-9.-]+\.[a-z0-9-]+$")


def _addresses(value: Any, where: str, line: int, problems: Problems) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        addr = str(v).strip().lower()
        if not _ADDRESS.match(addr):
            problems.add(line, f"{where}: {v!r} is not an address or *@domain")
        out.append(addr)
    return tuple(out)


def parse_parties(data: LineDict, problems: Problems, language: str) -> list[Party]:
    parties = []
    for key, spec in (data.get("parties") or {}).items():
        line = _line(data.get("parties"), key)
        if not isinstance(spec, dict) or ":" in str(key) or key == MUNICIPALITY:
            problems.add(line, f"party {key!r}: expected a mapping with name/senders/receivers")
            continue
        if unknown := set(spec) - {"name", "senders", "receivers", "helpdesk"}:
            problems.add(line, f"party {key!r}: unknown key(s) {', '.join(sorted(unknown))}")
        senders = _addresses(
            spec.get("senders", []), f"party {key!r} senders", _line(spec, "senders"), problems
        )
        receivers = _addresses(
            spec.get("receivers", []),
            f"party {key!r} receivers",
            _line(spec, "receivers"),
            problems,
        )
        if any(r.startswith("*@") for r in receivers):
            problems.add(line, f"party {key!r}: a receiver must be one address, not *@domain")
        desk = parse_helpdesk(spec.get("helpdesk"), str(key), receivers, problems)
        parties.append(Party(str(key), str(spec.get("name", key)), senders, receivers, desk))
    spec = data.get("municipalities") or {}
    line = _line(spec)
    names = spec.get("names") or {}
    for pattern in ("senders", "receivers"):
        if names and "{slug}" not in str(spec.get(pattern, "")):
            problems.add(line, f"municipalities: {pattern} must contain {{slug}}")
    for name, slug in names.items():
        fill = {"slug": str(slug).lower()}
        senders = _addresses(str(spec.get("senders", "")).format(**fill), "senders", line, problems)
        receivers = _addresses(str(spec.get("receivers", "")).format(**fill), "", line, problems)
        shown = phrases(language)("labels.municipality", name=name)
        parties.append(Party(f"{MUNICIPALITY}:{name}", shown, senders, receivers))
    return parties


def parse_hours(spec: Any, problems: Problems) -> ServiceHours:
    spec = spec or {}
    values: dict[str, Any] = {}
    checks = {
        "timezone": lambda v: ZoneInfo(str(v)) and str(v),
        "days": lambda v: _days(v),
        "start": lambda v: dt.time.fromisoformat(str(v)),
        "end": lambda v: dt.time.fromisoformat(str(v)),
        "holidays": _country,
        "holiday_categories": _categories,
    }
    for key, value in spec.items():
        if key not in checks:
            problems.add(_line(spec, key), f"service_hours: unknown key {key!r}")
            continue
        try:
            field = {"holidays": "country", "holiday_categories": "categories"}.get(key, key)
            values[field] = checks[key](value)
        except Exception as exc:
            problems.add(_line(spec, key), f"service_hours: {key}: {exc}")
    hours = ServiceHours(**values)
    try:
        hours.holiday(dt.date(2000, 1, 1))  # an unknown category fails here, with its line
    except ValueError as exc:
        problems.add(_line(spec, "holiday_categories"), f"service_hours: {exc}")
        return ServiceHours(**{k: v for k, v in values.items() if k != "categories"})
    return hours


def _days(value: Any) -> tuple[str, ...]:
    days = tuple(str(d).lower()[:3] for d in value)
    if bad := [d for d in days if d not in WEEKDAYS]:
        raise ValueError(f"unknown day(s) {bad}")
    return days


def _categories(value: Any) -> tuple[str, ...]:
    """``holiday_categories``: which of the holidays package's categories count as days
    off, checked against the country's when the section is read (see _checked_hours)."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ValueError("expected a list such as [public, de_facto]")
    return tuple(values)


def _country(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError('holidays must be a country code in quotes, such as "NO"')
    holidays.country_holidays(value)  # raises on an unknown country
    return value


def _confidential(key: str, value: Any, parties: set[str], problems: Problems, line):
    """privacy: confidential_readers (party keys or addresses) or confidential_label."""
    if key == "confidential_label":
        if not isinstance(value, str):
            problems.add(line, f"privacy: {key}: a text")
        return str(value or "")
    names = [value] if isinstance(value, str) else list(value or [])
    for name in names:
        if "@" not in str(name) and name not in parties:
            problems.add(line, f"privacy: {key}: unknown party {name!r}")
    return tuple(str(n).lower() if "@" in str(n) else str(n) for n in names)


def parse_privacy(spec: Any, parties: set[str], problems: Problems) -> PrivacyPolicy:
    if not spec:
        return PrivacyPolicy()
    if not isinstance(spec, dict):
        problems.add(_line(spec), "privacy: expected a mapping")
        return PrivacyPolicy()
    values: dict[str, Any] = {}
    for key, value in spec.items():
        where = f"privacy: {key}"
        if key == "redact_for":
            names = [value] if isinstance(value, str) else list(value or [])
            if "municipality" in names:  # every municipality's receivers (hoglandet)
                names = [n for n in names if n != "municipality"]
                names += sorted(p for p in parties if p.startswith("municipality:"))
            for name in names:
                if name not in parties:
                    problems.add(_line(spec, key), f"{where}: unknown party {name!r}")
            values[key] = frozenset(str(n) for n in names)
        elif key in ("phone_numbers", "email_addresses", "keep_original"):
            if not isinstance(value, bool):
                problems.add(_line(spec, key), f"{where}: true or false")
            values[key] = bool(value)
        elif key == "unreadable_attachments":
            if value not in ("hold", "relay"):
                problems.add(_line(spec, key), f"{where}: hold or relay")
            values[key] = value if value in ("hold", "relay") else "hold"
        elif key in ("confidential_readers", "confidential_label"):
            values[key] = _confidential(key, value, parties, problems, _line(spec, key))
        elif key == "retention_days":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.add(_line(spec, key), f"{where}: a whole number of days")
            values[key] = value
        else:
            problems.add(_line(spec, key), f"privacy: unknown key {key!r}")
    return PrivacyPolicy(
        **{k: v for k, v in values.items() if k in PrivacyPolicy.__dataclass_fields__}
    )
