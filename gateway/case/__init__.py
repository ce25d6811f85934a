"""The case stage: record a planned message, open its case, and queue what must go out.

Everything for one message happens in the caller's transaction: the message's end
state, the case with its tracking reference, the participants, the events and the
outbox rows. After a crash there is all of it or none of it, and the message is simply
planned again. ``record.record`` is the entry; ``opening`` opens a case, ``participants``
says who takes part in one.
"""
