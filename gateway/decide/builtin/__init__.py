"""The built-in rules of the decision chain, one module each (see ``gateway/decide/chain.py``).

Each is a small object with a kebab-case ``name``, a one-line ``description`` and
``check(facts)``, which notes a readable reason on ``facts.notes`` when it matches:
the same contract as the rules of rules.yaml (``gateway.rules.base.Rule``), over the
facts of a stored message instead of a parsed one.
"""
