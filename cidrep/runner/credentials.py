"""Where a credential may go: origins, and the rule for requests and redirects.

A credential (any spelling of a secret the redactor knows, in the URL, a query
parameter or a header) may be sent only to the origin (scheme, host, port) of the
source's ``base_url``. ``HttpSession`` applies this to every request and to every
redirect hop before it is sent; these are the pure parts of that rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx

from cidrep.contract import SourceSettings
from cidrep.redaction import Redactor

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]
AUTH_HEADERS = ("authorization", "proxy-authorization")


def origin(url: httpx.URL | str) -> Origin:
    """(scheme, host, port) of ``url``, the default port made explicit."""
    u = httpx.URL(url) if isinstance(url, str) else url
    return u.scheme, u.host.lower(), u.port or DEFAULT_PORTS.get(u.scheme, 0)


def where(url: httpx.URL | str) -> str:
    """``host`` or ``host:port`` when the port is not the scheme's default."""
    scheme, host, port = origin(url)
    return host if port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"


def host_of(url: str) -> str:
    return urlsplit(url).hostname or "the source"


def session_redactor(
    settings: SourceSettings, redact: Redactor | Callable[[str], str] | None
) -> tuple[Callable[[str], str], list[str]]:
    """The message redactor and every secret spelling to guard.

    The source's own secrets are always included, whatever the caller passed, so a
    session never leaks the credential it sends even with a partial redactor.
    """
    own = settings.redactor()
    if redact is None:
        return own, own.forms
    given = getattr(redact, "forms", None) or []
    forms = sorted(set(own.forms) | set(given), key=len, reverse=True)
    if isinstance(redact, Redactor) and set(own.forms) <= set(given):
        return redact, forms
    return (lambda text: own.one_line(redact(text))), forms


def carries(
    forms: Iterable[str], request: httpx.Request, url: str, params: dict[str, Any] | None
) -> bool:
    """Whether the request carries a credential: an ``Authorization`` header (whatever
    it encodes: ``Basic base64(user:secret)`` hides the secret's spellings), or any
    spelling of any known secret in the URL, params or headers."""
    if any(name in request.headers for name in AUTH_HEADERS):
        return True
    forms = list(forms)
    if not forms:
        return False
    texts = [url, str(request.url), *request.headers.values()]
    for key, value in (params or {}).items():
        texts += [str(key), str(value)]
    return any(form in text for text in texts for form in forms)


def refusal(url: httpx.URL, base: Origin | None, base_url: str) -> str:
    """Why a request carrying a credential to ``url`` is not sent."""
    to = f"not sending a credential to {where(url)}"
    if base is None:
        return f"{to}: base_url is not set, so no host may receive it"
    return f"{to}: only {base[0]}://{where(base_url)} (base_url) may receive it"


def redirect_target(current: httpx.URL, location: str) -> httpx.URL | None:
    """``location`` resolved against the current URL; None unless it is http(s)."""
    try:
        target = current.join(location)
    except httpx.InvalidURL:
        return None
    if target.scheme not in DEFAULT_PORTS or not target.host:
        return None
    return target
