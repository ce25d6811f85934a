"""Server settings: a frozen dataclass read from an optional TOML file and the environment.

Rules (who gets what) live in rules.yaml; everything about servers, paths and secrets
lives here. Shipped defaults run with no file at all: SQLite under ``var/``, the SMTP
intake on loopback, relays written to ``var/outbox-sent/`` when no smarthost is set.
Secrets are never written in a file we read as settings: they come from an environment
variable (``password_env``) or a file of their own (``password_file``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway import settings_check
from gateway.auth.config import (
    AuthConfigError,
    EntraSignIn,
    OAuthSettings,
    parse_entra_sign_in,
    parse_oauth,
)


class SettingsError(Exception):
    """A settings file or variable is wrong; the message names where and what."""


@dataclass(frozen=True)
class ImapMailbox:
    """One intake mailbox read over IMAP. ``mailbox`` is its name in rules.yaml."""

    mailbox: str
    host: str
    user: str
    port: int = 993
    security: str = "ssl"  # ssl (implicit TLS), starttls or none (loopback/tests only)
    password: str = field(default="", repr=False)
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    poll_interval: float = 60.0
    idle: bool = True
    batch_size: int = 50
    oauth: OAuthSettings | None = None  # XOAUTH2 (Microsoft 365, Google) instead of a password


@dataclass(frozen=True)
class Smarthost:
    """The SMTP server relays are handed to."""

    host: str
    port: int = 587
    security: str = "starttls"  # starttls, ssl or none
    user: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    oauth: OAuthSettings | None = None
    # Deliveries under way at once, each over its own connection (as an MTA sends to
    # one destination in parallel): the next message need not wait for the server's
    # answers to the last one. 1 sends strictly one after another.
    connections: int = 2


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database: Path | None = None  # default: data_dir / "gateway.db"
    rules_file: Path = Path("rules.yaml")
    templates_dir: Path | None = None  # a deployment's own templates, tried first
    gateway_address: str = "avviksgateway@trygghet-agder.example"
    gateway_name: str = "Avviksgatewayen"
    timezone: str = "Europe/Oslo"
    smtp_intake_host: str = "127.0.0.1"
    smtp_intake_port: int | None = 2525  # None: no SMTP intake
    lmtp_intake_port: int | None = None
    smarthost: Smarthost | None = None
    outbox_dir: Path | None = None  # default: data_dir / "outbox-sent"
    imap: tuple[ImapMailbox, ...] = ()
    send_receipts: bool = True
    log_format: str = "text"  # or "json": one JSON object per line, for the journal
    send_batch_size: int = 50
    max_message_bytes: int = 40 * 1024 * 1024  # larger: quarantined, the sender told
    loop_limit_per_hour: int = 10  # messages from one address into one case, then held
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 3600.0
    deliver_for_hours: float = 48.0
    # Monitoring: an alert when a mailbox cannot be read, or the outbox cannot deliver,
    # for this long (a refused login at once); checked every monitor_interval seconds.
    alert_after_minutes: float = 15.0
    monitor_interval: float = 30.0
    # The outbox-failing alert goes straight to this SMTP server (else the smarthost, on a
    # connection of its own), since the outbox itself is what is broken.
    alert_smarthost: Smarthost | None = None
    metrics_port: int | None = None  # Prometheus /metrics; None: off
    web_host: str = "127.0.0.1"
    web_port: int | None = None  # the web view (gateway/web); None: off
    web_base_url: str = ""  # as people reach it, e.g. https://avvik.example.org (sign-in links)
    web_link_minutes: float = 15.0  # how long a sign-in link is valid (once)
    web_session_hours: float = 8.0
    web_cookie_secure: bool = True  # False only for plain http that is not localhost
    web_trusted_proxies: int = 0  # 1 behind one reverse proxy (X-Forwarded-For)
    web_entra: EntraSignIn | None = None  # [web_entra]: sign-in with a work account
    metrics_host: str = "127.0.0.1"
    # CSV exports (stats, the monthly report): "semicolon" (semicolons and decimal commas,
    # as Excel with Norwegian settings reads them) or "comma" (plain, for programs)
    csv_style: str = "semicolon"
    # Processes that share the pipeline's work, the gateway's own included: beside it,
    # pipeline_workers - 1 worker processes parse and de-identify incoming messages
    # ahead of the pipeline thread (gateway/prepare.py). 1: all of it in the thread.
    pipeline_workers: int = field(default_factory=settings_check.usable_cores)
    source: Path | None = None  # the file read, so that secrets can be read again

    @property
    def database_path(self) -> Path:
        return self.database or self.data_dir / "gateway.db"

    @property
    def outbox_path(self) -> Path:
        return self.outbox_dir or self.data_dir / "outbox-sent"


_SECURITY = {"ssl", "starttls", "none"}


def _secret(section: dict[str, Any], where: str, environ: Mapping[str, str]) -> str:
    """Read a password from ``password_env`` or ``password_file``; a literal is refused."""
    if "password" in section:
        raise SettingsError(
            f"{where}: 'password' is not allowed in a settings file; "
            "use password_env (a variable name) or password_file (a path)"
        )
    if env := section.pop("password_env", None):
        if env not in environ:
            raise SettingsError(f"{where}: environment variable {env} (password_env) is not set")
        return environ[env]
    if path := section.pop("password_file", None):
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise SettingsError(f"{where}: cannot read password_file {path}: {exc}") from exc
    return ""


def _oauth(section: dict[str, Any], where: str, environ: Mapping[str, str]):
    """The OAuth2 keys of a section (auth = "oauth2-microsoft" ...), taken out of it."""
    try:
        return parse_oauth(section, where, environ)
    except AuthConfigError as exc:
        raise SettingsError(str(exc)) from exc


def _entra(section: dict[str, Any], where: str, environ: Mapping[str, str]) -> EntraSignIn:
    try:
        return parse_entra_sign_in(section, where, environ)
    except AuthConfigError as exc:
        raise SettingsError(str(exc)) from exc


def _token_cache(section, default: Path):
    """OAuth2 tokens are cached under data_dir (0700) unless token_cache says elsewhere."""
    if section.oauth is None or section.oauth.token_cache is not None:
        return section
    return dataclasses.replace(
        section, oauth=dataclasses.replace(section.oauth, token_cache=default)
    )


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Make a dataclass from a mapping, refusing keys the dataclass does not have."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise SettingsError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise SettingsError(f"{where}: {exc}") from exc


def _check_security(value: str, where: str) -> None:
    if value not in _SECURITY:
        raise SettingsError(f"{where}: security must be one of {sorted(_SECURITY)}, not {value!r}")


def _smarthost(section: dict[str, Any], where: str, environ: Mapping[str, str]) -> Smarthost:
    """A ``[smarthost]`` or ``[alert_smarthost]`` table, secrets taken from env or file."""
    section = dict(section)
    section["oauth"] = _oauth(section, where, environ)
    section["password"] = _secret(section, where, environ)
    _check_security(section.get("security", "starttls"), where)
    built = _build(Smarthost, section, where)
    if not 1 <= built.connections <= 20:
        raise SettingsError(f"{where}: connections must be 1 to 20, not {built.connections}")
    return built


def from_mapping(
    data: dict[str, Any], where: str = "settings", environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from a parsed TOML mapping (see README for the keys)."""
    environ = os.environ if environ is None else environ
    data = dict(data)
    for key in ("smarthost", "alert_smarthost"):
        if section := data.pop(key, None):
            data[key] = _smarthost(section, f"{where} [{key}]", environ)
    if section := data.pop("web_entra", None):
        data["web_entra"] = _entra(section, f"{where} [web_entra]", environ)
    boxes = []
    for i, box in enumerate(data.pop("imap", [])):
        box = dict(box)
        box["oauth"] = _oauth(box, f"{where} [[imap]] #{i + 1}", environ)
        box["password"] = _secret(box, f"{where} [[imap]] #{i + 1}", environ)
        _check_security(box.get("security", "ssl"), f"{where} [[imap]] #{i + 1}")
        boxes.append(_build(ImapMailbox, box, f"{where} [[imap]] #{i + 1}"))
    data_dir = Path(data.get("data_dir", "var"))
    boxes = [_token_cache(b, data_dir / "tokens" / f"{b.mailbox}.json") for b in boxes]
    for key in ("smarthost", "alert_smarthost"):
        if isinstance(data.get(key), Smarthost):
            data[key] = _token_cache(data[key], data_dir / "tokens" / f"{key}.json")
    data["imap"] = tuple(boxes)
    for key in ("data_dir", "database", "rules_file", "templates_dir", "outbox_dir"):
        if data.get(key) is not None:
            data[key] = Path(data[key])
    return _build(Settings, data, where)


# Environment variables that override single values, for containers and systemd units.
_ENV = {
    "AVVIK_DATA_DIR": ("data_dir", Path),
    "AVVIK_DATABASE": ("database", Path),
    "AVVIK_RULES": ("rules_file", Path),
    "AVVIK_TEMPLATES": ("templates_dir", Path),
    "AVVIK_OUTBOX_DIR": ("outbox_dir", Path),
    "AVVIK_SMTP_PORT": ("smtp_intake_port", int),
    "AVVIK_LMTP_PORT": ("lmtp_intake_port", int),
    "AVVIK_GATEWAY_ADDRESS": ("gateway_address", str),
    "AVVIK_LOG_FORMAT": ("log_format", str),
    "AVVIK_ALERT_AFTER_MINUTES": ("alert_after_minutes", float),
    "AVVIK_METRICS_PORT": ("metrics_port", int),
    "AVVIK_METRICS_HOST": ("metrics_host", str),
    "AVVIK_WEB_PORT": ("web_port", int),
    "AVVIK_WEB_HOST": ("web_host", str),
    "AVVIK_WEB_BASE_URL": ("web_base_url", str),
}
# AVVIK_SMARTHOST=host:port (with AVVIK_SMARTHOST_SECURITY), and the same for alerts.
_SMARTHOST_ENV = {"AVVIK_SMARTHOST": "smarthost", "AVVIK_ALERT_SMARTHOST": "alert_smarthost"}


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``path`` (or $AVVIK_SETTINGS, or ./gateway.toml if present) and env."""
    environ = os.environ if environ is None else environ
    if path is None and environ.get("AVVIK_SETTINGS"):
        path = Path(environ["AVVIK_SETTINGS"])
    elif path is None and Path("gateway.toml").exists():
        path = Path("gateway.toml")
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"{path}: cannot read settings: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: {exc}") from exc
    if problems := settings_check.raw_problems(
        data, str(path or "defaults"), (Settings, Smarthost, ImapMailbox)
    ):
        raise SettingsError("\n".join(problems))  # every one, not only the first
    settings = from_mapping(data, str(path or "defaults"), environ)
    overrides: dict[str, Any] = {}
    for var, (name, kind) in _ENV.items():
        if var in environ:
            try:
                overrides[name] = kind(environ[var])
            except ValueError:
                raise SettingsError(f"${var}: not a number: {environ[var]!r}") from None
    for var, key in _SMARTHOST_ENV.items():
        if host := environ.get(var):
            name, _, port = host.partition(":")
            security = environ.get(f"{var}_SECURITY", "starttls")
            _check_security(security, f"${var}_SECURITY")
            try:
                overrides[key] = Smarthost(name, int(port or 587), security=security)
            except ValueError as exc:
                raise SettingsError(f"${var}: {exc}") from exc
    settings = dataclasses.replace(settings, **overrides, source=Path(path) if path else None)
    where = str(path or "defaults")
    problems = settings_check.port_problems(settings, where)
    if problems := problems + settings_check.worker_problems(settings, where):
        raise SettingsError("\n".join(problems))
    _check_values(settings)
    return settings


def reread(settings: Settings) -> Settings | None:
    """The settings read again, with their secrets (``*_file``, ``*_env``): after a
    refused login, a secret the administrator has replaced is used without a restart.
    None when they cannot be read (the old ones stay in use)."""
    try:
        return load(settings.source) if settings.source else None
    except SettingsError:
        return None


def reread_mailbox(settings: Settings, mailbox: str) -> ImapMailbox | None:
    """One IMAP mailbox's settings read again (see ``reread``)."""
    fresh = reread(settings)
    return next((box for box in (fresh.imap if fresh else ()) if box.mailbox == mailbox), None)


def reread_smarthost(settings: Settings) -> Smarthost | None:
    """The smarthost's settings read again (see ``reread``)."""
    fresh = reread(settings)
    return fresh.smarthost if fresh else None


def _check_values(settings: Settings) -> None:
    """Values a type alone does not rule out."""
    if settings.log_format not in ("text", "json"):
        raise SettingsError(f"log_format must be 'text' or 'json', not {settings.log_format!r}")
    if settings.csv_style not in ("semicolon", "comma"):
        raise SettingsError(f"csv_style must be 'semicolon' or 'comma', not {settings.csv_style!r}")
    if settings.alert_after_minutes <= 0 or settings.monitor_interval <= 0:
        raise SettingsError("alert_after_minutes and monitor_interval must be more than 0")
