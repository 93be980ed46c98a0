"""Keeping channel credentials out of everything alert delivery says.

A webhook URL is a bearer credential: Slack, Teams and most custom hooks put the token in the
path or the query (``https://hooks.slack.com/services/T000/B000/XXXX``). Error texts from urllib,
http.client or a hook's own response can quote the URL, and an SMTP server can quote what the
client sent, so every message leaving this package is scrubbed of the exact secret strings of
the channel that produced it, not only shortened by pattern.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MASK = "***"
# Shorter fragments (a path segment such as "api" or "v1") are no secrets, and masking every
# occurrence of them would garble the message around them.
MIN_SECRET_CHARS = 4


def redact_url(url: str) -> str:
    """scheme://host[:port]/… : webhook paths and queries often carry the secret token. Never
    raises, whatever the text (it is only ever shown)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:  # a non-numeric port
            port = ""
    except ValueError:  # e.g. an unbalanced "[" in the host
        return "<unparseable URL>"
    if not parts.scheme or not host:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}/…"


def url_secrets(url: str) -> set[str]:
    """What of a webhook URL must never be shown, anywhere: the URL itself, its user info, path,
    query and fragment, raw and percent-decoded."""
    url = url.strip()
    if not url:
        return set()
    try:
        parts = urlsplit(url)
    except ValueError:
        return _with_decoded({url})
    userinfo = parts.netloc.rpartition("@")[0]
    password = userinfo.partition(":")[2]
    return _with_decoded({url, userinfo, password, parts.path, parts.query, parts.fragment})


def url_fragments(url: str) -> set[str]:
    """url_secrets plus each path segment and query value: masked in text from outside (an
    exception, a hook's response) that may quote a token on its own, but not in SafeBeat's own
    wording, where a segment such as "webhook" or "alerts" would garble the sentence."""
    found = url_secrets(url)
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return found
    if not parts.hostname:  # not even scheme://host: every piece may be the token
        pieces = url.strip().replace("?", "/").replace("&", "/").replace("=", "/").split("/")
        return found | _with_decoded(set(pieces))
    pieces = set(parts.path.split("/")) | set(parts.netloc.rpartition("@")[0].split(":"))
    for pair in parts.query.split("&"):
        pieces |= set(pair.partition("=")[::2])
    return found | _with_decoded(pieces)


def password_secrets(password: str, user: str = "") -> set[str]:
    """A password as the client may have sent it: plain, and base64 as in SMTP AUTH PLAIN/LOGIN."""
    if not password:
        return set()
    encoded = {
        base64.b64encode(text.encode("utf-8")).decode("ascii")
        for text in (password, f"\0{user}\0{password}", f"{user}\0{user}\0{password}")
    }
    return {password, *encoded}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret fragment masked, longest first (so a whole URL is masked before
    its parts)."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _with_decoded(fragments: set[str]) -> set[str]:
    return {f for f in fragments if f} | {unquote(f) for f in fragments if f}
