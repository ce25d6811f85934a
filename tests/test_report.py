"""The monthly report, end to end: built from a seeded case log, queued in the outbox,
delivered by the real Sender to an SMTP server on loopback, and read back as received."""

from __future__ import annotations

import csv
import datetime as dt
import email
import io
from email.policy import default
from html.parser import HTMLParser

import pytest
from matplotlib.image import imread
from test_stats import AFTER, seed

from gateway.outbox.queue import enqueue
from gateway.outbox.sender import Sender
from gateway.render import Renderer
from gateway.report import monthly_report
from gateway.settings import Settings, Smarthost
from gateway.stats import figures
from gateway.store import open_db, write

MANAGEMENT = "ledelse@trygghet-agder.example"
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}


class Html(HTMLParser):
    """Collects what a reader of the HTML part would check: images, links, balance."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.images: list[dict] = []
        self.links: list[str] = []
        self.headings: list[str] = []
        self.errors: list[str] = []
        self._heading = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "img":
            self.images.append(attributes)
        self.links += [v for k, v in attrs if k in ("href", "src", "background") and v]
        self._heading = tag in ("h1", "h2")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")

    def handle_data(self, data):
        if self._heading and data.strip():
            self.headings.append(data.strip())
            self._heading = False


def renderer() -> Renderer:
    return Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")


@pytest.fixture
def db():
    database = open_db(None)
    with write(database):
        seed(database)
    yield database
    database.close()


def deliver(db, outgoing, port: int, tmp_path) -> None:
    with write(db):
        enqueue(db, outgoing)
    settings = Settings(
        data_dir=tmp_path, smarthost=Smarthost("127.0.0.1", port, security="none", timeout=5)
    )
    assert Sender(db, settings).deliver_due() == 1


def parts(message) -> dict[str, list]:
    found: dict[str, list] = {}
    for part in message.walk():
        found.setdefault(part.get_content_type(), []).append(part)
    return found


def test_monthly_report_arrives_as_html_with_its_chart_inside_and_the_csv(
    db, ruleset, smtp_sink, tmp_path
):
    report = monthly_report(db, ruleset, renderer(), dt.date(2026, 4, 1), [MANAGEMENT], AFTER)
    deliver(db, report, smtp_sink.port, tmp_path)
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == [MANAGEMENT]
    assert db["outbox"].get(1)["purpose"] == "report" and db["outbox"].get(1)["state"] == "sent"
    message = email.message_from_bytes(received.data, policy=default)
    assert message["Subject"] == "Avviksstatistikk for april 2026"
    found = parts(message)

    # HTML inside multipart/related, its one image an inline PNG part named by cid:
    [related] = found["multipart/related"]
    [html_part] = found["text/html"]
    assert html_part in related.get_payload()
    page = Html()
    page.feed(html_part.get_content())
    page.close()
    assert page.errors == [] and page.stack == []
    assert page.headings[0] == "Avviksstatistikk for april 2026"
    assert all(link.startswith("cid:") for link in page.links)
    for forbidden in ("http://", "https://", "data:"):
        assert forbidden not in html_part.get_content()
    [image] = page.images
    [png] = found["image/png"]
    assert png in related.get_payload()
    assert f"<{image['src'].removeprefix('cid:')}>" == png["Content-ID"]
    assert png.get_content_disposition() == "inline"
    assert imread(io.BytesIO(png.get_content()), format="png").shape[:2] == (750, 800)
    assert image["alt"].startswith("Diagram: nye avvik per måned og flyt")

    # the figures: hand-worked in test_stats for April 2026 (cases 3, 5 and 7)
    html = html_part.get_content()
    for figure in ("100 %", "7,5 / 24,0", "Leverandøren", "b – kommune til responssenter"):
        assert figure in html
    text = found["text/plain"][0].get_content()
    assert "Nye avvik:                 2" in text
    assert "Åpne ved månedens slutt:   2, over lukkefristen: 2" in text
    assert "arbeidstimer / kalendertimer" in text and "arbeidstimer / kalendertimer" in html

    # the CSV attachment, as Excel would open it, equals the figures
    [attachment] = found["text/csv"]
    assert attachment.get_filename() == "avviksstatistikk-2026-04.csv"
    content = attachment.get_content().removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(content), delimiter=";"))  # Norwegian Excel
    by_party = {(r["flow"], r["party"]): r for r in rows}
    assert set(by_party) == {
        ("b", "Kommunalt responssenter i Agder"),
        ("c", "Vennesla kommune"),
        ("d", "Leverandøren"),
    }
    supplier = by_party["d", "Leverandøren"]
    assert (supplier["opened"], supplier["closed_on_time"]) == ("1", "1")
    assert (supplier["close_working_hours_median"], supplier["close_calendar_hours_median"]) == (
        "7,5",
        "24,0",
    )
    assert by_party["b", "Kommunalt responssenter i Agder"]["overdue"] == "1"
    expected = figures(
        db, ruleset, dt.date(2026, 4, 1), dt.date(2026, 4, 30), ["month", "flow", "party"], AFTER
    )
    assert [r.as_dict() for r in expected] == [{k: _typed(v) for k, v in r.items()} for r in rows]

    # nothing personal anywhere in what was sent
    for secret in ("Kari", "01017012345", "kari@", "AVVIK-2026"):
        assert secret.encode() not in received.data
        assert secret not in html + text


def _typed(value: str):
    """A CSV cell back to its JSON value: '' is None, numbers are numbers."""
    if value == "":
        return None
    for kind in (int, float):
        try:
            return kind(value.replace(",", "."))  # a decimal comma
        except ValueError:
            pass
    return value


def test_a_month_without_cases_still_makes_a_report(ruleset):
    empty = open_db(None)
    report = monthly_report(empty, ruleset, renderer(), dt.date(2026, 7, 15), [MANAGEMENT], AFTER)
    message = email.message_from_bytes(report.raw, policy=default)
    html = message.get_body(("html",)).get_content()
    assert message["Subject"] == "Avviksstatistikk for juli 2026"
    assert html.count("Ingen avvik i måneden.") == 2  # per flow and per receiver
    assert "image/png" in parts(message)
    assert report.purpose == "report" and report.recipients == (MANAGEMENT,)


def test_the_report_goes_to_the_management_of_rules_yaml_by_default(db, ruleset):
    report = monthly_report(db, ruleset, renderer(), dt.date(2026, 4, 1), now=AFTER)
    assert report.recipients == ("ledelse@trygghet-agder.example",)


def test_without_a_management_address_no_report_is_made(db, ruleset):
    with pytest.raises(ValueError, match="management address"):
        monthly_report(db, ruleset, renderer(), dt.date(2026, 4, 1), [], AFTER)


def test_flows_and_their_labels_come_from_the_rules(db, ruleset):
    """Declared flows give the order and the labels; a flow a case carries that is not
    declared still shows, after them, as not decided."""
    from dataclasses import dataclass, replace

    from gateway import report

    @dataclass(frozen=True)
    class Flow:
        name: str
        label: str

    declared = {f: Flow(f, f"Flyten {f.upper()}") for f in ("d", "b", "a")}
    rules = replace(ruleset, flows=declared)
    out = monthly_report(db, rules, renderer(), dt.date(2026, 4, 1), [MANAGEMENT], AFTER)
    html = email.message_from_bytes(out.raw, policy=default).get_body(("html",)).get_content()
    assert "Flyten D" in html and "Flyten B" in html and "ikke avgjort" in html  # c: not declared
    trend = figures(db, rules, dt.date(2025, 5, 1), dt.date(2026, 4, 30), ["month", "flow"], AFTER)
    assert report._flows(trend, rules) == ["d", "b", "a", "c"]
