"""The code a list of steps runs, as text: what ``dialect translate --show-code`` prints.

A phase fused whole (a route's request or response steps) appears first as its fused
function, which is what runs. Then each step appears with its config location: its own
generated function (the definition), or a note that it is plain Python; each pipeline it runs
(``each``, ``use``) appears fused, or with the reason it runs step by step, followed by its
steps. A pipeline several steps run is printed once. The text is exactly what runs, under the
pseudo-filenames tracebacks show.
"""

from __future__ import annotations

from collections.abc import Sequence

from proxy.pipeline.fused import Fusion
from proxy.pipeline.step import Step


def listing(phases: Sequence[tuple[str, Sequence[Step], Fusion | None]]) -> str:
    out: list[str] = []
    shown: set[str] = set()

    def text(heading: str, filename: str, body: str) -> None:
        if filename in shown:
            out.append(f"## {heading}: {filename} (shown above)\n")
            return
        shown.add(filename)
        out.append(f"## {heading}: {filename}\n{body}")

    def walk(steps: Sequence[Step], where: str) -> None:
        for i, step in enumerate(steps):
            here = f"{where}[{i}] {step.op}"
            own = step.code()
            for generated in own:
                text(here, generated.filename, generated.text)
            if not own:
                out.append(f"## {here}: plain Python ({type(step).__name__}.apply)\n")
            fusion = step.fusion()
            if fusion is None:
                continue
            name, fused = fusion.name, fusion.code
            if fused is not None:
                text(f"{here}: pipeline {name}, fused", fused.filename, fused.text)
            else:
                out.append(f"## {here}: pipeline {name} runs step by step ({fusion.reason})\n")
            walk(step.nested(), f"{here} > {fusion.name}")

    for phase, steps, whole in phases:
        if whole is not None and whole.code is not None:
            text(f"{phase}: fused", whole.code.filename, whole.code.text)
        elif whole is not None and steps:
            out.append(f"## {phase} runs step by step ({whole.reason})\n")
        walk(steps, phase)
    return "\n".join(out)
