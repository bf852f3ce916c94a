"""Reads a YAML config, interpolates ``${VAR}`` / ``${VAR:-default}``, validates and compiles it.

Every problem is collected before anything is reported, each with its location
(``routes[3].response[1].map``), because fixing one error per run is a miserable way to write
a config. A config with any problem raises :class:`ConfigError` and never serves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from proxy.callbacks.plan import CallbackPlan
from proxy.engine.errors import ConfigError
from proxy.engine.routing import CompiledRoute, ErrorRules, PathTemplate, Router
from proxy.pipeline.fused import fuse_phase
from proxy.settings.callbacks import compile_callbacks
from proxy.settings.models import ConfigModel, ErrorRule
from proxy.steps.registry import Problems, StepCompiler, validation_problems

PLACEHOLDER_SID = "AC" + "0" * 32
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL", re.IGNORECASE)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Config:
    """A validated, compiled config: what the app serves."""

    def __init__(
        self,
        model: ConfigModel,
        router: Router,
        source: str,
        env_secrets: list[str] | None = None,
        callbacks: CallbackPlan | None = None,
    ) -> None:
        self.model = model
        self.router = router
        self.source = source
        self.env_secrets = env_secrets or []
        self.callbacks = callbacks

    @property
    def secrets(self) -> list[str]:
        """Every configured secret, so that logs and reports can be scrubbed of them."""
        out: list[str] = []
        for account in self.model.active_accounts:
            for value in (account.client.secret, account.upstream.secret):
                text = value.get_secret_value()
                if text:
                    out.append(text)
        return out + self.env_secrets


def load_config(
    path: str | Path, env: Mapping[str, str] | None = None, *, offline: bool = False
) -> Config:
    """``offline``: unset variables without a default read as placeholders (``dialect translate``
    needs no secrets); a config loaded so must never serve."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([("", f"cannot read {p}: {exc.strerror}")]) from None
    return load_config_text(text, env=env, source=str(p), offline=offline)


def load_config_text(
    text: str,
    env: Mapping[str, str] | None = None,
    source: str = "<text>",
    *,
    offline: bool = False,
) -> Config:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError([(where, f"YAML: {problem}")]) from None
    if not isinstance(raw, dict):
        raise ConfigError([("", "the config must be a mapping with 'upstreams' and 'routes'")])
    problems: Problems = []
    environment = os.environ if env is None else env
    raw = _interpolate(raw, environment, "", problems, offline)
    # Variables whose names say they are secret are scrubbed from logs wherever they end up.
    names = dict.fromkeys(m.group(1) for m in _VAR.finditer(text))
    env_secrets = [
        environment[name] for name in names if _SECRET_NAME.search(name) and environment.get(name)
    ]
    try:
        model = ConfigModel.model_validate(raw)
    except ValidationError as exc:
        problems.extend(validation_problems("", exc))
        problems.extend(_step_problems(raw))
        raise ConfigError(problems) from None
    router = _compile(model, problems)
    callbacks = compile_callbacks(model, router, problems)
    if problems:
        raise ConfigError(problems)
    return Config(model, router, source, env_secrets, callbacks)


def _step_problems(raw: dict[str, Any]) -> Problems:
    """Step problems, for a config whose structure failed: every problem is reported at once."""
    pipelines = raw.get("pipelines")
    compiler = StepCompiler(pipelines if isinstance(pipelines, dict) else {})
    routes = raw.get("routes")
    for i, route in enumerate(routes if isinstance(routes, list) else []):
        if isinstance(route, dict):
            for phase in ("request", "response"):
                compiler.compile(route.get(phase), phase, f"routes[{i}].{phase}")
    return list(dict.fromkeys(compiler.problems))


def _interpolate(
    value: Any, env: Mapping[str, str], where: str, problems: Problems, offline: bool
) -> Any:
    if isinstance(value, dict):
        return {
            k: _interpolate(v, env, f"{where}.{k}" if where else str(k), problems, offline)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _interpolate(v, env, f"{where}[{i}]", problems, offline) for i, v in enumerate(value)
        ]
    if not isinstance(value, str) or "${" not in value:
        return value

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is not None:
            return default
        if offline:
            return PLACEHOLDER_SID if name.endswith("ACCOUNT_SID") else f"<{name}>"
        problems.append((where, f"environment variable {name} is not set and has no default"))
        return ""

    return _VAR.sub(sub, value)


def _compile(model: ConfigModel, problems: Problems) -> Router:
    compiler = StepCompiler(model.pipelines)
    routes: list[CompiledRoute] = []
    names: set[str] = set()
    for i, r in enumerate(model.routes):
        where = f"routes[{i}]"
        if r.name in names:
            problems.append((f"{where}.name", f"duplicate route name {r.name!r}"))
        names.add(r.name)
        if r.upstream not in model.upstreams:
            known = ", ".join(sorted(model.upstreams))
            problems.append(
                (f"{where}.upstream", f"unknown upstream {r.upstream!r} (known: {known})")
            )
        elif model.upstreams[r.upstream].style != r.styles.upstream:
            problems.append(
                (
                    f"{where}.styles.upstream",
                    f"upstream {r.upstream!r} speaks the "
                    f"{model.upstreams[r.upstream].style} style, not {r.styles.upstream}",
                )
            )
        if r.match.path.startswith("/_dialect/"):
            problems.append(
                (f"{where}.match.path", "/_dialect/ is reserved for health and metrics")
            )
        try:
            template = PathTemplate(r.match.path)
        except ValueError as exc:
            problems.append((f"{where}.match.path", str(exc)))
            continue
        rules: list[ErrorRule] = []
        if isinstance(r.errors, str):
            if r.errors not in model.error_maps:
                problems.append((f"{where}.errors", f"unknown error map {r.errors!r}"))
            else:
                rules = list(model.error_maps[r.errors])
        elif r.errors is not None:
            rules = list(r.errors)
        request = compiler.compile(r.request, "request", f"{where}.request")
        response = compiler.compile(r.response, "response", f"{where}.response")
        routes.append(
            CompiledRoute(
                settings=r,
                template=template,
                request_steps=tuple(request),
                request=fuse_phase(request, f"{where}.request", "request"),
                response=fuse_phase(response, f"{where}.response", "response"),
                response_steps=tuple(response),
                error_rules=ErrorRules(rules),
            )
        )
    for name in model.pipelines:
        if not compiler.used(name):
            # Report problems in pipelines even when no route uses them yet.
            compiler.pipeline(name, "any", f"pipelines.{name}")
    problems.extend(p for p in dict.fromkeys(compiler.problems) if p not in problems)
    if not model.active_accounts and any(r.auth for r in model.routes):
        problems.append(("accounts", "routes require authentication but no account is configured"))
    return Router(routes, default_style=model.server.default_style)
