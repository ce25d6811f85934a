"""The HTTP session both token libraries use: our CA file and time-out, whatever the env.

requests lets ``$REQUESTS_CA_BUNDLE``/``$CURL_CA_BUNDLE`` override a session's ``verify``
(psf/requests#3829), so a configured ``ca_file`` would be silently ignored on hosts that
set those variables. Proxies from the environment still apply.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter


class TokenSession(requests.Session):
    """A requests session whose ``verify`` (True or a CA path) and time-out always hold."""

    def __init__(self, verify: bool | str = True, timeout: float = 30.0) -> None:
        super().__init__()
        self.verify = verify
        self.timeout = timeout
        adapter = HTTPAdapter(max_retries=1)  # one retry on a broken connection, as MSAL does
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        asked = kwargs.get("timeout")
        kwargs["timeout"] = self.timeout if asked is None else min(asked, self.timeout)
        return super().request(method, url, *args, **kwargs)

    def merge_environment_settings(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        settings = super().merge_environment_settings(*args, **kwargs)
        if self.verify is not True:
            settings["verify"] = self.verify
        return settings
