"""Plivo's ``redirect="false"`` on a Twilio carrier: the ``continue`` URL.

Plivo can call an element's action, ignore its answer and go on with the document; TwiML cannot.
So the action a Plivo element gets in TwiML is either its own action (Plivo redirects to it) or a
URL of kind ``continue`` through which the proxy plays Plivo's part: it calls the app's action
(if any) and answers the carrier with the TwiML of the elements that followed. What the
``extra`` of such a URL holds is the public contract in the ``translate`` module notes.

This needs the TwiML of everything after the element, which is why Plivo documents are
translated back to front (``to_twiml``) and each position's output is kept on the context.

May import: the standard library, ``tables``, ``context`` and ``output``.
"""

from __future__ import annotations

from collections.abc import Mapping

from proxy.providers.documents import tables as t
from proxy.providers.documents.context import Attrs, Context
from proxy.providers.documents.output import compact


def rest(ctx: Context, index: int) -> str:
    """The translated TwiML after top-level element ``index`` (already built: back to front)."""
    return compact([out for i in sorted(ctx.outputs) if i > index for out in ctx.outputs[i]])


def action(
    ctx: Context,
    a: Attrs,
    index: int,
    *,
    implicit_continue: bool,
    extra: Mapping[str, str] | None = None,
) -> str | None:
    """The TwiML action for a Plivo element: its own action when Plivo redirects to it, else
    a ``continue`` URL through which the proxy calls it (if any) and answers with the rest."""
    found = a.take("action")
    redirect = a.take("redirect") or "true"
    method = a.method("method")
    where = f"action on <{a.tag}>"
    if found is not None and redirect == "true":
        return ctx.route_attribute(a, "action", found, method=method, extra=extra)
    if found is None and not implicit_continue:
        return None
    payload = {
        "action": ctx.resolve(found, where) if found is not None else "",
        "method": method,
        "element": a.tag,
        "rest": rest(ctx, index),
        **(extra or {}),
    }
    target = payload["action"] or ctx.document_url
    return ctx.route(target, kind=t.KIND_CONTINUE, method=method, where=where, extra=payload)
