"""Which attachments run code when opened: kept with the case, never relayed onward.

Its own module because both the renderer (what a relay carries) and the safety checks
read it, and neither may import the other.
"""

from __future__ import annotations

from pathlib import PurePath

EXECUTABLE = frozenset(
    {
        ".exe", ".com", ".scr", ".pif", ".bat", ".cmd", ".js", ".jse", ".vbs", ".vbe",
        ".wsf", ".wsh", ".ps1", ".msi", ".msp", ".hta", ".cpl", ".jar", ".lnk", ".reg",
        ".dll", ".iso",
        # macro-enabled Office files
        ".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm", ".potm", ".ppam", ".ppsm",
        ".sldm",
    }
)  # fmt: skip


def is_executable(filename: str) -> bool:
    """True for a file name whose suffix runs code when opened (any letter case)."""
    return PurePath(filename.strip().lower()).suffix in EXECUTABLE
