"""The ``callbacks:`` block compiled: the token issuer, each kind's parameter steps and id
alias, and the request steps that hand the carrier callback URLs bound to that issuer; and the
routes' ``resolve`` settings checked against the aliases the kinds record.

Kept apart from ``loader``: callbacks are a subsystem of their own, and this is the one place
where the config's callback settings meet the rule engine and the routes.
"""

from __future__ import annotations

from proxy.callbacks.aliases import CompiledAlias
from proxy.callbacks.issuer import Issuer
from proxy.callbacks.plan import CallbackPlan, CompiledKind
from proxy.callbacks.tokens import derive_key
from proxy.engine.routing import PathTemplate, Router
from proxy.pipeline.converters import build_converter
from proxy.providers.documents.tables import KIND_CONTINUE, URL_KINDS
from proxy.settings.models import CallbackKind, ConfigModel
from proxy.steps.callback_url import CallbackUrl
from proxy.steps.registry import Problems, StepCompiler


def compile_callbacks(
    model: ConfigModel, router: Router, problems: Problems
) -> CallbackPlan | None:
    plan = _compile(model, router, problems)
    _check_resolves(model, router, plan, problems)
    return plan


def _compile(model: ConfigModel, router: Router, problems: Problems) -> CallbackPlan | None:
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
        kinds[name] = CompiledKind(name, kind.document, compiled, _alias(kind, where, problems))
    # Documents may ask for any of these: a config must say how each one's parameters go.
    needed = [*URL_KINDS, KIND_CONTINUE] if settings.app_style == "plivo" else list(URL_KINDS)
    for name in needed:
        if name not in kinds:
            problems.append(("callbacks.kinds", f"kind {name!r} is missing (app documents use it)"))
    for where, step in steps:
        if step.kind not in kinds:
            problems.append((where, f"callback kind {step.kind!r} is not under callbacks.kinds"))
        elif step.always and kinds[step.kind].document != "none":
            problems.append(
                (
                    f"{where}.always",
                    f"kind {step.kind!r} is answered with a document, which a URL with no app "
                    "behind it has none of: only 'document: none' kinds may be 'always'",
                )
            )
        elif step.always and kinds[step.kind].alias is None:
            problems.append(
                (
                    f"{where}.always",
                    f"a URL with no app behind it only records the kind's alias: kind "
                    f"{step.kind!r} records none (an 'alias: {{name: …}}' under callbacks.kinds)",
                )
            )
    problems.extend(p for p in dict.fromkeys(compiler.problems) if p not in problems)
    carrier = model.upstreams[settings.upstream].style
    return CallbackPlan(issuer, kinds, carrier, derived)


def _alias(kind: CallbackKind, where: str, problems: Problems) -> CompiledAlias | None:
    spec = kind.alias
    if spec is None:
        return None
    if spec.from_ == spec.to:
        problems.append((f"{where}.alias", "'from' and 'to' must name two parameters"))
        return None
    convert = None
    if spec.with_ is not None:
        if isinstance(spec.with_, dict) and len(spec.with_) != 1:
            problems.append((f"{where}.alias.with", "maps exactly one converter to its arguments"))
            return None
        name, args = (
            (spec.with_, None) if isinstance(spec.with_, str) else next(iter(spec.with_.items()))
        )
        try:
            convert = build_converter(name, args)
        except ValueError as exc:
            problems.append((f"{where}.alias.with", str(exc)))
            return None
    return CompiledAlias(spec.name, spec.from_, spec.to, convert)


def _check_resolves(
    model: ConfigModel, router: Router, plan: CallbackPlan | None, problems: Problems
) -> None:
    """A route's ``resolve`` must be able to find something: an alias some kind records, for
    the upstream the callbacks come from, keyed by an account (so the route authenticates),
    and fields that exist (``path``) and that it may write (``into``)."""
    recorded = {k.alias.name for k in plan.kinds.values() if k.alias} if plan else set()
    carrier = model.callbacks.upstream if model.callbacks is not None else None
    templates: dict[str, PathTemplate] = {r.name: r.template for r in router.routes}
    for i, route in enumerate(model.routes):
        spec = route.resolve
        if spec is None:
            continue
        where = f"routes[{i}].resolve"
        template = templates.get(route.name)
        fields = [n for n in template.names if n != "ext"] if template else []
        if spec.path is not None and template is not None and spec.path not in fields:
            known = ", ".join(fields) or "none"
            problems.append((f"{where}.path", f"{spec.path!r} is not a path field ({known})"))
        if spec.path is not None and spec.target != spec.path and spec.target in fields:
            problems.append((f"{where}.into", f"would overwrite the path field {spec.target!r}"))
        if not route.auth:
            problems.append((where, "needs 'auth: true': aliases are kept per upstream account"))
        if spec.alias not in recorded:
            problems.append(
                (
                    f"{where}.alias",
                    f"no callback kind records alias {spec.alias!r} "
                    "(an 'alias: {name: …}' under callbacks.kinds)",
                )
            )
        elif carrier is not None and route.upstream != carrier:
            problems.append(
                (
                    where,
                    f"aliases are recorded for upstream {carrier!r} (callbacks.upstream), "
                    f"not {route.upstream!r}",
                )
            )
