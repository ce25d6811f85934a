"""Outbox: outgoing mail as rows (queued -> sending -> sent / retry / failed), and the sender."""
