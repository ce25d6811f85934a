"""Signing in to the web view with a work account (OpenID Connect, Microsoft Entra ID),
against the local token server the OAuth tests use (tests/oauth_server.py): MSAL talks
to it over TLS, and the test plays the browser between the two."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from oauth_server import OAuthServer
from web_helpers import VENNESLA, Site, local_path

from gateway.auth.config import EntraSignIn
from gateway.settings import SettingsError, from_mapping
from gateway.web.config import WebConfig

TENANT, CLIENT_ID, SECRET = "agder-tenant", "web-app-id", "s3cret-web"


@pytest.fixture(scope="module")
def oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    with OAuthServer(tmp_path_factory.mktemp("oauth-web")) as server:
        server.add_microsoft_app(TENANT, CLIENT_ID, "", secret=SECRET)
        yield server


@pytest.fixture
def site(tmp_path, oauth):
    oauth.id_token_overrides = {}
    oauth.signed_in_user = VENNESLA.upper()  # Entra keeps the case people typed
    entra = EntraSignIn(TENANT, CLIENT_ID, SECRET, oauth.authority_url, oauth.ca_file)
    return Site(tmp_path, WebConfig(port=8080, base_url="https://avvik.example", entra=entra))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _at_microsoft(url: str, ca_file: str) -> str:
    """The browser at the sign-in page: where the identity provider sends it back to."""
    context = ssl.create_default_context(cafile=ca_file)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect)
    try:
        opener.open(url)
    except urllib.error.HTTPError as answer:
        assert answer.code == 302, answer.read()
        return answer.headers["Location"]
    raise AssertionError("the authorize endpoint did not redirect")


def _round_trip(site, oauth, client=None, target: str = "/saker"):
    """Press the button, sign in at the identity provider, come back: the answer."""
    client = client or site.client()
    start = client.get(f"/entra/logg-inn?neste={target}")
    assert start.status_code == 302
    back = _at_microsoft(start.headers["Location"], oauth.ca_file)
    assert back.startswith("https://avvik.example/entra/svar?")
    return client, client.get(local_path(back)), back


def test_a_known_work_account_signs_in_and_the_sign_in_is_logged(site, oauth):
    row = site.report()
    assert "/entra/logg-inn" in site.client().get("/logg-inn").get_data(as_text=True)
    client, answer, _ = _round_trip(site, oauth)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/saker")
    assert site.case_of(row) in client.get("/saker").get_data(as_text=True)
    (logged,) = site.events("web-sign-in")
    assert VENNESLA in logged["detail"] and "Entra ID" in logged["detail"]
    assert ("authorization_code", CLIENT_ID) in oauth.token_requests


def test_an_account_that_rules_yaml_does_not_know_gets_no_session(site, oauth):
    oauth.signed_in_user = "stranger@agder-tenant.example"
    client, answer, _ = _round_trip(site, oauth)
    assert answer.status_code == 403
    assert client.get_cookie("avvik_session") is None
    assert client.get("/saker").status_code == 302  # to the sign-in page
    assert site.events("web-sign-in") == []


@pytest.mark.parametrize(
    "claim, value",
    [("tid", "another-tenant"), ("aud", "another-app"), ("nonce", "replayed"),
     ("iss", "https://login.example/other/v2.0"), ("exp", 1_000_000)],
)  # fmt: skip
def test_an_id_token_not_meant_for_this_sign_in_is_refused(site, oauth, claim, value):
    oauth.id_token_overrides = {claim: value}
    client, answer, _ = _round_trip(site, oauth)
    assert answer.status_code == 403
    assert client.get_cookie("avvik_session") is None


def test_an_answer_is_used_once_and_only_by_the_browser_that_asked(site, oauth):
    client, first, back = _round_trip(site, oauth)
    assert first.status_code == 302
    assert client.get(local_path(back)).status_code == 403  # the same answer again
    stranger = site.client()
    _, answer, _ = _round_trip(site, oauth)  # another browser's sign-in under way
    assert stranger.get(local_path(back)).status_code == 403  # without its cookie


def test_the_target_cannot_send_anyone_off_site(site, oauth):
    _, answer, _ = _round_trip(site, oauth, target="//evil.example/")
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/", "http://localhost/")


def test_without_the_setting_there_is_no_button_and_no_page(tmp_path):
    site = Site(tmp_path)
    assert "/entra/" not in site.client().get("/logg-inn").get_data(as_text=True)
    assert site.client().get("/entra/logg-inn").status_code == 404
    assert site.client().get("/entra/svar?code=x&state=y").status_code == 404


def test_the_setting_is_read_from_the_settings_file_and_a_literal_secret_refused(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    table = {"tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret_file": str(secret)}
    settings = from_mapping({"web_entra": table})
    assert WebConfig.from_settings(settings).entra == EntraSignIn(TENANT, CLIENT_ID, SECRET)
    with pytest.raises(SettingsError, match=r"\[web_entra\].*client_secret_env"):
        from_mapping({"web_entra": {"tenant_id": TENANT, "client_id": CLIENT_ID,
                                    "client_secret": SECRET}})  # fmt: skip
    with pytest.raises(SettingsError, match=r"\[web_entra\].*needs tenant_id"):
        from_mapping({"web_entra": {"client_secret_file": str(secret)}})
