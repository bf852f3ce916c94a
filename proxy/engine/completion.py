"""The completion: from the upstream's replies to the encoded answer.

The replies either stand (a 2xx, or failures a gathering step accepts) and go through the
route's response steps, or the first failure becomes the client's problem through the route's
error rules. A reply that a later call was made in place of (``then`` with ``on_status``: a
call in progress has no record yet, so its live state is asked for) is set aside first: the
later answer is the one that counts. ``finish`` is also what ``dialect translate`` runs on a
body given offline, so a rule's effect there is the one a client sees.

A fetch then gets its validators, or the 304 that stands for it (``conditional``); an upstream
that answered the client's own condition with 304 is passed on as 304. An upstream error that
says when to come back (``Retry-After``, on a 503 or a 429) keeps saying it.
"""

from __future__ import annotations

from proxy.engine import conditional, render
from proxy.engine.errors import UpstreamProblem
from proxy.engine.exchange import Exchange, UpstreamReply
from proxy.engine.upstream_calls import UpstreamCalls, retry_after, upstream_problem
from proxy.http.headers import downstream_headers
from proxy.http.messages import Response


async def complete(ex: Exchange, calls: UpstreamCalls) -> Response:
    """From the upstream call to the encoded answer: the part a retry must not repeat."""
    ex.replies = await calls.make(ex)
    return conditional.revalidate(ex, finish(ex))


def finish(ex: Exchange) -> Response:
    """The answer to ``ex.replies``: response steps and render, or the upstream's problem."""
    route = ex.route
    assert route is not None
    replies = standing(ex.replies)
    first = replies[0]
    if first.status == 304 and conditional.not_modified_upstream(ex):
        return conditional.upstream_not_modified(first.headers)
    failures = [r for r in replies if not 200 <= r.status < 300]
    # Steps that gather fanned-out calls accept some 4xx answers (invalid destinations).
    tolerant = route.accepts_failures and all(400 <= r.status < 500 for r in failures)
    if failures and (not tolerant or len(failures) == len(replies)):
        failed = failures[0]
        raise UpstreamProblem(upstream_problem(route, failed), retry_after=retry_after(failed))
    ex.status, ex.body = first.status, first.body
    ex.headers = downstream_headers(first.headers)
    # The upstream's validators describe its own representation, not the one a client gets.
    ex.headers.popall("ETag", None)
    ex.headers.popall("Last-Modified", None)
    if ex.upstream_api_ids and route.settings.styles.upstream == "plivo":
        ex.headers["X-Upstream-Api-Id"] = ", ".join(dict.fromkeys(ex.upstream_api_ids))
    route.run_response_steps(ex)
    response = render.success(
        ex.body,
        style=route.client_style,
        fmt=ex.fmt,
        resource=route.resource_name(),
        status=ex.status,
        api_id=ex.api_id,
    )
    for key, value in ex.headers.items():
        if key.lower() not in ("content-type", "content-length"):
            response.headers.add(key, value)
    return response


def standing(replies: list[UpstreamReply]) -> list[UpstreamReply]:
    """The replies that answer the request: one that a later call was made in place of (a
    second call on the first one's failure, ``then`` with ``on_status``) no longer does, so
    the later call's answer, success or failure, is the one the client gets."""
    replaced = [r.call.replaces for r in replies if r.call.replaces is not None]
    if not replaced:
        return replies
    return [r for r in replies if not any(r is gone for gone in replaced)]
