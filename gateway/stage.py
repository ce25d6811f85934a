"""What every stage of the middle needs, in one frozen value instead of long parameter lists.

The pipeline makes one per batch (the rules may be reloaded between batches);
``gateway classify`` makes one with the case log it reads, or none, and no renderer:
deciding never renders or writes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store import clock
from gateway.store.db import Database

if TYPE_CHECKING:  # the renderer is only passed through here
    from gateway.render import Renderer


def utc_now() -> dt.datetime:
    return clock.current()  # the real time, but in ``gateway demo``


@dataclass(frozen=True)
class StageContext:
    """The case log, the rules, the renderer, the settings and the clock."""

    db: Database | None
    rules: RuleSet
    settings: Settings
    renderer: Renderer | None = None
    clock: Callable[[], dt.datetime] = field(default=utc_now)

    def __post_init__(self) -> None:
        """The rules learn the gateway's own addresses, which live in the settings and
        the renderer rather than in rules.yaml, so that no stage takes them for
        personal data (privacy.policy.known_addresses)."""
        own = {self.settings.gateway_address.lower()}
        if self.renderer is not None:
            own.add(self.renderer.gateway_address.lower())
        if not own <= set(self.rules.own_addresses):
            own_addresses = tuple(sorted(own | set(self.rules.own_addresses)))
            rules = dataclasses.replace(self.rules, own_addresses=own_addresses)
            object.__setattr__(self, "rules", rules)  # frozen: set once, while being made
