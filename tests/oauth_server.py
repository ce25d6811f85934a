"""A small OAuth2 token server on 127.0.0.1 standing in for Entra ID and Google.

MSAL and google-auth talk to it over https (MSAL accepts nothing else; the certificate is
made here, signed by a throw-away CA whose file the providers get as ``verify=``). Dovecot's
oauth2 passdb asks it over plain http whether a token is valid (RFC 7662 introspection).
Both listeners share one state, so a test can revoke tokens or change a secret and see the
mail server and the libraries react.

Endpoints (on both listeners):
  GET  /<tenant>/v2.0/.well-known/openid-configuration   MSAL's tenant discovery
  GET  /<tenant>/oauth2/v2.0/authorize  a browser sign-in: ``signed_in_user`` signs in at
                                     once and is sent back to redirect_uri with a code
  POST /<tenant>/oauth2/v2.0/token   client credentials: client_secret or client_assertion;
                                     authorization_code (with PKCE): an ID token
  POST /token                        Google: JWT-bearer grant or refresh_token grant
  POST|GET /introspect               {"active": true, "username": ...} or {"active": false}
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt  # PyJWT, installed with msal
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth always signs for Google's endpoint, whatever token_uri says.
GOOGLE_AUDIENCES = ["https://oauth2.googleapis.com/token"]


def _pem(item: Any) -> str:
    """PEM text of a certificate or (unencrypted PKCS#8) private key."""
    if isinstance(item, x509.Certificate):
        return item.public_bytes(serialization.Encoding.PEM).decode()
    return item.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _cert(
    cn: str,
    public: Any,
    signer: Any,
    issuer: str | None = None,
    ca: bool = False,
    ip: str | None = None,
) -> x509.Certificate:
    """A one-day certificate; a CA, a server certificate for ``ip``, or self-signed."""

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(name(issuer or cn))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, True)
    if ip:
        builder = (
            builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), False
            )
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
            )
        )
    return builder.sign(signer, hashes.SHA256())


def rsa_key_pem() -> tuple[rsa.RSAPrivateKey, str]:
    """A fresh RSA key (for app certificates and service accounts) and its PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, _pem(key)


def self_signed_pem(key: rsa.RSAPrivateKey, name: str) -> str:
    """A self-signed certificate for ``key``, as uploaded to an Entra ID app registration."""
    return _pem(_cert(name, key.public_key(), key))


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it: the (ca, cert, key) files."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("avviksgateway test CA", ca_key.public_key(), ca_key, ca=True)
    cert = _cert(LOOPBACK, key.public_key(), ca_key, issuer="avviksgateway test CA", ip=LOOPBACK)
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    for path, item in zip(paths, (ca, cert, key), strict=True):
        path.write_text(_pem(item))
    paths[2].chmod(0o600)
    return paths


@dataclass
class Client:
    """A registered client: an Entra app, a service account or an OAuth client."""

    kind: str  # microsoft, service_account, refresh
    client_id: str
    username: str = ""  # whose mailbox its tokens open (service accounts: the JWT's sub)
    tenant: str = ""
    secret: str | None = None
    public_key: Any = None  # verifies client assertions / service-account JWTs
    refresh_token: str = ""


@dataclass
class Issued:
    username: str
    client_id: str
    expires_at: float
    scope: str
    revoked: bool = False


@dataclass
class Grant:
    """An authorization code given to a browser, and what redeeming it must match."""

    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str
    username: str
    tenant: str


class Refusal(Exception):
    """An OAuth2 error answer: HTTP status, ``error`` and ``error_description``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.body = status, {"error": error, "error_description": description}


class OAuthServer:
    """The token server; ``lifetime`` (seconds) is the expires_in of every new token."""

    def __init__(self, directory: Path, lifetime: int = 3600) -> None:
        self.directory = Path(directory)
        self.lifetime = lifetime
        self.clients: dict[str, Client] = {}
        self.tokens: dict[str, Issued] = {}
        self.token_requests: list[tuple[str, str]] = []  # (grant kind, client id)
        self.codes: dict[str, Grant] = {}
        # Who signs in at the authorize endpoint, and the ID token's claims to change
        # (a test of a token for another tenant or audience sets them here).
        self.signed_in_user = ""
        self.id_token_overrides: dict[str, Any] = {}
        self.lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self.ca_file = self.https_url = self.http_url = ""

    def start(self) -> OAuthServer:
        ca, cert, key = make_tls_files(self.directory / "tls")
        self.ca_file = str(ca)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.https_url, self.http_url = self._serve(context), self._serve(None)
        return self

    def _serve(self, tls: ssl.SSLContext | None) -> str:
        httpd = ThreadingHTTPServer((LOOPBACK, 0), _Handler)  # the kernel picks a free port
        httpd.daemon_threads = True
        httpd.oauth = self  # type: ignore[attr-defined]
        if tls is not None:
            httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, name="oauth-server", daemon=True).start()
        self._servers.append(httpd)
        return f"{'https' if tls else 'http'}://{LOOPBACK}:{httpd.server_address[1]}"

    def stop(self) -> None:
        servers, self._servers = self._servers, []
        for httpd in servers:
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> OAuthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def authority_url(self) -> str:
        """MicrosoftProvider's ``authority_url`` (the provider appends the tenant)."""
        return self.https_url

    @property
    def token_uri(self) -> str:
        """Google's token endpoint (the service account JSON's token_uri)."""
        return f"{self.https_url}/token"

    @property
    def introspection_url(self) -> str:
        """For Dovecot's oauth2 passdb (plain http: Dovecot needs no CA file then)."""
        return f"{self.http_url}/introspect"

    # -- registrations and test controls --------------------------------------------------------

    def add_microsoft_app(
        self,
        tenant: str,
        client_id: str,
        username: str,
        secret: str | None = None,
        certificate_pem: str | None = None,
    ) -> None:
        cert = x509.load_pem_x509_certificate(certificate_pem.encode()) if certificate_pem else None
        key = cert.public_key() if cert else None
        self.clients[client_id] = Client("microsoft", client_id, username, tenant, secret, key)

    def add_service_account(self, client_email: str, public_key: Any) -> None:
        self.clients[client_email] = Client("service_account", client_email, public_key=public_key)

    def add_refresh_token(self, client_id: str, secret: str, refresh_token: str, user: str) -> None:
        self.clients[client_id] = Client(
            "refresh", client_id, user, secret=secret, refresh_token=refresh_token
        )

    def set_secret(self, new: str, client_id: str | None = None) -> None:
        """Replace a client secret (the only client with one, unless ``client_id`` says)."""
        with self.lock:
            if client_id is None:
                (client_id,) = [c.client_id for c in self.clients.values() if c.secret is not None]
            self.clients[client_id].secret = new

    def revoke(self, token: str) -> None:
        with self.lock:
            if token in self.tokens:
                self.tokens[token].revoked = True

    def revoke_all(self) -> None:
        with self.lock:
            for issued in self.tokens.values():
                issued.revoked = True

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662: active, with username, while issued, unexpired and not revoked."""
        with self.lock:
            t = self.tokens.get(token)
            if t is None or t.revoked or time.time() >= t.expires_at:
                return {"active": False}
            return {
                "active": True,
                "username": t.username,
                "client_id": t.client_id,
                "scope": t.scope,
                "exp": int(t.expires_at),
                "token_type": "Bearer",
            }

    # -- endpoints ------------------------------------------------------------------------------

    def discovery(self, tenant: str) -> dict[str, Any]:
        """The tenant's OpenID configuration, as MSAL reads it before any token request."""
        if not any(c.tenant == tenant for c in self.clients.values()):
            raise Refusal(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        base = f"{self.https_url}/{tenant}"
        return {
            "issuer": f"{base}/v2.0",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        }

    def _issue(self, username: str, client_id: str, scope: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        with self.lock:
            lifetime = self.lifetime
            self.tokens[token] = Issued(username, client_id, time.time() + lifetime, scope)
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
            "scope": scope,
        }

    def microsoft_token(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        """Client credentials with a secret or a certificate (a signed client assertion)."""
        if form.get("grant_type") != "client_credentials":
            raise Refusal(400, "unsupported_grant_type", "AADSTS70003: unsupported grant type")
        client_id = form.get("client_id", "")
        self.token_requests.append(("microsoft", client_id))
        app = self.clients.get(client_id)
        if app is None or app.kind != "microsoft" or app.tenant != tenant:
            raise Refusal(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with "
                f"identifier '{client_id}' was not found in the directory '{tenant}'.",
            )
        if "client_secret" in form:
            if app.secret is None or not hmac.compare_digest(form["client_secret"], app.secret):
                raise Refusal(
                    401,
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret "
                    f"provided. Ensure the secret is the one for app '{client_id}'.",
                )
        elif form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE:
            try:
                claims = jwt.decode(
                    form.get("client_assertion", ""),
                    app.public_key,
                    algorithms=["RS256", "PS256"],
                    options={"verify_aud": False},
                )
            except (jwt.PyJWTError, TypeError, ValueError) as exc:
                raise Refusal(401, "invalid_client", f"AADSTS700027: {exc}") from exc
            if claims.get("iss") != client_id or claims.get("sub") != client_id:
                raise Refusal(401, "invalid_client", "AADSTS700021: wrong assertion issuer")
        else:
            raise Refusal(401, "invalid_client", "AADSTS7000216: no client secret or assertion")
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            raise Refusal(400, "invalid_scope", f"AADSTS1002012: scope {scope} is not valid")
        return self._issue(app.username, client_id, scope)

    def authorize(self, tenant: str, query: dict[str, str]) -> str:
        """A browser's sign-in: the redirect back to the app with a code (or an error)."""
        app = self.clients.get(query.get("client_id", ""))
        if app is None or app.kind != "microsoft" or app.tenant != tenant:
            raise Refusal(400, "unauthorized_client", "AADSTS700016: unknown application")
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            raise Refusal(400, "invalid_request", "AADSTS900144: code flow with PKCE only")
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(app.client_id, query.get("redirect_uri", ""),
                                 query.get("nonce", ""), query.get("code_challenge", ""),
                                 self.signed_in_user, tenant)  # fmt: skip
        back = {"code": code, "state": query.get("state", ""), "session_state": "s"}
        return f"{query.get('redirect_uri', '')}?{urlencode(back)}"

    def code_token(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        """Redeem a code once: the client's secret, the redirect URI and PKCE must match."""
        grant = self.codes.pop(form.get("code", ""), None)
        app = self.clients.get(form.get("client_id", ""))
        if grant is None or app is None or grant.client_id != app.client_id:
            raise Refusal(400, "invalid_grant", "AADSTS70008: the code is not valid")
        if app.secret is None or not hmac.compare_digest(form.get("client_secret", ""), app.secret):
            raise Refusal(401, "invalid_client", "AADSTS7000215: Invalid client secret")
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if form.get("redirect_uri") != grant.redirect_uri or challenge.decode() != grant.challenge:
            raise Refusal(400, "invalid_grant", "AADSTS50148: PKCE or redirect_uri mismatch")
        now = int(time.time())
        claims = {
            "iss": f"{self.https_url}/{tenant}/v2.0", "aud": app.client_id, "tid": tenant,
            "sub": hashlib.sha256(grant.username.encode()).hexdigest()[:22],
            "preferred_username": grant.username, "nonce": grant.nonce,
            "iat": now, "nbf": now, "exp": now + self.lifetime,
        } | self.id_token_overrides  # fmt: skip
        self.token_requests.append(("authorization_code", app.client_id))
        answer = self._issue(grant.username, app.client_id, "openid profile")
        answer["id_token"] = jwt.encode(claims, self._signing_key, algorithm="RS256")
        return answer

    @functools.cached_property
    def _signing_key(self) -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def google_token(self, form: dict[str, str]) -> dict[str, Any]:
        """Service account JWT-bearer grant (user = the JWT's sub) or refresh-token grant."""
        grant = form.get("grant_type")
        if grant == JWT_BEARER:
            assertion = form.get("assertion", "")
            try:
                issuer = str(jwt.decode(assertion, options={"verify_signature": False})["iss"])
                self.token_requests.append(("service_account", issuer))
                account = self.clients.get(issuer)
                if account is None or account.kind != "service_account":
                    raise Refusal(400, "invalid_grant", "Invalid grant: account not found")
                claims = jwt.decode(
                    assertion, account.public_key, algorithms=["RS256"], audience=GOOGLE_AUDIENCES
                )
            except (jwt.PyJWTError, KeyError) as exc:
                raise Refusal(400, "invalid_grant", f"Invalid JWT: {exc}") from exc
            return self._issue(str(claims.get("sub") or issuer), issuer, claims.get("scope", ""))
        if grant == "refresh_token":
            client_id = form.get("client_id", "")
            self.token_requests.append(("refresh", client_id))
            client = self.clients.get(client_id)
            if (
                client is None
                or client.kind != "refresh"
                or not hmac.compare_digest(form.get("client_secret", ""), client.secret or "")
            ):
                raise Refusal(401, "invalid_client", "Unauthorized")
            if not hmac.compare_digest(form.get("refresh_token", ""), client.refresh_token):
                raise Refusal(400, "invalid_grant", "Token has been expired or revoked.")
            return self._issue(client.username, client_id, form.get("scope", ""))
        raise Refusal(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep pytest quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._route({})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        self._route({k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()})

    def _route(self, form: dict[str, str]) -> None:
        oauth: OAuthServer = self.server.oauth  # type: ignore[attr-defined]
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        auth = self.headers.get("Authorization", "")
        bearer = auth[7:] if auth.lower().startswith("bearer ") else ""
        status, body = 200, {"error": "not_found"}
        try:
            if parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                body = oauth.discovery(parts[0])
            elif parts[1:] == ["oauth2", "v2.0", "authorize"]:
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                return self._redirect(oauth.authorize(parts[0], query))
            elif parts[1:] == ["oauth2", "v2.0", "token"] and form.get("code"):
                body = oauth.code_token(parts[0], form)
            elif parts[1:] == ["oauth2", "v2.0", "token"] and self.command == "POST":
                body = oauth.microsoft_token(parts[0], form)
            elif url.path == "/token" and self.command == "POST":
                body = oauth.google_token(form)
            elif url.path == "/introspect":  # post, get (?token=) and auth (Bearer) modes
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                body = oauth.introspect(form.get("token") or query.get("token") or bearer)
            else:
                status = 404
        except Refusal as refusal:
            status, body = refusal.status, refusal.body
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
