"""Open an app's URL from a notebook and show that it answers: status, page title, and a wait that
polls until the app is up (after a start or restart its service needs a moment)."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# App URLs of simulated and LAN hosts must never go through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Page:
    url: str
    status: int
    title: str
    body: str

    def __str__(self) -> str:
        return f"GET {self.url} -> {self.status} {self.title!r}"


def fetch_page(url: str, timeout_s: float = 10.0) -> Page:
    """GET the URL; an HTTP error status is a ``Page`` too (the app answered). Connection errors raise
    ``OSError`` (``urllib.error.URLError`` is one)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    try:
        with _OPENER.open(url, timeout=timeout_s) as answer:
            status, raw = int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        status, raw = int(error.code), error.read()
    body = raw.decode("utf-8", errors="replace")
    match = TITLE.search(body)
    return Page(url=url, status=status, title=match.group(1).strip() if match else "", body=body)


def answers(url: str, timeout_s: float = 2.0) -> bool:
    """True when something answers 2xx at the URL now."""
    try:
        return 200 <= fetch_page(url, timeout_s).status < 300
    except OSError:
        return False


def wait_for_page(url: str, *, timeout_s: float = 60.0, interval_s: float = 0.2) -> Page:
    """Poll until the URL answers 2xx; raises ``TimeoutError`` with the last answer or error."""
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while True:
        try:
            page = fetch_page(url, timeout_s=min(5.0, timeout_s))
            if 200 <= page.status < 300:
                return page
            last = f"HTTP {page.status}"
        except OSError as error:
            last = f"{type(error).__name__}: {error}"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{url} did not answer within {timeout_s:.0f}s (last: {last})")
        time.sleep(interval_s)
