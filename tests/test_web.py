"""The web view: sign-in by link, what each person sees, decisions, statistics."""

from __future__ import annotations

import pytest
from web_helpers import (
    ADMIN,
    ARENDAL,
    MANAGER,
    ON_CALL,
    SUPPLIER,
    VENNESLA,
    Site,
    csrf_of,
    sign_in,
)


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path)


def test_a_known_address_gets_a_link_that_signs_in_and_the_sign_in_is_logged(site):
    row = site.report()
    client = sign_in(site, VENNESLA)
    page = client.get("/saker").get_data(as_text=True)
    assert site.case_of(row) in page
    assert any(VENNESLA in e["detail"] for e in site.events("web-sign-in"))


def test_an_unknown_address_gets_no_mail_and_the_same_page(site):
    client = site.client()
    token = csrf_of(client.get("/logg-inn").get_data(as_text=True))
    known = client.post("/logg-inn", data={"adresse": VENNESLA, "csrf": token})
    unknown = client.post("/logg-inn", data={"adresse": "ukjent@example.org", "csrf": token})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert [m["To"] for m in site.mails("web-sign-in")] == [VENNESLA]


def test_a_link_works_once(site):
    client = site.client()
    sign_in(site, VENNESLA, client)
    path = "/" + site.link_for(VENNESLA).split("/", 3)[3]
    again = client.post(path, data={"csrf": csrf_of(client.get("/saker").get_data(as_text=True))})
    assert again.status_code == 400
    assert site.client().get(path).status_code == 400


def test_an_expired_link_is_refused(site):
    now = [1000.0]
    site.web.links.clock = lambda: now[0]
    client = site.client()
    token = csrf_of(client.get("/logg-inn").get_data(as_text=True))
    client.post("/logg-inn", data={"adresse": VENNESLA, "csrf": token})
    now[0] += 15 * 60 + 1
    path = "/" + site.link_for(VENNESLA).split("/", 3)[3]
    assert client.get(path).status_code == 400
    assert client.post(path, data={"csrf": token}).status_code == 400


def test_sign_in_is_rate_limited_per_address_and_per_client(site):
    client = site.client()
    token = csrf_of(client.get("/logg-inn").get_data(as_text=True))
    for _ in range(8):
        client.post("/logg-inn", data={"adresse": VENNESLA, "csrf": token})
    assert len(site.mails("web-sign-in")) == 5  # links_per_address
    answers = [
        client.post("/logg-inn", data={"adresse": f"x{i}@example.org", "csrf": token})
        for i in range(20)
    ]
    assert answers[-1].status_code == 429


def test_the_session_cookie_is_secure_httponly_samesite_and_sign_out_ends_it(site):
    client = sign_in(site, VENNESLA)
    cookie = client.get_cookie("avvik_session")
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
    sid = cookie.value
    page = client.get("/saker").get_data(as_text=True)
    assert client.post("/logg-ut", data={"csrf": csrf_of(page)}).status_code == 302
    assert site.web.sessions.get(sid) is None
    other = site.client()
    other.set_cookie("avvik_session", sid)
    assert other.get("/saker").status_code == 302  # to the sign-in page
    assert site.events("web-sign-out")


def test_a_session_expires_on_the_server(site):
    now = [1000.0]
    site.web.sessions.clock = lambda: now[0]
    client = sign_in(site, VENNESLA)
    assert client.get("/saker").status_code == 200
    now[0] += 8 * 3600 + 1
    assert client.get("/saker").status_code == 302


def test_a_form_without_a_csrf_token_is_refused(site):
    assert site.client().post("/logg-inn", data={"adresse": VENNESLA}).status_code == 403
    client = sign_in(site, ADMIN)
    assert client.post("/logg-ut").status_code == 403
    assert client.post("/logg-ut", data={"csrf": "forged"}).status_code == 403
    assert not site.mails("web-sign-in")[1:]  # only the admin's own link


def test_the_sign_in_page_sends_nobody_off_site(site):
    from gateway.web.pages_auth import safe_next

    for target in ("https://evil.example/", "//evil.example", "/\\evil.example", "evil",
                   "javascript:alert(1)", "/%0d%0aLocation: x", "\t//evil.example"):  # fmt: skip
        assert safe_next(target) in ("/", target) and not safe_next(target).startswith("//")
        assert "evil.example" not in safe_next(target).split("/")[1:2]
    client = site.client()
    page = client.get("/logg-inn?neste=https://evil.example/").get_data(as_text=True)
    assert 'name="neste" value="/"' in page
    token = csrf_of(page)
    client.post("/logg-inn", data={"adresse": VENNESLA, "csrf": token,
                                   "neste": "//evil.example/x"})  # fmt: skip
    path = "/" + site.link_for(VENNESLA).split("/", 3)[3]
    answer = client.post(path, data={"csrf": token, "neste": "//evil.example/x"})
    assert answer.headers["Location"] == "/"


def test_a_protected_page_leads_to_sign_in_and_back(site):
    answer = site.client().get("/saker?status=registrert")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/logg-inn?neste=%2Fsaker")


# --- who sees what -------------------------------------------------------------------------

FNR = "15076500565"  # a valid fødselsnummer (check digits), invented


def test_a_party_sees_its_own_cases_only_and_another_case_is_404(site):
    mine = site.case_of(site.report(frm=VENNESLA, subject="Alarm i Vennesla"))
    theirs = site.case_of(site.report(frm=ARENDAL, subject="Alarm i Arendal"))
    client = sign_in(site, VENNESLA)
    listing = client.get("/saker").get_data(as_text=True)
    assert mine in listing and theirs not in listing
    assert client.get(f"/saker/{mine}").status_code == 200
    assert client.get(f"/saker/{theirs}").status_code == 404
    assert client.get("/saker/AVVIK-2099-9999").status_code == 404
    assert "0 saker" in client.get(f"/saker?sok={theirs}").get_data(as_text=True)


def test_the_receiving_party_sees_the_case_and_the_on_call_duty_sees_open_ones(site):
    case = site.case_of(site.report(frm=VENNESLA))
    assert sign_in(site, SUPPLIER).get(f"/saker/{case}").status_code == 200
    assert sign_in(site, ON_CALL).get(f"/saker/{case}").status_code == 200
    site.db["cases"].update(site.db["cases"].rows_where("reference = ?", [case]).__next__()["id"],
                            {"status": "lukket"})  # fmt: skip
    assert sign_in(site, ON_CALL).get(f"/saker/{case}").status_code == 404
    assert sign_in(site, ADMIN).get(f"/saker/{case}").status_code == 200


def test_management_sees_statistics_and_no_case(site):
    case = site.case_of(site.report())
    client = sign_in(site, MANAGER)
    assert client.get("/saker").status_code == 404
    assert client.get(f"/saker/{case}").status_code == 404
    assert client.get("/statistikk").status_code == 200
    assert client.get("/statistikk.csv").status_code == 200
    assert client.get("/triage").status_code == 404


def test_a_party_gets_404_for_another_partys_attachment_and_triage_item(site):
    files = [("logg.txt", b"hei", "text/plain")]
    theirs = site.case_of(site.report(frm=ARENDAL, attachments=files))
    triaged = site.report(frm="ukjent@example.org")
    client = sign_in(site, VENNESLA)
    row = site.db["cases"].rows_where("reference = ?", [theirs]).__next__()["first_message_id"]
    assert client.get(f"/saker/{theirs}/vedlegg/{row}/0").status_code == 404
    assert client.get("/triage").status_code == 404
    token = csrf_of(client.get("/saker").get_data(as_text=True))
    answer = client.post(f"/triage/{triaged}", data={"csrf": token, "handling": "flow",
                                                     "verdi": "a"})  # fmt: skip
    assert answer.status_code == 404
    assert site.db["messages"].get(triaged)["outcome"] == "triage"


def test_script_and_entities_in_a_subject_or_body_are_shown_as_text(site):
    subject = "<script>alert(1)</script> &amp; Alarm"
    body = "Se <b>her</b> &lt;img src=x onerror=alert(1)&gt;\n"
    case = site.case_of(site.report(subject=subject, body=body))
    page = sign_in(site, VENNESLA).get(f"/saker/{case}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&amp;amp; Alarm" in page
    assert "<b>her</b>" not in page and "&lt;b&gt;her&lt;/b&gt;" in page
    assert "&amp;lt;img" in page


def test_the_supplier_sees_the_marker_where_the_municipality_sees_the_number(tmp_path):
    site = Site(tmp_path, keep_original="true")
    case = site.case_of(site.report(body=f"Bruker med fnr {FNR} har ikke alarm.\n"))
    municipality = sign_in(site, VENNESLA).get(f"/saker/{case}").get_data(as_text=True)
    supplier = sign_in(site, SUPPLIER).get(f"/saker/{case}").get_data(as_text=True)
    assert FNR in municipality
    assert FNR not in supplier and "[fødselsnummer fjernet]" in supplier


def test_a_redacted_party_cannot_find_a_case_by_searching_its_personal_data(tmp_path):
    site = Site(tmp_path, keep_original="true")
    case = site.case_of(site.report(body=f"Bruker med fnr {FNR} har ikke alarm.\n"))
    assert case in sign_in(site, VENNESLA).get(f"/saker?sok={FNR}").get_data(as_text=True)
    assert case not in sign_in(site, SUPPLIER).get(f"/saker?sok={FNR}").get_data(as_text=True)


def test_every_view_and_download_is_an_event_with_who(site):
    row = site.report(attachments=[("logg.txt", b"hei", "text/plain")])
    case = site.case_of(row)
    client = sign_in(site, VENNESLA)
    page = client.get(f"/saker/{case}").get_data(as_text=True)
    assert f"/saker/{case}/vedlegg/{row}/0" in page
    download = client.get(f"/saker/{case}/vedlegg/{row}/0")
    assert download.data == b"hei"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert [e["detail"] for e in site.events("web-case-viewed")] == [VENNESLA]
    assert VENNESLA in site.events("web-download")[0]["detail"]
    sign_in(site, MANAGER).get("/statistikk")
    assert MANAGER in site.events("web-stats-viewed")[0]["detail"]


def test_views_are_on_record_but_not_in_the_cases_timeline(site):
    """A case read often does not grow: who looked is in the case log (and in
    ``gateway cases show``), not on the page, where each view added a line to the next."""
    case = site.case_of(site.report())
    client = sign_in(site, VENNESLA)
    first = client.get(f"/saker/{case}").get_data(as_text=True)
    for _ in range(3):
        later = client.get(f"/saker/{case}").get_data(as_text=True)
    assert len(site.events("web-case-viewed")) == 4
    assert "web-case-viewed" not in later and later.count("<li") == first.count("<li")


def test_an_original_is_for_administrators_only_and_logged(tmp_path):
    site = Site(tmp_path)  # the case log keeps the de-identified text only
    case = site.case_of(site.report(body=f"Bruker med fnr {FNR} har ikke alarm.\n"))
    municipality = sign_in(site, VENNESLA).get(f"/saker/{case}?original=1")
    assert FNR not in municipality.get_data(as_text=True)
    assert not site.events("original-viewed")
    admin = sign_in(site, ADMIN).get(f"/saker/{case}?original=1").get_data(as_text=True)
    assert FNR in admin
    assert ADMIN in site.events("original-viewed")[0]["detail"]


def test_the_case_list_filters_and_pages(site):
    for i in range(3):
        site.report(subject=f"Alarm nummer {i}")
    site.report(frm=ARENDAL, subject="Noe annet")
    client = sign_in(site, ADMIN)
    page = client.get("/saker?sok=nummer").get_data(as_text=True)
    assert page.count("Alarm nummer") == 3 and "Noe annet" not in page
    assert "Noe annet" in client.get("/saker?kommune=Arendal").get_data(as_text=True)
    assert "Alarm" not in client.get("/saker?kommune=Arendal").get_data(as_text=True)
    assert "0 saker" in client.get("/saker?forfalt=1").get_data(as_text=True)
    from gateway.store.web import CaseFilter, case_page
    from gateway.web.access import Scope

    paged = case_page(site.db, Scope(everything=True), CaseFilter(), page=2, size=3)
    assert (paged.total, paged.pages, len(paged.cases)) == (4, 2, 1)


# --- decisions and figures -----------------------------------------------------------------


def test_an_administrator_decides_a_triage_item_through_the_same_code(site):
    row = site.report(frm="ukjent@example.org", subject="Hvem skal ha denne?")
    client = sign_in(site, ADMIN)
    page = client.get("/triage").get_data(as_text=True)
    assert "Hvem skal ha denne?" in page
    form = {"csrf": csrf_of(page), "handling": "send", "verdi": "support@leverandor.example a"}
    answer = client.post(f"/triage/{row}", data=form)
    assert answer.status_code == 200
    assert site.db["messages"].get(row)["outcome"] == "relay"
    decided = site.events("admin-decision")
    assert decided and ADMIN in decided[0]["detail"]
    assert site.mails("relay")[-1]["To"] == "support@leverandor.example"


def test_a_refused_triage_decision_says_why(site):
    row = site.report(frm="ukjent@example.org")
    client = sign_in(site, ADMIN)
    page = client.get("/triage").get_data(as_text=True)
    answer = client.post(f"/triage/{row}", data={"csrf": csrf_of(page), "handling": "send",
                                                  "verdi": "noen@example.org"})  # fmt: skip
    assert answer.status_code == 400 and 'role="alert"' in answer.get_data(as_text=True)
    assert site.db["messages"].get(row)["outcome"] == "triage"


def test_an_administrator_releases_and_drops_from_quarantine(site):
    from gateway.store import messages, write

    rows = [site.report(), site.report()]
    with write(site.db):
        for row in rows:
            messages.quarantine(site.db, row, "test")
    client = sign_in(site, ADMIN)
    token = csrf_of(client.get("/karantene").get_data(as_text=True))
    client.post(f"/karantene/{rows[0]}", data={"csrf": token, "handling": "slipp"})
    client.post(f"/karantene/{rows[1]}", data={"csrf": token, "handling": "forkast",
                                               "grunn": "spam"})  # fmt: skip
    assert site.db["messages"].get(rows[0])["state"] == "received"
    assert site.db["messages"].get(rows[1])["state"] == "dropped"
    assert ADMIN in site.events("released")[0]["detail"]
    assert client.post(f"/karantene/{rows[1]}", data={"csrf": token, "handling": "slipp"}
                       ).status_code == 404  # fmt: skip


def test_the_on_call_duty_assesses_and_upgrades_a_case(site):
    case = site.case_of(site.report())
    client = sign_in(site, ON_CALL)
    token = csrf_of(client.get(f"/saker/{case}").get_data(as_text=True))
    client.post(f"/saker/{case}/vurdert", data={"csrf": token, "vurdering": "Ok til mandag"})
    client.post(f"/saker/{case}/haster", data={"csrf": token})
    stored = next(site.db["cases"].rows_where("reference = ?", [case]))
    assert stored["assessed_at"] and stored["urgent"] == 1
    assert "Ok til mandag" in site.events("assessment")[0]["detail"]
    assert site.mails("urgent")
    assert sign_in(site, VENNESLA).post(f"/saker/{case}/haster",
                                        data={"csrf": "x"}).status_code == 403  # fmt: skip


def test_a_party_cannot_assess(site):
    case = site.case_of(site.report())
    client = sign_in(site, VENNESLA)
    token = csrf_of(client.get(f"/saker/{case}").get_data(as_text=True))
    answer = client.post(f"/saker/{case}/vurdert", data={"csrf": token, "vurdering": "x"})
    assert answer.status_code == 404 and not site.events("assessment")


def test_statistics_show_the_figures_the_chart_and_csv(site):
    site.report()
    client = sign_in(site, MANAGER)
    page = client.get("/statistikk?etter=flow").get_data(as_text=True)
    assert "kommune til leverandør" in page and 'id="diagram"' in page
    chart = client.get("/statistikk/diagram.png")
    assert chart.data.startswith(b"\x89PNG")
    csv_text = client.get("/statistikk.csv?etter=flow").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("flow;opened")  # Excel, Norwegian settings
    assert client.get("/statistikk?fra=2026-05-01&til=2026-01-01").status_code == 400


def test_the_status_page_is_for_administrators(site):
    assert sign_in(site, ADMIN).get("/status").status_code == 200
    assert sign_in(site, VENNESLA).get("/status").status_code == 404
