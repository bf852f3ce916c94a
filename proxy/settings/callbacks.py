"""The ``callbacks:`` block compiled: the token issuer, each kind's parameter steps, and the
request steps that hand the carrier callback URLs bound to that issuer.

Kept apart from ``loader``: callbacks are a subsystem of their own, and this is the one place
where the config's callback settings meet the rule engine.
"""

from __future__ import annotations

from proxy.callbacks.issuer import Issuer
from proxy.callbacks.plan import CallbackPlan, CompiledKind
from proxy.callbacks.tokens import derive_key
from proxy.engine.routing import Router
from proxy.providers.documents.tables import KIND_CONTINUE, URL_KINDS
from proxy.settings.models import ConfigModel
from proxy.steps.callback_url import CallbackUrl
from proxy.steps.registry import Problems, StepCompiler


def compile_callbacks(
    model: ConfigModel, router: Router, problems: Problems
) -> CallbackPlan | None:
    steps = [
        (f"routes[{i}].request[{j}]", step)
        for i, route in enumerate(router.routes)
        for j, step in enumerate(route.request_steps)
        if isinstance(step, CallbackUrl)
    ]
    settings = model.callbacks
    if settings is None:
        for where, _ in steps:
            problems.append((where, "a 'callback' step needs a 'callbacks:' block"))
        return None
    if settings.upstream not in model.upstreams:
        known = ", ".join(sorted(model.upstreams))
        problems.append(("callbacks.upstream", f"unknown upstream {settings.upstream!r} ({known})"))
        return None
    secrets = [
        secret.get_secret_value()
        for account in model.active_accounts
        for secret in (account.client.secret, account.upstream.secret)
    ]
    try:
        key, derived = derive_key(settings.secret.get_secret_value() or None, secrets)
    except ValueError as exc:
        problems.append(("callbacks.secret", str(exc)))
        return None
    issuer = Issuer(settings.public_url, key, settings.allow_hosts)
    for _, step in steps:
        step.bind(issuer)
    compiler = StepCompiler(model.pipelines)
    kinds: dict[str, CompiledKind] = {}
    for name, kind in settings.kinds.items():
        where = f"callbacks.kinds.{name}"
        if not all((c.isalpha() and c.islower()) or c == "-" for c in name) or len(name) > 32:
            problems.append((where, "a kind is 1-32 lower-case letters and '-'"))
            continue
        compiled = compiler.compile(kind.params, "request", f"{where}.params")
        kinds[name] = CompiledKind(name, kind.document, compiled)
    # Documents may ask for any of these: a config must say how each one's parameters go.
    needed = [*URL_KINDS, KIND_CONTINUE] if settings.app_style == "plivo" else list(URL_KINDS)
    for name in needed:
        if name not in kinds:
            problems.append(("callbacks.kinds", f"kind {name!r} is missing (app documents use it)"))
    for where, step in steps:
        if step.kind not in kinds:
            problems.append((where, f"callback kind {step.kind!r} is not under callbacks.kinds"))
    problems.extend(p for p in dict.fromkeys(compiler.problems) if p not in problems)
    carrier = model.upstreams[settings.upstream].style
    return CallbackPlan(issuer, kinds, carrier, derived)
