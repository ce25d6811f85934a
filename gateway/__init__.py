"""avviksgateway: deviation reports by e-mail between municipalities, a response centre
and a supplier. The data flow is the folder layout: intake -> parse -> decide -> case
-> render -> outbox, with threads, follow-up, privacy and the scheduler beside it
(docs/architecture.md)."""

import sys

# sqlite-utils imports numpy when it is installed (matplotlib, for the monthly report's
# chart, brings it), only to accept numpy values in inserts, which the gateway never
# makes. That is 15 MB of resident memory in a daemon that runs for months; the chart
# loads numpy itself when it is drawn.
if "sqlite_utils" not in sys.modules and "numpy" not in sys.modules:
    sys.modules["numpy"] = None  # type: ignore[assignment]  # "not installed", for now
    try:
        import gateway.store.db  # noqa: F401  # the store is what imports sqlite-utils
    finally:
        del sys.modules["numpy"]
