"""The web view served on loopback: by itself, and inside ``gateway serve``."""

from __future__ import annotations

import urllib.request

from web_helpers import rules_with

from gateway.daemon import Gateway
from gateway.rules.loader import load_rules
from gateway.settings import Settings
from gateway.web.config import WebConfig
from gateway.web.server import make_web, start


def fetch(port: int, path: str):
    return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)


def test_the_web_view_answers_on_loopback_with_its_security_headers(tmp_path):
    settings = Settings(data_dir=tmp_path, rules_file=rules_with(tmp_path))
    rules = load_rules(settings.rules_file)
    server = start(make_web(settings, lambda: rules, WebConfig(port=0)))
    try:
        answer = fetch(server.server_port, "/logg-inn")
        page = answer.read().decode()
        assert answer.status == 200 and 'lang="nb"' in page and "<label" in page
        assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "HttpOnly" in answer.headers["Set-Cookie"]
        assert fetch(server.server_port, "/static/style.css").status == 200
    finally:
        server.shutdown()


def test_gateway_serve_starts_the_web_view_when_web_port_is_set(tmp_path):
    settings = Settings(
        data_dir=tmp_path, rules_file=rules_with(tmp_path), smtp_intake_port=None, web_port=0
    )
    gateway = Gateway(settings)
    gateway.start()
    try:
        assert gateway.web is not None
        assert fetch(gateway.web.server_port, "/logg-inn").status == 200
    finally:
        gateway.shutdown()
    off = Gateway(Settings(data_dir=tmp_path, rules_file=settings.rules_file,
                           smtp_intake_port=None))  # fmt: skip
    off.start()
    off.shutdown()
    assert off.web is None


def test_gateway_web_runs_the_web_view_alone(tmp_path):
    """``gateway web`` serves the sign-in page on its own, from the settings' case log."""
    import os
    import subprocess
    import sys
    import time

    from conftest import ROOT
    from servers import free_port

    port = free_port()
    env = {**os.environ, "AVVIK_DATA_DIR": str(tmp_path), "AVVIK_RULES": str(rules_with(tmp_path)),
           "AVVIK_WEB_PORT": str(port)}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "web"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert fetch(port, "/logg-inn").status == 200
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read()
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
