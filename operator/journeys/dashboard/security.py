"""Who may talk to the dashboard: the person who launched it, from their own browser, only.

The dashboard acts with the user's kubeconfig, so anything that reaches it can close or stop
journeys as that person. Four layers keep others out (docs/dashboard.md, "Security model"):

- a random token per launch, printed in the URL, exchanged on first visit for an HttpOnly,
  SameSite=Strict session cookie; every other request without that cookie gets 401;
- the ``Host`` header must name the dashboard itself (DNS rebinding: a hostile site resolving its
  own name to 127.0.0.1 sends its own Host);
- every state-changing request is a POST with a CSRF token (bound to the session) and an
  ``Origin`` equal to the dashboard's own; there is no CORS, so other origins cannot read answers;
- security headers: a Content-Security-Policy without inline script and with
  ``frame-ancestors 'none'``, ``Referrer-Policy: no-referrer``, no caching of pages.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

TOKEN_PARAMETER: Final = "token"
CSRF_HEADER: Final = "X-CSRF-Token"
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
SAFE_METHODS: Final = frozenset({"GET", "HEAD"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(address: str) -> bool:
    """Whether binding ``address`` keeps the dashboard on this machine only."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "[::1]"})
ANY_ADDRESS: Final = frozenset({"0.0.0.0", "::", "[::]"})


def host_names(address: str, port: int) -> frozenset[str]:
    """The ``Host`` values a browser sends for the dashboard bound on ``address:port``.

    Bound on every interface (asked for explicitly), the machine's own names and addresses
    are its names too; any other Host (a rebound DNS name) is still refused.
    """
    names = {f"[{address}]" if ":" in address and not address.startswith("[") else address}
    if is_loopback(address) or address in ANY_ADDRESS:
        names |= LOOPBACK_NAMES
    if address in ANY_ADDRESS:
        names |= machine_names()
    return frozenset(f"{name}:{port}" for name in names)


def machine_names() -> set[str]:
    """This machine's host name, FQDN and the addresses they resolve to (no network I/O but
    the resolver's)."""
    names = {socket.gethostname(), socket.getfqdn()}
    with contextlib.suppress(OSError):
        names |= set(socket.gethostbyname_ex(socket.gethostname())[2])
    return {name.lower() for name in names if name}


@dataclass(frozen=True)
class Guard:
    """The launch's secrets and the checks made on every request.

    ``token`` opens a session (it is printed, so whoever reads the terminal may sign in); the
    cookie's value is another random secret. The CSRF token is an HMAC of the session: it needs
    no server-side storage and is worth nothing without the cookie.
    """

    port: int
    hosts: frozenset[str]
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @classmethod
    def for_address(cls, address: str, port: int) -> Guard:
        return cls(port=port, hosts=host_names(address, port))

    @property
    def cookie(self) -> str:
        """Cookies ignore ports: the name carries the port so two dashboards do not collide."""
        return f"journeys-dashboard-{self.port}"

    @property
    def csrf(self) -> str:
        return hmac.new(self.key, self.session.encode(), hashlib.sha256).hexdigest()

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}{path}?{TOKEN_PARAMETER}={self.token}"

    # --- checks ------------------------------------------------------------------------------

    def host_ok(self, host: str | None) -> bool:
        return host is not None and host.lower() in self.hosts

    def has_session(self, cookie: str | None) -> bool:
        return cookie is not None and secrets.compare_digest(cookie, self.session)

    def token_ok(self, token: str | None) -> bool:
        return token is not None and secrets.compare_digest(token, self.token)

    def origin_ok(self, origin: str | None, host: str | None) -> bool:
        """A POST's ``Origin`` is the dashboard itself: ``http://`` and an allowed Host."""
        if not origin or not self.host_ok(host):
            return False
        parts = urlsplit(origin)
        return parts.scheme == "http" and parts.netloc.lower() == (host or "").lower()

    def csrf_ok(self, value: str | None) -> bool:
        return value is not None and secrets.compare_digest(value, self.csrf)

    def refusal(self, request: web.Request) -> web.Response | None:
        """Why ``request`` is refused (a response), or None to let it through."""
        host = request.headers.get("Host")
        if not self.host_ok(host):
            return plain(421, "This dashboard answers only to its own address.")
        if request.method not in SAFE_METHODS and request.method != "POST":
            return plain(405, "Method not allowed.")
        if not self.has_session(request.cookies.get(self.cookie)):
            return plain(
                401,
                "Not signed in: open the URL that `kubectl journey dashboard` printed "
                "(it carries this launch's token).",
            )
        if request.method == "POST":
            if not self.origin_ok(request.headers.get("Origin"), host):
                return plain(403, "Refused: the request does not come from the dashboard's page.")
            if not self.csrf_ok(request.headers.get(CSRF_HEADER)):
                return plain(403, "Refused: the request carries no valid CSRF token.")
        return None

    # --- the middleware ----------------------------------------------------------------------

    def middleware(self) -> Middleware:
        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            response: web.StreamResponse | None = self._exchange(request) or self.refusal(request)
            if response is None:
                try:
                    response = await handler(request)
                except web.HTTPException as error:
                    secure(error)
                    raise
            secure(response)
            return response

        return guard

    def _exchange(self, request: web.Request) -> web.Response | None:
        """The first visit: a valid ``?token=`` becomes the cookie, and the browser is sent to
        the same page without the token (out of history, never in a Referer)."""
        token = request.query.get(TOKEN_PARAMETER)
        if token is None or request.method != "GET":
            return None
        if not self.host_ok(request.headers.get("Host")):
            return None
        if not self.token_ok(token):
            return plain(401, "This token is not the one of this launch: use the printed URL.")
        query = {k: v for k, v in request.query.items() if k != TOKEN_PARAMETER}
        target = request.rel_url.with_query(query)
        response = web.Response(status=303, headers={"Location": str(target)})
        response.set_cookie(self.cookie, self.session, httponly=True, samesite="Strict", path="/")
        return response


def secure(response: web.StreamResponse) -> None:
    """The security headers on every answer (set before a stream is prepared)."""
    if response.prepared:
        return
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain")
