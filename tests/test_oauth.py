"""OAuth2 sign-in against real servers on loopback: MSAL and google-auth talk to the local
token server (tests/oauth_server.py), Dovecot checks tokens there, aiosmtpd takes XOAUTH2.
Nothing of Microsoft's or Google's libraries is mocked."""

from __future__ import annotations

import base64
import json
import os
import smtplib
import stat
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from oauth_server import OAuthServer, rsa_key_pem, self_signed_pem
from servers import LOOPBACK, Dovecot, free_port

from gateway.auth import (
    AuthConfigError,
    AuthError,
    GoogleProvider,
    MicrosoftProvider,
    build_provider,
    imap_login,
    parse_oauth,
    smtp_login,
    xoauth2_raw,
    xoauth2_string,
)

USER = "support"


@pytest.fixture(scope="module")
def oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    with OAuthServer(tmp_path_factory.mktemp("oauth")) as server:
        yield server


@pytest.fixture(autouse=True)
def _lifetime(oauth: OAuthServer) -> Iterator[None]:
    oauth.lifetime = 3600
    yield
    oauth.lifetime = 3600


@pytest.fixture(scope="module")
def imap(oauth: OAuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    from conftest import dovecot_available

    if not dovecot_available():
        pytest.skip("dovecot is not installed")
    try:
        server = Dovecot(
            tmp_path_factory.mktemp("dovecot"),
            {USER: "secret"},
            oauth2_introspection_url=oauth.introspection_url,
        )
    except NotImplementedError as exc:
        pytest.skip(str(exc))
    with server:
        yield server


def imap_accepts(server: Dovecot, token: str, user: str = USER) -> bool:
    """True when Dovecot lets ``user`` in with ``token`` (and can open the mailbox)."""
    client = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
    try:
        client.oauth2_login(user, token)
        client.list_folders()
        return True
    except LoginError:
        return False
    finally:
        client.shutdown()


def ms_app(oauth: OAuthServer, secret: str | None = "first-s3cret-value") -> tuple[str, str]:
    """A fresh Entra app registration (tenant id, client id) whose tokens open USER."""
    tenant, client = f"tenant-{uuid.uuid4().hex[:8]}", f"client-{uuid.uuid4().hex[:8]}"
    oauth.add_microsoft_app(tenant, client, USER, secret=secret)
    return tenant, client


def ms_provider(
    oauth: OAuthServer, tenant: str, client: str, **kwargs: object
) -> MicrosoftProvider:
    kwargs.setdefault("client_secret", "first-s3cret-value")
    return MicrosoftProvider(
        tenant, client, authority_url=oauth.authority_url, verify=oauth.ca_file, **kwargs
    )


def requests_by(oauth: OAuthServer, client: str) -> int:
    return sum(1 for _kind, who in oauth.token_requests if who == client)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_microsoft_token_cached_0600_reused_then_refreshed(oauth, imap, tmp_path):
    oauth.lifetime = 2
    tenant, client = ms_app(oauth)
    cache = tmp_path / "tokens" / "support.json"
    provider = ms_provider(oauth, tenant, client, cache_path=cache, refresh_margin=0)
    first = provider.token()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    saved = json.loads(cache.read_text())
    assert saved["access_token"] == first and saved["expires_at"] > time.time()
    assert "first-s3cret-value" not in cache.read_text()
    assert provider.token() == first
    # A restarted gateway (a new provider) takes the token from disk, not the server.
    again = ms_provider(oauth, tenant, client, cache_path=cache, refresh_margin=0)
    assert again.token() == first
    assert requests_by(oauth, client) == 1
    assert imap_accepts(imap, first)

    wait_until(lambda: time.time() >= saved["expires_at"])
    assert not imap_accepts(imap, first)  # expired: Dovecot's introspection says inactive
    second = provider.token()
    assert second != first and requests_by(oauth, client) == 2
    assert imap_accepts(imap, second)


def test_default_margin_renews_a_token_a_minute_before_expiry(oauth, tmp_path):
    oauth.lifetime = 30  # under the 60 s margin: never served from the cache
    tenant, client = ms_app(oauth)
    provider = ms_provider(oauth, tenant, client, cache_path=tmp_path / "t.json")
    assert provider.token() != provider.token()
    assert requests_by(oauth, client) == 2


def test_microsoft_certificate_credential(oauth, imap, tmp_path):
    key, key_pem = rsa_key_pem()
    cert_pem = self_signed_pem(key, "avviksgateway")
    tenant, client = f"tenant-{uuid.uuid4().hex[:8]}", f"client-{uuid.uuid4().hex[:8]}"
    oauth.add_microsoft_app(tenant, client, USER, certificate_pem=cert_pem)
    pem = tmp_path / "app.pem"
    pem.write_text(key_pem + cert_pem)
    provider = ms_provider(oauth, tenant, client, client_secret=None, certificate_path=pem)
    assert imap_accepts(imap, provider.token())
    pfx = tmp_path / "app.pfx"  # the form the Entra portal and Windows export
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"app",
            key,
            x509.load_pem_x509_certificate(cert_pem.encode()),
            None,
            serialization.BestAvailableEncryption(b"pfx-pass"),
        )
    )
    from_pfx = ms_provider(
        oauth,
        tenant,
        client,
        client_secret=None,
        certificate_path=pfx,
        certificate_passphrase="pfx-pass",
    )
    assert imap_accepts(imap, from_pfx.token())
    # A different key (say, an old certificate) is refused with an understandable message.
    _other, other_pem = rsa_key_pem()
    wrong = tmp_path / "old.pem"
    wrong.write_text(other_pem + self_signed_pem(_other, "old"))
    with pytest.raises(AuthError, match=rf"tenant {tenant}, client {client}.*invalid_client"):
        ms_provider(oauth, tenant, client, client_secret=None, certificate_path=wrong).token()


def test_revoked_token_refreshed_and_rotated_secret(oauth, imap, tmp_path):
    tenant, client = ms_app(oauth)
    provider = ms_provider(oauth, tenant, client, cache_path=tmp_path / "t.json")
    first = provider.token()
    assert imap_accepts(imap, first)

    oauth.revoke_all()  # consent withdrawn and given again: old tokens dead, secret still fine
    assert not imap_accepts(imap, first)
    assert provider.token() == first  # the cache cannot know
    second = provider.token(force_refresh=True)
    assert second != first and imap_accepts(imap, second)

    oauth.revoke(second)  # imap_login retries once with a fresh token by itself
    client_conn = IMAPClient(imap.host, port=imap.port, ssl=False, timeout=10)
    try:
        imap_login(client_conn, USER, provider)
        assert client_conn.list_folders()
    finally:
        client_conn.shutdown()

    oauth.set_secret("second-s3cret-value", client)
    oauth.revoke_all()
    with pytest.raises(AuthError) as refused:
        provider.token(force_refresh=True)
    message = str(refused.value)
    assert tenant in message and client in message and "invalid_client" in message
    assert "s3cret" not in message and not refused.value.transient

    renewed = ms_provider(oauth, tenant, client, client_secret="second-s3cret-value")
    assert imap_accepts(imap, renewed.token())

    # Tokens fine, but for another mailbox: a new token cannot help, so an AuthError.
    other_tenant, other = f"tenant-{uuid.uuid4().hex[:8]}", f"client-{uuid.uuid4().hex[:8]}"
    oauth.add_microsoft_app(other_tenant, other, "responssenter", secret="first-s3cret-value")
    client_conn = IMAPClient(imap.host, port=imap.port, ssl=False, timeout=10)
    try:
        with pytest.raises(AuthError, match="refused a new token for support"):
            imap_login(client_conn, USER, ms_provider(oauth, other_tenant, other))
    finally:
        client_conn.shutdown()


def test_unknown_tenant_and_unreachable_server(oauth, tmp_path):
    with pytest.raises(AuthError, match="tenant nowhere.*not found"):
        ms_provider(oauth, "nowhere", "client-x").token()
    closed = f"https://{LOOPBACK}:{free_port()}"
    provider = MicrosoftProvider("t", "c", client_secret="x-secret", authority_url=closed)
    with pytest.raises(AuthError, match="cannot reach") as unreachable:
        provider.token()
    assert unreachable.value.transient


def test_cache_file_others_can_read_is_not_trusted(oauth, tmp_path):
    tenant, client = ms_app(oauth)
    cache = tmp_path / "t.json"
    first = ms_provider(oauth, tenant, client, cache_path=cache).token()
    cache.chmod(0o644)
    second = ms_provider(oauth, tenant, client, cache_path=cache).token()
    assert second != first and stat.S_IMODE(cache.stat().st_mode) == 0o600


def service_account(oauth: OAuthServer) -> dict[str, str]:
    key, pem = rsa_key_pem()
    email = f"gateway-{uuid.uuid4().hex[:6]}@avvik-test.iam.gserviceaccount.com"
    oauth.add_service_account(email, key.public_key())
    return {
        "type": "service_account",
        "project_id": "avvik-test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": oauth.token_uri,
    }


def test_google_service_account(oauth, imap, tmp_path):
    oauth.lifetime = 2
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(service_account(oauth)))
    cache = tmp_path / "g.json"
    provider = GoogleProvider(
        service_account_file=key_file,
        subject=USER,
        cache_path=cache,
        refresh_margin=0,
        verify=oauth.ca_file,
    )
    first = provider.token()
    assert provider.token() == first and stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert oauth.introspect(first)["username"] == USER  # the JWT's subject
    assert imap_accepts(imap, first)
    wait_until(lambda: not oauth.introspect(first)["active"])
    assert provider.token() != first


def test_google_refresh_token(oauth, imap, tmp_path):
    client_id = f"{uuid.uuid4().hex[:8]}.apps.googleusercontent.com"
    oauth.add_refresh_token(client_id, "g-client-s3cret", "1//refresh-s3cret", USER)

    def provider(secret: str) -> GoogleProvider:
        return GoogleProvider(
            refresh_token="1//refresh-s3cret",
            client_id=client_id,
            client_secret=secret,
            token_uri=oauth.token_uri,
            cache_path=tmp_path / "r.json",
            verify=oauth.ca_file,
        )

    token = provider("g-client-s3cret").token()
    assert imap_accepts(imap, token)
    oauth.set_secret("g-new-s3cret", client_id)
    with pytest.raises(AuthError) as refused:
        provider("g-client-s3cret").token(force_refresh=True)
    assert client_id in str(refused.value) and "s3cret" not in str(refused.value)


class XOAuth2Handler:
    """aiosmtpd handler with an ``auth_XOAUTH2`` mechanism checking tokens at the server."""

    def __init__(self, oauth: OAuthServer) -> None:
        self.oauth = oauth

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        blob = await server.challenge_auth("") if len(args) == 1 else base64.b64decode(args[1])
        if not isinstance(blob, bytes):
            return AuthResult(success=False, handled=True)  # aborted, already answered
        fields = dict(f.split("=", 1) for f in blob.decode().split("\x01") if "=" in f)
        token = fields.get("auth", "").removeprefix("Bearer ")
        info = self.oauth.introspect(token)
        if info["active"] and info["username"] == fields.get("user"):
            return AuthResult(success=True, auth_data=fields["user"])
        # Like Gmail/Exchange: an error challenge, the client's empty answer, then 535.
        error = json.dumps({"status": "401", "schemes": "bearer"})
        if isinstance(await server.challenge_auth(error), bytes):  # else: aborted, answered
            return AuthResult(
                success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
            )
        return AuthResult(success=False, handled=True)


def test_smtp_xoauth2(oauth):
    tenant, client = ms_app(oauth)
    provider = ms_provider(oauth, tenant, client)
    controller = Controller(
        XOAuth2Handler(oauth),
        hostname=LOOPBACK,
        port=free_port(),
        server_hostname="smtp-oauth.localhost",
        auth_require_tls=False,
        auth_exclude_mechanism=["PLAIN", "LOGIN"],
        ready_timeout=10,
    )
    controller.start()
    try:
        with smtplib.SMTP(LOOPBACK, controller.port, timeout=10) as conn:
            conn.ehlo()
            assert "XOAUTH2" in conn.esmtp_features["auth"]
            code, _ = conn.auth(
                "XOAUTH2", lambda challenge=None: xoauth2_raw(USER, provider.token())
            )
            assert code == 235
        with smtplib.SMTP(LOOPBACK, controller.port, timeout=10) as conn:
            conn.ehlo()  # the wire form, for hand-made AUTH commands
            assert conn.docmd("AUTH", "XOAUTH2 " + xoauth2_string(USER, provider.token()))[0] == 235
        with smtplib.SMTP(LOOPBACK, controller.port, timeout=10) as conn:
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                conn.ehlo()
                conn.auth(
                    "XOAUTH2",
                    lambda challenge=None: (
                        xoauth2_raw(USER, "bad-token") if challenge is None else ""
                    ),
                )
            assert refused.value.smtp_code == 535
        oauth.revoke(provider.token())  # smtp_login renews a refused token once by itself
        with smtplib.SMTP(LOOPBACK, controller.port, timeout=10) as conn:
            smtp_login(conn, USER, provider)
    finally:
        controller.stop()


def test_settings_section_to_provider(oauth, tmp_path):
    tenant, client = ms_app(oauth)
    box = {
        "mailbox": "support",
        "host": "outlook.office365.com",
        "user": USER,
        "auth": "oauth2-microsoft",
        "tenant_id": tenant,
        "client_id": client,
        "client_secret_env": "AVVIK_TEST_SECRET",
        "authority_url": oauth.authority_url,
        "ca_file": oauth.ca_file,
    }
    oauth_settings = parse_oauth(
        box, "test [[imap]] #1", {"AVVIK_TEST_SECRET": "first-s3cret-value"}
    )
    assert oauth_settings is not None and "s3cret" not in repr(oauth_settings)
    assert set(box) == {"mailbox", "host", "user"}  # the rest is for ImapMailbox
    provider = build_provider(oauth_settings, default_cache=tmp_path / "tokens" / "support.json")
    assert oauth.introspect(provider.token())["active"]
    assert os.stat(tmp_path / "tokens").st_mode & 0o777 == 0o700
    assert parse_oauth({"user": USER}, "x") is None
    with pytest.raises(AuthConfigError, match="client_secret_env"):
        parse_oauth(
            {
                "user": USER,
                "auth": "oauth2-microsoft",
                "tenant_id": "t",
                "client_id": "c",
                "client_secret": "literal",
            },
            "x",
        )


def test_imap_intake_signs_in_with_xoauth2_from_the_settings(oauth, imap, tmp_path):
    """The gateway's own intake, configured as an administrator would, reads over XOAUTH2."""
    import threading

    from conftest import make_mail

    from gateway.intake.imap import ImapIntake
    from gateway.settings import from_mapping
    from gateway.store import open_db

    tenant, client = ms_app(oauth)
    settings = from_mapping(
        {
            "data_dir": str(tmp_path / "var"),
            "imap": [
                {
                    "mailbox": "support",
                    "host": imap.host,
                    "port": imap.port,
                    "user": USER,
                    "security": "none",
                    "auth": "oauth2-microsoft",
                    "tenant_id": tenant,
                    "client_id": client,
                    "client_secret_env": "AVVIK_TEST_SECRET",
                    "authority_url": oauth.authority_url,
                    "ca_file": oauth.ca_file,
                }
            ],
        },
        "test",
        {"AVVIK_TEST_SECRET": "first-s3cret-value"},
    )
    box = settings.imap[0]
    assert box.oauth.token_cache == tmp_path / "var" / "tokens" / "support.json"
    imap.append(USER, make_mail(subject="Via OAuth2"))
    intake = ImapIntake(box, open_db(tmp_path / "var" / "gateway.db"), threading.Event())
    client_ = intake._create_client()
    assert intake.poll_once(client_) == 1
    client_.logout()
    assert os.stat(box.oauth.token_cache).st_mode & 0o777 == 0o600


class _RecordingXOAuth2Handler(XOAuth2Handler):
    """The XOAUTH2 smarthost, keeping what it accepted."""

    def __init__(self, oauth: OAuthServer) -> None:
        super().__init__(oauth)
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        self.accepted.append(envelope.content)
        return "250 OK"


def test_smarthost_takes_a_new_secret_from_its_file_without_a_restart(oauth, tmp_path):
    """The outbox signs in to the smarthost with XOAUTH2. The secret expires and the tokens
    are revoked: deliveries wait. The administrator writes the new secret to its file: the
    next attempt reads the settings again and the mail goes out."""
    from gateway.outbox.queue import enqueue
    from gateway.outbox.sender import Sender
    from gateway.render import Renderer
    from gateway.settings import load
    from gateway.store import open_db, write

    tenant, client = ms_app(oauth)
    handler = _RecordingXOAuth2Handler(oauth)
    controller = Controller(
        handler,
        hostname=LOOPBACK,
        port=free_port(),
        auth_require_tls=False,
        auth_exclude_mechanism=["PLAIN", "LOGIN"],
        ready_timeout=10,
    )
    controller.start()
    secret = tmp_path / "entra.secret"
    secret.write_text("first-s3cret-value\n")
    toml = tmp_path / "gateway.toml"
    toml.write_text(f"""data_dir = "{tmp_path / "var"}"
retry_base_seconds = 0

[smarthost]
host = "{LOOPBACK}"
port = {controller.port}
security = "none"
user = "{USER}"
auth = "oauth2-microsoft"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret_file = "{secret}"
authority_url = "{oauth.authority_url}"
ca_file = "{oauth.ca_file}"
""")
    try:
        settings = load(toml, environ={})
        db = open_db(settings.database_path)
        sender = Sender(db, settings)
        renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")

        def queue(subject: str) -> None:
            out = renderer.message("status.txt.j2", {"reference": "AVVIK-2026-0001",
                "case_subject": subject, "changes": [], "status": "lukket", "measure": None},
                purpose="status", to=["kari.nordmann@vennesla.kommune.example"])  # fmt: skip
            with write(db):
                enqueue(db, out)

        queue("Først")
        assert sender.deliver_due() == 1 and len(handler.accepted) == 1
        oauth.set_secret("second-s3cret-value", client)  # the old secret expired ...
        oauth.revoke_all()  # ... and the tokens with it
        queue("Så")
        sender.transport.close()  # a new batch, a new connection
        sender.deliver_due()
        assert len(handler.accepted) == 1  # refused: waiting in the outbox
        assert db.execute("SELECT state FROM outbox ORDER BY id DESC").fetchone()[0] == "retry"
        secret.write_text("second-s3cret-value\n")  # the administrator sets the new secret
        sender.deliver_due()
        assert len(handler.accepted) == 2
        assert db.execute("SELECT state FROM outbox ORDER BY id DESC").fetchone()[0] == "sent"
    finally:
        controller.stop()
