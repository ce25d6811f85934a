"""A kind of personal data: its name, the detector that finds it, and its words.

The registry itself is ``detect.KINDS`` (beside the detectors it names). What a person
reads of a kind, its marker in a redacted text and its label in a count, lives in
``templates/<lang>/phrases/privacy.yaml`` under ``marker.<name>`` and ``label.<name>``.
A new kind of national ID is a detector and a row in detect.py plus those two phrases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gateway.i18n import DEFAULT_LANGUAGE, phrases


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    text: str


# text, the addresses that are not personal data -> what is found (kinds that one scan
# finds together, like a D-nummer and a fødselsnummer, share their detector)
Detector = Callable[[str, Iterable[str]], list[Finding]]


@dataclass(frozen=True)
class Kind:
    """One kind of personal data."""

    name: str  # stable code, kept in findings and events ("fodselsnummer")
    detector: Detector
    switch: str | None = None  # the find_personal_data option that turns it off

    def marker(self, language: str = DEFAULT_LANGUAGE) -> str:
        """What replaces a finding in a de-identified text: "[fødselsnummer fjernet]"."""
        return phrases(language)(f"privacy.marker.{self.name}")

    def label(self, count: int, language: str = DEFAULT_LANGUAGE) -> str:
        """A count of findings for receipts and events: "2 e-postadresser"."""
        return phrases(language)(f"privacy.label.{self.name}", count=count)
