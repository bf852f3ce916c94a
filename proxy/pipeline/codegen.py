"""Generated code that stays visible: the text of every function Dialect writes, kept.

Steps and fused record pipelines are Python source written when the config loads (see
``writer``, ``one_step`` and ``fused``). Each function is compiled under a pseudo-filename of
its own, ``<dialect TITLE #HASH>`` (the title names the config location, the hash the text), and
its text is registered in ``linecache``: tracebacks and debuggers show the generated lines,
``inspect.getsource`` returns them, and ``dialect translate --show-code`` prints them. The same
text always gets the same name, so a name in a log line can be found again.

Safety: the text is made only from the fixed templates in ``rules`` and the step modules, with
identifiers the generator chooses. Every value that comes from a config (keys, literal text,
tables, converters, defaults) is a bound constant referred to by a generated name (``_c12``);
the comment block at the top of each function shows each constant's ``ascii`` form on one line
(without object addresses, so that the same config always gives the same text and name), for
reading only, so no config string is ever code.
"""

from __future__ import annotations

import hashlib
import linecache
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_TITLE_CHARS = 80
_CONST_CHARS = 100
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # object addresses differ from run to run


class Source:
    """The text of one generated function being written, and the constants it refers to."""

    def __init__(self, title: str) -> None:
        self.title = _one_line(title, _TITLE_CHARS)
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.depth = 1  # inside the function's ``def``
        self._temps = [0]  # shared with ``sub`` sources: one function, one set of names
        self.written = 0  # lines written by ``line`` (a writer may also insert some earlier)

    def const(self, value: Any) -> str:
        """A name bound to ``value`` in the function's namespace."""
        name = f"_c{len(self.consts)}"
        self.consts[name] = value
        return name

    def temp(self, stem: str) -> str:
        """A local name no other part of the function uses."""
        self._temps[0] += 1
        return f"{stem}{self._temps[0]}"

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)
        self.written += 1

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """``header:`` and the lines written inside, one level deeper (``pass`` if none are)."""
        self.line(header)
        self.depth += 1
        mark = self.written
        try:
            yield
        finally:
            if self.written == mark:
                self.line("pass")
            self.depth -= 1

    def sub(self) -> Source:
        """Another run of lines of the same function (a prologue written out of order)."""
        other = Source(self.title)
        other.consts, other.depth, other._temps = self.consts, self.depth, self._temps
        return other


class Generated:
    """One compiled function with its text and the name its text is registered under."""

    __slots__ = ("filename", "fn", "text", "title")

    def __init__(self, title: str, filename: str, text: str, fn: Callable[..., Any]) -> None:
        self.title, self.filename, self.text, self.fn = title, filename, text, fn


def build(
    src: Source,
    signature: str,
    namespace: dict[str, Any],
    *,
    prologue: list[str] | None = None,
) -> Generated:
    """``def SIGNATURE:`` with ``prologue`` and ``src``'s lines as its body, compiled.

    ``namespace`` holds the runtime names the templates use (``_M``, ``_StepFailure`` …); the
    constants come from ``src``. The text is registered in ``linecache`` before it runs."""
    name = signature.split("(", 1)[0]
    comments = [f"# {src.title}"]
    for key, value in src.consts.items():
        comments.append(f"# {key} = {_one_line(_describe(value), _CONST_CHARS)}")
    body = [*(prologue or []), *src.lines] or ["    pass"]
    text = "\n".join([*comments, f"def {signature}:", *body]) + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    filename = f"<dialect {src.title} #{digest}>"
    code = compile(text, filename, "exec")
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    scope: dict[str, Any] = {"__builtins__": __builtins__, **namespace, **src.consts}
    exec(code, scope)  # noqa: S102 - the text is made from fixed templates (see above)
    return Generated(src.title, filename, text, scope[name])


def _describe(value: Any) -> str:
    """``ascii(value)``, the same in every run: sets in order, no object addresses."""
    if isinstance(value, set | frozenset):
        return f"{type(value).__name__}({{{', '.join(sorted(ascii(v) for v in value))}}})"
    return _ADDRESS.sub("", ascii(value))


def _one_line(text: str, limit: int) -> str:
    """``text`` without line breaks or control characters, cut to ``limit``."""
    clean = "".join(c if c.isprintable() else " " for c in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
