"""``StepFailure``: how a step says it cannot do its work; the runner adds where it stood."""

from __future__ import annotations

from typing import Any

from proxy.pipeline.paths import render_path


class StepFailure(Exception):
    """Raised by a step; the runner adds the route, phase, index and op."""

    def __init__(
        self,
        reason: str,
        path: str | tuple[Any, ...] = "",
        *,
        status: int | None = None,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason, self.path = reason, render_path(path)
        self.status, self.code, self.message = status, code, message
