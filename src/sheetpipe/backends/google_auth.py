"""Credentials and the HTTP session the Google backend talks through.

The key file is found where the user said, else GOOGLE_APPLICATION_CREDENTIALS, else
gspread's default location. Its `token_uri` is honoured as google-auth does. Reads are
retried by urllib3 (429 and 5xx, truncated exponential backoff with jitter, Retry-After
honoured); writes never are: whether a failed write landed is decided by reading again
(see backends/google.py). Every request has a timeout (gspread's default is none).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account
from urllib3.util.retry import Retry

from sheetpipe.errors import ConfigError

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
GSPREAD_DEFAULT_KEY = Path("~/.config/gspread/service_account.json")
GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
ENDPOINT_ENV = "SHEETPIPE_GOOGLE_API_ENDPOINT"
TIMEOUT = (10.0, 120.0)  # connect, read (seconds)


def find_key(configured: str, base: Path) -> Path:
    """The key file to use, by the documented order; ConfigError when there is none."""
    if configured:
        path = (base / Path(configured).expanduser()).resolve()
        where = f"[sheet] credentials = {configured!r}"
    elif os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        path = Path(os.environ["GOOGLE_APPLICATION_CREDENTIALS"]).expanduser()
        where = "GOOGLE_APPLICATION_CREDENTIALS"
    else:
        path = GSPREAD_DEFAULT_KEY.expanduser()
        where = "gspread's default key location"
    if not path.is_file():
        raise ConfigError(
            f"{where}: no key file at {path}. Download a service-account key (JSON) from the "
            "Google Cloud console and set [sheet] credentials to its path."
        )
    return path


def load_credentials(path: Path) -> service_account.Credentials:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable JSON key file ({exc}).") from exc
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigError(
            f'{path}: not a service-account key (its "type" is not "service_account"). '
            "Create a key for a service account in the Google Cloud console."
        )
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise ConfigError(f"{path}: the key lacks {', '.join(missing)}; download a new key.")
    try:
        return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    except ValueError as exc:
        raise ConfigError(f"{path}: the private key cannot be read ({exc}).") from exc


def read_retry(attempts: int = 5, backoff: float = 0.5, backoff_max: float = 32.0) -> Retry:
    """Retries for idempotent reads only; POST (our one write) is never resent here."""
    return Retry(
        total=attempts,
        connect=attempts,
        read=attempts,
        status=attempts,
        backoff_factor=backoff,
        backoff_max=backoff_max,
        backoff_jitter=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class _Redirect(requests.adapters.HTTPAdapter):
    """Sends Google's API hosts to another endpoint (the local emulator in tests)."""

    def __init__(self, endpoint: str, **kwargs):
        self.endpoint = endpoint.rstrip("/")
        super().__init__(**kwargs)

    def send(self, request, **kwargs):  # noqa: ANN001, ANN201 (requests' own signature)
        for host in GOOGLE_HOSTS:
            if request.url.startswith(host):
                request.url = self.endpoint + request.url[len(host) :]
                break
        return super().send(request, **kwargs)


def make_session(
    credentials: service_account.Credentials, endpoint: str | None, retry: Retry
) -> AuthorizedSession:
    session = AuthorizedSession(credentials)
    endpoint = endpoint or os.environ.get(ENDPOINT_ENV) or None
    if endpoint:
        adapter: requests.adapters.HTTPAdapter = _Redirect(endpoint, max_retries=retry)
        for host in GOOGLE_HOSTS:
            session.mount(host, adapter)
    else:
        adapter = requests.adapters.HTTPAdapter(max_retries=retry)
        session.mount("https://", adapter)
    return session
