"""Build hook: the modules every request runs through, compiled to C with mypyc.

Why: on the bench machine the request path spent most of its CPU in the interpreter (small
objects, attribute lookups, calls between layers); mypyc turns the same typed source into a
C extension and took a translated fetch from about 120 to about 85 µs of CPU. The Python
source stays the only source: a build without a C compiler, without mypyc, or with
``DIALECT_COMPILE=0`` installs the same modules as plain Python and behaves the same.

The list is the request path only. Modules that build pydantic models or generate code at
run time (settings, steps, converters, the fused pipelines) stay interpreted: mypyc gains
little there and would constrain them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

COMPILED = [
    "proxy/runtime/generation.py",
    "proxy/engine/auth.py",
    "proxy/codecs/json_codec.py",
    "proxy/pipeline/converters.py",
    "proxy/providers/plivo/rest.py",
    "proxy/providers/twilio/rest.py",
    "proxy/engine/exchange.py",
    "proxy/engine/handler.py",
    "proxy/http/headers.py",
    "proxy/http/client.py",
    "proxy/http/messages.py",
    "proxy/http/server.py",
    "proxy/ops/logs.py",
    "proxy/ops/metrics.py",
    "proxy/pipeline/kernels.py",
    "proxy/pipeline/runner.py",
    "proxy/engine/ratelimit.py",
    "proxy/engine/render.py",
    "proxy/engine/routing.py",
    "proxy/engine/upstream.py",
]


_BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}


def _say(text: str) -> None:
    print(f"dialect build: {text}", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """Builds the compiled modules if it can; if any fails, none is kept (the modules share
    one runtime library, so a partial set would not import) and the install is pure Python."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # a missing compiler or headers: CompileError, LinkError...
            _say(f"compiling failed ({exc}); installing the pure-Python modules")
            self._remove_outputs()

    def _remove_outputs(self) -> None:
        for output in self.get_outputs():
            Path(output).unlink(missing_ok=True)
        if self.inplace:
            for ext in self.extensions:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)


def _extensions() -> list[Any]:
    if os.environ.get("DIALECT_COMPILE", "1") == "0":
        _say("DIALECT_COMPILE=0: pure-Python modules")
        return []
    # Metadata-only runs (pip resolving dependencies) need no C code.
    if not set(sys.argv[1:]) & _BUILDS:
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _say("mypyc is not installed; installing the pure-Python modules")
        return []
    try:
        return list(mypycify(COMPILED, opt_level="3", group_name="dialect"))
    except BaseException as exc:  # mypy reports type errors by exiting
        _say(f"mypyc could not compile ({exc!r}); installing the pure-Python modules")
        return []


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
