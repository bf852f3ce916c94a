"""Build hook: the modules every request runs through, compiled to C with mypyc.

Why: on the bench machine the request path spent most of its CPU in the interpreter (small
objects, attribute lookups, calls between layers); mypyc turns the same typed source into a
C extension and took a translated fetch from about 120 to about 85 µs of CPU. The Python
source stays the only source: a build without a C compiler, without mypyc, or with
``DIALECT_COMPILE=0`` installs the same modules as plain Python and behaves the same.

``DIALECT_COMPILE``: unset, compile where possible and otherwise install pure Python (saying
why); ``1``, compile or fail the install (a build machine that must ship compiled code);
``0``, pure Python.

A build records the SHA-256 of each source it compiled (``RECORD``), so that an import can tell
a build older than its source (``proxy.runtime.build_info``).

The list is the request path only (CONTRIBUTING.md says what each module earns; ``make
share`` measures it). Modules that build pydantic models or generate code at run time
(settings, steps, the fused pipelines) stay interpreted: mypyc gains little there and would
constrain them. The converters are compiled: they are plain functions run per record.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

COMPILED = [
    "proxy/runtime/generation.py",
    "proxy/ops/tracecontext.py",
    "proxy/engine/auth.py",
    "proxy/codecs/json_codec.py",
    "proxy/codecs/form_codec.py",
    "proxy/pipeline/converter_kit.py",
    "proxy/pipeline/converters_amounts.py",
    "proxy/pipeline/converters_ids.py",
    "proxy/pipeline/converters_text.py",
    "proxy/pipeline/converters_time.py",
    "proxy/pipeline/converters_types.py",
    "proxy/providers/plivo/rest.py",
    "proxy/providers/twilio/rest.py",
    "proxy/providers/twilio/dates.py",
    "proxy/engine/exchange.py",
    "proxy/engine/handler.py",
    "proxy/engine/intake.py",
    "proxy/engine/idempotency.py",
    "proxy/engine/upstream_calls.py",
    "proxy/engine/completion.py",
    "proxy/engine/conditional.py",
    "proxy/engine/breaker.py",
    "proxy/http/headers.py",
    "proxy/http/client.py",
    "proxy/http/client_connection.py",
    "proxy/http/messages.py",
    "proxy/http/budget.py",
    "proxy/http/server.py",
    "proxy/http/server_answers.py",
    "proxy/http/server_connection.py",
    "proxy/http/server_limits.py",
    "proxy/ops/logs.py",
    "proxy/ops/metrics.py",
    "proxy/pipeline/runner.py",
    "proxy/engine/ratelimit.py",
    "proxy/engine/render.py",
    "proxy/engine/routing.py",
    "proxy/engine/upstream.py",
    "proxy/callbacks/tokens.py",
    "proxy/callbacks/signatures.py",
    "proxy/callbacks/issuer.py",
    "proxy/callbacks/app_client.py",
    "proxy/callbacks/relay.py",
]
# Where a build records what it compiled from (read by proxy/runtime/build_info.py).
RECORD = "proxy/runtime/compiled_sources.json"


_BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}
_MODE = os.environ.get("DIALECT_COMPILE", "")
_REQUIRED = _MODE == "1"
_HERE = Path(__file__).resolve().parent
# What this build compiles, module by module: filled just before mypyc reads the sources.
_SOURCES: dict[str, str] = {}


def _say(text: str) -> None:
    print(f"dialect build: {text}", file=sys.stderr)


def _without_compiled(reason: str) -> list[Any]:
    """Pure Python, or (``DIALECT_COMPILE=1``) no install at all."""
    if _REQUIRED:
        raise SystemExit(f"dialect build: DIALECT_COMPILE=1 and {reason}")
    _say(f"{reason}; installing the pure-Python modules")
    return []


class OptionalBuildExt(build_ext):
    """Builds the compiled modules if it can; if any fails, none is kept (the modules share
    one runtime library, so a partial set would not import) and the install is pure Python,
    unless ``DIALECT_COMPILE=1`` asked for compiled code, which fails the install."""

    def run(self) -> None:
        # build_ext.run clears ``inplace`` while it builds (an editable install copies the
        # extensions next to the sources afterwards); a failure must remove those copies too.
        self._to_sources = bool(self.inplace)
        try:
            super().run()
        except Exception as exc:  # a missing compiler or headers: CompileError, LinkError...
            self._remove_outputs()
            if _REQUIRED:
                raise
            _say(f"compiling failed ({exc}); installing the pure-Python modules")
            return
        if self.extensions:
            self._write_record()

    def _record_paths(self) -> list[Path]:
        paths = [Path(self.build_lib) / RECORD]
        if self._to_sources:  # an editable install: the extensions sit next to the sources
            paths.append(_HERE / RECORD)
        return paths

    def _write_record(self) -> None:
        text = json.dumps({"modules": _SOURCES}, indent=1, sort_keys=True) + "\n"
        for path in self._record_paths():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def _remove_outputs(self) -> None:
        for output in self.get_outputs():
            Path(output).unlink(missing_ok=True)
        if self._to_sources:
            self.inplace = True  # get_ext_fullpath names the copies next to the sources
            for ext in self.extensions:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
        for path in self._record_paths():
            path.unlink(missing_ok=True)


def _record_sources() -> None:
    for path in COMPILED:
        module = path.removesuffix(".py").replace("/", ".")
        _SOURCES[module] = hashlib.sha256((_HERE / path).read_bytes()).hexdigest()


def _extensions() -> list[Any]:
    if _MODE == "0":
        _say("DIALECT_COMPILE=0: pure-Python modules")
        return []
    if _MODE not in ("", "1"):
        raise SystemExit(f"dialect build: DIALECT_COMPILE is 0, 1 or unset, not {_MODE!r}")
    # Metadata-only runs (pip resolving dependencies) need no C code.
    if not set(sys.argv[1:]) & _BUILDS:
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        return _without_compiled("mypyc is not installed")
    _record_sources()
    try:
        return list(mypycify(COMPILED, opt_level="3", group_name="dialect"))
    except BaseException as exc:  # mypy reports type errors by exiting
        return _without_compiled(f"mypyc could not compile ({exc!r})")


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
