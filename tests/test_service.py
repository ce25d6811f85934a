"""Running as a service: the systemd unit, JSON log lines, rules reloaded while running."""

from __future__ import annotations

import json
import shutil
import signal
import smtplib
import subprocess
import time

import pytest
from conftest import ROOT, make_mail
from servers import free_port
from test_end_to_end import settings_toml, wait_for_log


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not here")
def test_the_unit_file_passes_systemd_analyze_verify(tmp_path):
    unit = (ROOT / "packaging" / "avviksgateway.service").read_text()
    for hardening in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "User=avviksgateway",
        "ReadWritePaths=/var/lib/avviksgateway",
        "ExecReload=/bin/kill -HUP",
    ):
        assert hardening in unit
    # Point it at this checkout so verify can check that the command exists.
    local = unit.replace("/opt/avviksgateway/.venv/bin/gateway", str(ROOT / ".venv/bin/gateway"))
    local = local.replace("WorkingDirectory=/opt/avviksgateway", f"WorkingDirectory={ROOT}")
    path = tmp_path / "avviksgateway.service"
    path.write_text(local)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "avviksgateway.service" not in result.stderr, result.stderr


def send(port: int, subject: str) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail(
            "ole@arendal.kommune.example",
            ["support@trygghet-agder.example"],
            make_mail(frm="ole@arendal.kommune.example", subject=subject),
        )


def test_rules_reload_on_sighup_and_on_change_keeping_old_rules_when_broken(
    smtp_sink, gateway_process, monkeypatch, tmp_path
):
    rules = tmp_path / "rules.yaml"
    shipped = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    rules.write_text(shipped)
    port = free_port()
    monkeypatch.setenv("AVVIK_LOG_FORMAT", "json")
    gateway = gateway_process(
        f'rules_file = "{rules}"\n' + settings_toml(tmp_path / "var", port, smtp_sink.port)
    )
    gateway.start()
    send(port, "Første")
    assert (
        "support@leverandor.example"
        in smtp_sink.wait_for(2)[0].rcpt_tos + smtp_sink.wait_for(2)[1].rcpt_tos
    )

    broken = shipped.replace("to: [supplier]", "to: [suplier]")
    rules.write_text(broken)
    gateway.proc.send_signal(signal.SIGHUP)
    wait_for_log(gateway, "rules not reloaded")
    send(port, "Andre")  # the old rules still run
    got = smtp_sink.wait_for(4)
    assert any(
        "Andre" in m.message["Subject"] and "support@leverandor.example" in m.rcpt_tos for m in got
    )

    time.sleep(1.1)  # a new modification time, whatever the file system's resolution
    rules.write_text(
        shipped.replace(
            "receivers: [support@leverandor.example]", "receivers: [ny.support@leverandor.example]"
        )
    )
    wait_for_log(gateway, "rules reloaded")  # noticed without a signal
    send(port, "Tredje")
    got = smtp_sink.wait_for(6)
    assert any(
        "Tredje" in m.message["Subject"] and m.rcpt_tos == ["ny.support@leverandor.example"]
        for m in got
    )
    assert gateway.stop() == 0

    lines = [json.loads(line) for line in gateway.log.read_text().splitlines() if line.strip()]
    problem = next(e for e in lines if "rules not reloaded" in e["message"])
    assert problem["level"] == "ERROR"
    line = broken[: broken.index("to: [suplier]")].count("\n") + 1
    assert f"rules.yaml:{line}: rule 'flow-a': unknown party 'suplier'" in problem["message"]
    assert {"time", "level", "logger", "message"} <= set(lines[0])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not here")
def test_the_template_unit_runs_one_instance_per_deployment(tmp_path):
    """contrib/systemd/avviksgateway@.service: each instance its own user, settings and
    data folder, named by the instance; systemd accepts an instance of it."""
    unit = (ROOT / "contrib" / "systemd" / "avviksgateway@.service").read_text()
    for per_instance in (
        "User=avvik-%i",
        "AVVIK_SETTINGS=/etc/avviksgateway/%i/gateway.toml",
        "AVVIK_DATA_DIR=/var/lib/avviksgateway/%i",
        "ReadWritePaths=/var/lib/avviksgateway/%i",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
    ):
        assert per_instance in unit
    local = unit.replace("/opt/avviksgateway/.venv/bin/gateway", str(ROOT / ".venv/bin/gateway"))
    path = tmp_path / "avviksgateway@hoglandet.service"
    path.write_text(local)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "avviksgateway@" not in result.stderr, result.stderr
