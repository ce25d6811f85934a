"""A party's helpdesk in the thread: its ticket numbers, its addresses, its notices.

The rules are in rules.yaml (``helpdesk:`` under a party, ``gateway/rules/helpdesk.py``);
this package reads messages with them: which party's ticket number a message carries
(``tickets.py``), and whether it is an automatic notice (``notices.py``).
"""
