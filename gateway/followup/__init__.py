"""Follow-up after the relay: review digests, reminders, the overdue list, escalation,
post-incident reviews, the on-call duty's commands and the monthly report.

Each job reads the case log, queues its mail through the outbox (so retries and crash
safety apply) and writes an event on every case it touches, in the scheduler's
transaction.
"""
