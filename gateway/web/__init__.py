"""The web view of the case log: cases, triage and statistics in a browser.

Server-rendered pages (Flask and the Jinja templates of ``templates/<lang>/web/``), no
JavaScript build. Sign-in is by a one-time link mailed through the outbox; what a person
sees is decided in one place (``access.py``), and every view is an event in the log.
"""
