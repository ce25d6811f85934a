"""The reference deployments in ``profiles/<name>/``, and a new deployment made from one.

Each profile is a folder: ``rules.yaml`` (its scenario, with teaching comments),
``gateway.toml.in`` (settings, with ``$dir`` for the deployment's folder),
``FIRST-STEPS.md`` (what to change first) and ``examples/`` (messages with the
decisions they must get). ``gateway init --profile NAME DIR`` copies them into DIR;
nothing in Python differs between the deployments.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from string import Template

PROFILES = Path(__file__).resolve().parent.parent / "profiles"
WRITTEN = ("rules.yaml", "gateway.toml", "FIRST-STEPS.md", "examples")


class ProfileError(ValueError):
    """No such profile, or the folder to write it to is not empty."""


def names() -> list[str]:
    """The profiles shipped, by folder name."""
    return sorted(p.name for p in PROFILES.iterdir() if (p / "rules.yaml").is_file())


def init(name: str, folder: Path) -> list[Path]:
    """Write profile ``name`` into ``folder`` (created; must hold none of its files);
    returns what was written. The settings point at the folder by absolute path, so the
    deployment runs from anywhere."""
    source = PROFILES / name
    if name not in names():
        raise ProfileError(f"no profile {name!r} (known: {', '.join(names())})")
    folder = folder.resolve()
    if clashes := [n for n in WRITTEN if (folder / n).exists()]:
        raise ProfileError(f"{folder} already has {', '.join(clashes)}: not overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "rules.yaml", folder / "rules.yaml")
    shutil.copy2(source / "FIRST-STEPS.md", folder / "FIRST-STEPS.md")
    shutil.copytree(source / "examples", folder / "examples")
    settings = Template((source / "gateway.toml.in").read_text(encoding="utf-8"))
    (folder / "gateway.toml").write_text(settings.substitute(dir=folder), encoding="utf-8")
    return [folder / n for n in WRITTEN]
