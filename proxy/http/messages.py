"""The request and response as the proxy sees them: plain data, no I/O.

The listening side (``proxy.http.server``) parses bytes into a :class:`Request` and writes a
:class:`Response` back; everything between works on these two types only. Keeping them this
small is what makes a proxied request cheap: no lazily parsed URL objects, no stream readers,
no per-request property caches, nothing the pass does not read.
"""

from __future__ import annotations

from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy


class Request:
    """One complete request: headers and the whole body, already bounded by the server."""

    # A plain class, not a dataclass: compiled, a dataclass's generated __init__ stays
    # interpreted Python, and one is made per request.
    __slots__ = ("body", "headers", "method", "remote", "scheme", "target")

    def __init__(
        self,
        method: str,
        target: str,
        headers: CIMultiDictProxy[str],
        body: bytes = b"",
        remote: str | None = None,
        scheme: str = "http",
    ) -> None:
        self.method = method
        # The request target exactly as received (origin form ``/path?query``), not decoded.
        self.target = target
        self.headers = headers
        self.body = body
        # The peer's address, or None when the transport does not say.
        self.remote = remote
        self.scheme = scheme

    def __repr__(self) -> str:
        return f"Request({self.method} {self.target})"

    @property
    def path(self) -> str:
        """The raw path: the target up to ``?``, still percent-encoded."""
        return self.target.partition("?")[0]

    @property
    def content_type(self) -> str:
        """The media type, lower case, without parameters ('' when there is none)."""
        return self.headers.get("Content-Type", "").partition(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for param in self.headers.get("Content-Type", "").split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset":
                return value.strip().strip('"') or None
        return None


class Response:
    """Status, headers and the whole body. The server adds Content-Length, Date, Connection."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        *,
        content_type: str | None = None,
        headers: Any = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers: CIMultiDict[str] = CIMultiDict(headers) if headers else CIMultiDict()
        if content_type is not None:
            self.headers["Content-Type"] = content_type

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").partition(";")[0].strip().lower()

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)} bytes>"
