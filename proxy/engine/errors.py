"""One error tree for the whole proxy.

Every failure a client can see is a :class:`ProxyError`. Each carries the HTTP status it maps to
and a neutral :class:`Problem`; the client's dialect decides how the problem looks on the wire
(Twilio ``{"code","message","more_info","status"}``, Plivo ``{"api_id","error"}``, XML, CSV).
Keeping the tree neutral is what lets one route answer in any style without special cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """A provider-neutral description of an error that is about to reach a client.

    ``code`` is a provider error code when one has been chosen (for example a Twilio code picked
    by the route's error rules); ``None`` lets the client's dialect pick its generic code.
    ``extra`` holds fields that some dialects render (Plivo list errors add ``objects``).
    """

    status: int
    message: str
    code: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ProxyError(Exception):
    """Base of every error the proxy turns into a client response.

    ``retry_after`` (seconds, or the upstream's own HTTP-date) becomes the answer's
    ``Retry-After`` header: a client told to come back later is told when.
    """

    status: int = 500
    default_message: str = "The proxy could not complete the request."
    retry_after: int | str | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        status: int | None = None,
        log_detail: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.code = code
        if status is not None:
            self.status = status
        # What only the log may see: internal detail that must never reach the client.
        self.log_detail = log_detail
        super().__init__(self.message)

    def problem(self) -> Problem:
        return Problem(status=self.status, message=self.message, code=self.code)


class ClientRequestError(ProxyError):
    """The client sent something the proxy cannot accept."""

    status = 400
    default_message = "The request could not be understood."


class AuthenticationFailed(ClientRequestError):
    status = 401
    default_message = "Authenticate"


class NotFound(ClientRequestError):
    status = 404
    default_message = "The requested resource was not found."


class MethodNotAllowed(ClientRequestError):
    status = 405
    default_message = "Method not allowed."


class PayloadTooLarge(ClientRequestError):
    status = 413
    default_message = "The request body is too large."


class URITooLong(ClientRequestError):
    status = 414
    default_message = "The request URL is too long."


class HeadersTooLarge(ClientRequestError):
    status = 431
    default_message = "The request headers are too large."


class TooManyRequests(ClientRequestError):
    """Too many failed authentications from one address; ``retry_after`` is in seconds."""

    status = 429
    default_message = "Too many failed authentication attempts; retry later."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after: int = retry_after


class UpstreamError(ProxyError):
    """The upstream could not be reached or answered something unusable."""

    status = 502
    default_message = "The upstream service could not be reached."


class UpstreamUnreachable(UpstreamError):
    """The connection was never made: the upstream certainly did not act on the request."""

    default_message = "The upstream service could not be reached."


class UpstreamUnavailable(UpstreamUnreachable):
    """The upstream's circuit is open (``proxy.engine.breaker``): nothing was sent, and the
    client is told when to come back. The route decides how it looks (``answer``), as it does
    for the upstream's own 503."""

    status = 503
    default_message = "The upstream service is unavailable; retry later."

    def __init__(self, retry_after: int, *, log_detail: str | None = None) -> None:
        super().__init__(
            f"The upstream service is unavailable; retry in {retry_after} s.",
            log_detail=log_detail,
        )
        self.retry_after = retry_after
        self._answer: Problem | None = None

    def answer(self, problem: Problem) -> UpstreamUnavailable:
        """The same refusal, as the route answers an upstream 503."""
        self._answer = problem
        self.status = problem.status
        return self

    def problem(self) -> Problem:
        return self._answer if self._answer is not None else super().problem()


class UpstreamTimeout(UpstreamError):
    status = 504
    default_message = "The upstream service did not answer in time."


class UpstreamUnreadable(UpstreamError):
    default_message = "The upstream service answered with a body that could not be read."


class UpstreamTooLarge(UpstreamError):
    default_message = "The upstream response was larger than the configured limit."


class UpstreamProblem(ProxyError):
    """The upstream answered with an error of its own, already mapped for the client."""

    def __init__(self, problem: Problem, *, retry_after: str | None = None) -> None:
        super().__init__(problem.message, code=problem.code, status=problem.status)
        self._problem = problem
        # The upstream's own Retry-After (a 503, a 429), passed on as it was given.
        self.retry_after = retry_after

    def problem(self) -> Problem:
        return self._problem


class StepError(ProxyError):
    """A pipeline step met data it cannot handle.

    The message names the route, the phase, the step index, its op and the data path, so that
    the config can be fixed from the log line alone. Request-phase failures are the client's
    (400); response-phase failures mean the upstream sent something unexpected (502).
    """

    def __init__(
        self,
        reason: str,
        *,
        route: str = "?",
        phase: str = "?",
        index: int | str = -1,
        op: str = "?",
        path: str = "",
        status: int | None = None,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        self.reason = reason
        self.route, self.phase, self.index, self.op, self.path = route, phase, index, op, path
        where = f"route {route!r}, {phase} step {index} ({op})"
        if path:
            where += f" at {path!r}"
        default_status = 400 if phase == "request" else 502
        super().__init__(
            message or f"Translation failed in {where}: {reason}",
            status=status if status is not None else default_status,
            code=code,
        )


class ConfigError(Exception):
    """A configuration that cannot serve. Carries every problem found, each with its location."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(self.report())

    def report(self) -> str:
        return "\n".join(f"{loc or '<root>'}: {msg}" for loc, msg in self.problems)
