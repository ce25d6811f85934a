"""The web view in a real browser: Debian's chromium and chromium-driver, driven by
Selenium (no browser download: scripts/install-chromium.sh installs the packages when
missing). The gateway runs as ``gateway serve`` does, relaying to an aiosmtpd sink; the
sign-in link is taken from the mail the sink received. axe-core (shipped inside the
axe-selenium-python package from PyPI) checks each page for accessibility.

The screenshots of the README (docs/web-*.png) are taken here, from invented data:
``AVVIK_SCREENSHOTS=1 .venv/bin/pytest tests/test_web_browser.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest
from conftest import ROOT, make_mail
from servers import free_port
from web_helpers import ADMIN, MANAGER, VENNESLA, rules_with

from gateway.daemon import Gateway
from gateway.intake import accept
from gateway.settings import Settings, Smarthost
from gateway.store import open_db

DOCS = ROOT / "docs"


def _chromium() -> tuple[str, str]:
    """The browser and its driver, installed from Debian when missing (as root)."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        subprocess.run(["sh", str(ROOT / "scripts" / "install-chromium.sh")], check=False)
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip("chromium and chromium-driver are not installed (scripts/install-chromium.sh)")
    return browser, driver


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--lang=nb-NO"):  # fmt: skip
        options.add_argument(arg)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.downloads = downloads
    yield driver
    driver.quit()


@pytest.fixture
def gateway(tmp_path, smtp_sink):
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "var",
        rules_file=rules_with(tmp_path),
        smtp_intake_port=None,
        smarthost=Smarthost("127.0.0.1", smtp_sink.port, security="none"),
        web_port=port,
        web_base_url=f"http://localhost:{port}",
    )
    running = Gateway(settings)
    running.start()
    running.url = f"http://localhost:{port}"
    yield running
    running.shutdown()


def invent_cases(gateway) -> tuple[str, int]:
    """A handful of invented reports through intake and the running pipeline; returns a
    case reference with an attachment, and the row id of a message left to triage."""
    db = open_db(gateway.settings.database_path)
    reports = [
        ("kari.nordmann@vennesla.kommune.example", "support", "Trygghetsalarm uten kontakt"),
        ("per.hansen@vennesla.kommune.example", "support", "Alarmknapp reagerer ikke"),
        ("kari.nordmann@vennesla.kommune.example", "responssenter", "Dobbel varsling natt"),
        ("lise@arendal.kommune.example", "support", "Batterivarsel uten grunn"),
    ]
    rows = []
    for i, (frm, mailbox, subject) in enumerate(reports):
        files = [("logg.txt", b"10:12 alarm uten svar\n", "text/plain")] if i == 0 else []
        to = f"{mailbox}@trygghet-agder.example"
        raw = make_mail(frm=frm, to=to, subject=subject, attachments=files)
        rows.append(accept(db, raw, mailbox, "t"))
    triaged = accept(db, make_mail(frm="ukjent@example.org", subject="Hvem tar denne?"),
                     "support", "t")  # fmt: skip
    gateway.wake_pipeline.set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = db.execute("SELECT count(*) FROM messages WHERE direction = 'in' AND outcome "
                          "IS NOT NULL").fetchone()[0]  # fmt: skip
        if done >= len(rows) + 1:
            break
        time.sleep(0.2)
    first = db.execute("SELECT c.reference FROM cases c JOIN messages m ON m.case_id = c.id "
                       "WHERE m.id = ?", [rows[0]]).fetchone()[0]  # fmt: skip
    db.close()
    return first, triaged


def link_from_sink(sink, address: str, after: int) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for m in sink.messages[after:]:
            if address in m.rcpt_tos and "logg-inn/" in m.message.get_body().get_content():
                text = m.message.get_body().get_content()
                return re.search(r"http://\S+/logg-inn/\S+", text).group(0)
        time.sleep(0.2)
    raise AssertionError(f"no sign-in link for {address} reached the sink")


def sign_in(driver, gateway, sink, address: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(gateway.url + "/logg-inn")
    check_accessible(driver)
    before = len(sink.messages)
    driver.find_element(By.ID, "adresse").send_keys(address)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: "Sjekk e-posten" in d.page_source)
    driver.get(link_from_sink(sink, address, before))
    driver.find_element(By.ID, "logg-inn").click()
    WebDriverWait(driver, 10).until(lambda d: "/logg-inn" not in d.current_url)


def check_accessible(driver) -> None:
    """axe-core finds no critical or serious violation on the page."""
    from axe_selenium_python import Axe

    axe = Axe(driver)
    axe.inject()
    found = axe.run()
    bad = [v for v in found["violations"] if v["impact"] in ("critical", "serious")]
    assert not bad, axe.report(bad)


def click_to(driver, element, url_part: str) -> None:
    """Click and wait until the browser is on the page whose URL has ``url_part``."""
    from selenium.webdriver.support.ui import WebDriverWait

    element.click()
    WebDriverWait(driver, 10).until(
        lambda d: (
            url_part in d.current_url
            and d.execute_script("return document.readyState") == "complete"
        )
    )


def shoot(driver, name: str) -> None:
    """A screenshot for the README (invented data only), when AVVIK_SCREENSHOTS is set:
    a plain test run leaves docs/ as it is."""
    if not os.environ.get("AVVIK_SCREENSHOTS"):
        return
    DOCS.mkdir(exist_ok=True)
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(DOCS / name))


def test_sign_in_list_open_download_decide_see_the_chart_and_sign_out(browser, gateway, smtp_sink):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    reference, triaged = invent_cases(gateway)
    sign_in(browser, gateway, smtp_sink, ADMIN)

    assert browser.current_url.endswith("/saker")
    assert reference in browser.page_source
    check_accessible(browser)
    shoot(browser, "web-saker.png")

    click_to(browser, browser.find_element(By.LINK_TEXT, reference), f"/saker/{reference}")
    assert reference in browser.find_element(By.TAG_NAME, "h1").text
    check_accessible(browser)
    shoot(browser, "web-sak.png")
    browser.find_element(By.LINK_TEXT, "logg.txt").click()
    deadline = time.monotonic() + 10
    while not (browser.downloads / "logg.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (browser.downloads / "logg.txt").read_bytes() == b"10:12 alarm uten svar\n"

    click_to(browser, browser.find_element(By.LINK_TEXT, "Til vurdering"), "/triage")
    check_accessible(browser)
    before = len(smtp_sink.messages)
    Select(browser.find_element(By.ID, f"h{triaged}")).select_by_value("send")
    browser.find_element(By.ID, f"v{triaged}").send_keys("support@leverandor.example a")
    button = browser.find_element(By.CSS_SELECTOR, f"form[action='/triage/{triaged}'] button")
    click_to(browser, button, f"/triage/{triaged}")
    assert 'role="status"' in browser.page_source
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if any("support@leverandor.example" in m.rcpt_tos and "Hvem tar denne?" in
               str(m.message["Subject"]) for m in smtp_sink.messages[before:]):  # fmt: skip
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the relay of the triage decision did not reach the sink")

    click_to(browser, browser.find_element(By.LINK_TEXT, "Statistikk"), "/statistikk")
    chart = browser.find_element(By.ID, "diagram")
    assert browser.execute_script("return arguments[0].naturalWidth", chart) > 0
    check_accessible(browser)
    shoot(browser, "web-statistikk.png")

    browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
    WebDriverWait(browser, 10).until(lambda d: "ute=1" in d.current_url)
    assert "Du er logget ut" in browser.page_source
    browser.get(gateway.url + "/saker")
    assert "/logg-inn" in browser.current_url


def test_a_party_and_management_in_the_browser(browser, gateway, smtp_sink):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    reference, _triaged = invent_cases(gateway)
    sign_in(browser, gateway, smtp_sink, VENNESLA)
    assert reference in browser.page_source and "Batterivarsel" not in browser.page_source
    browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
    WebDriverWait(browser, 10).until(lambda d: "ute=1" in d.current_url)
    sign_in(browser, gateway, smtp_sink, MANAGER)
    assert browser.current_url.endswith("/statistikk")
    browser.get(gateway.url + f"/saker/{reference}")  # get() waits for the page to load
    assert "Finnes ikke" in browser.find_element(By.TAG_NAME, "h1").text
    check_accessible(browser)
