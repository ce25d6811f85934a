"""What the web view's tests share: a gateway's case log with invented cases, the
application, and signing in through the link the outbox holds."""

from __future__ import annotations

import email
import re
from email.policy import default
from pathlib import Path

from conftest import ROOT, make_mail

from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.rules.loader import load_rules
from gateway.settings import Settings
from gateway.store import open_db
from gateway.web.app import Web
from gateway.web.config import WebConfig
from gateway.web.factory import create_app
from gateway.web.server import make_web

ADMIN = "admin@trygghet-agder.example"
SUPPLIER = "tekniker@leverandor.example"
VENNESLA = "kari.nordmann@vennesla.kommune.example"
ARENDAL = "ola@arendal.kommune.example"
ON_CALL = "beredskap@trygghet-agder.example"
MANAGER = "ledelse@trygghet-agder.example"
LINK = re.compile(r"https?://\S+/logg-inn/[\w-]+(?:\?neste=\S+)?")


def rules_with(tmp: Path, **privacy) -> Path:
    """The shipped rules.yaml with privacy settings changed (e.g. keep_original)."""
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    for key, value in privacy.items():
        text = re.sub(rf"(\n  {key}:) \S+", rf"\1 {value}", text)
    path = tmp / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class Site:
    """A gateway's case log and its web view, driven by Flask's test client."""

    def __init__(self, tmp: Path, config: WebConfig | None = None, **privacy):
        self.settings = Settings(data_dir=tmp, rules_file=rules_with(tmp, **privacy))
        self.rules = load_rules(self.settings.rules_file)
        self.db = open_db(self.settings.database_path)
        config = config or WebConfig(port=8080, base_url="https://avvik.example")
        self.web: Web = make_web(self.settings, lambda: self.rules, config)
        self.app = create_app(self.web)

    def report(self, mailbox: str = "support", **mail) -> int:
        """A message through intake and the pipeline; returns its row id."""
        row = accept(self.db, make_mail(**mail), mailbox, "t")
        renderer = Renderer("gw@trygghet-agder.example", "GW", rules=self.rules)
        Pipeline(self.db, lambda: self.rules, renderer, self.settings).process_batch()
        return row

    def case_of(self, row: int) -> str:
        case_id = self.db["messages"].get(row)["case_id"]
        return self.db["cases"].get(case_id)["reference"]

    def client(self):
        client = self.app.test_client()
        return client

    def mails(self, purpose: str) -> list[email.message.EmailMessage]:
        rows = self.db.query(
            "SELECT r.raw FROM outbox o JOIN raw_messages r ON r.id = o.message_id "
            "WHERE o.purpose = ? ORDER BY o.id",
            [purpose],
        )
        return [email.message_from_bytes(r["raw"], policy=default) for r in rows]

    def link_for(self, address: str) -> str | None:
        for msg in reversed(self.mails("web-sign-in")):
            if msg["To"] == address:
                return LINK.search(msg.get_content()).group(0)
        return None

    def events(self, kind: str) -> list[dict]:
        return list(self.db.query("SELECT * FROM events WHERE kind = ? ORDER BY id", [kind]))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def local_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def sign_in(site: Site, address: str, client=None):
    """Ask for a link, open it and press the button; returns the signed-in client."""
    client = client or site.client()
    page = client.get("/logg-inn").get_data(as_text=True)
    client.post("/logg-inn", data={"adresse": address, "csrf": csrf_of(page)})
    link = site.link_for(address)
    assert link, f"no sign-in link mailed to {address}"
    path = local_path(link)
    page = client.get(path).get_data(as_text=True)
    answer = client.post(path.split("?")[0], data={"csrf": csrf_of(page), "neste": "/"})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client
