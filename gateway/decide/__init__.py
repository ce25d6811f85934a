"""Deciding: what becomes of one stored message, and why.

``decide()`` runs the rules of rules.yaml (``yaml_rules``); ``classify`` is what
``gateway classify`` and ``gateway rules test`` print.
"""

from gateway.decide.yaml_rules import decide

__all__ = ["decide"]
