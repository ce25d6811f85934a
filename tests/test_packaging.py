"""Issue 17, point 13: installing gives no setuptools deprecation warning."""

from __future__ import annotations

import tomllib

from conftest import ROOT


def test_license_is_an_spdx_string():
    """A TOML table for project.license is deprecated since setuptools 77 (warned on
    every `make run`); the SPDX string needs setuptools 77 to build."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]
