"""The docs show code that runs: snippets in README.md are lines of files the tests run.

And the docs stay true to what they describe: the steps reference is the registry rendered,
every key of the config schema is documented, and every link and every path they name exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from proxy.settings import reference
from proxy.settings.models import ConfigModel
from tests.conftest import ROOT

DOCS = sorted(
    [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        ROOT / "deploy" / "README.md",
        *(ROOT / "docs").glob("*.md"),
    ]
)


def test_the_readme_callback_app_is_the_tested_example() -> None:
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "docs" / "examples" / "callback_app.py").read_text()
    snippet = readme.split("A callback app in ten lines", 1)[1].split("```python", 1)[1]
    lines = [line for line in snippet.split("```", 1)[0].splitlines() if line.strip()]
    assert len(lines) >= 10
    assert [line for line in lines if line not in example.splitlines()] == []


def test_the_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [
        ["make", "run"],
        ["make", "test"],
    ]
    assert readme.index("```sh") < readme.index("\n## ")


def test_the_steps_reference_is_the_registry_rendered() -> None:
    committed = (ROOT / "docs" / "steps.md").read_text()
    assert committed == reference.render(), (
        "docs/steps.md differs from the step registry, the steps' docstrings or the converter "
        f"table; regenerate it: {reference.REGENERATE}"
    )


def test_the_steps_reference_names_every_op_and_converter() -> None:
    # The page is generated, but a generator that dropped a section would still agree with
    # itself: every op and converter a config may name has its own row.
    from proxy.pipeline.converters import CONVERTERS
    from proxy.steps.registry import REGISTRY

    page = reference.render()
    for op in REGISTRY:
        assert f"| [`{op}`](#" in page, op
    for name in CONVERTERS:
        assert f"| `{name}` |" in page, name


def test_a_docstring_example_becomes_a_yaml_block() -> None:
    doc = "Lead text with ``code``.\n\nExample::\n\n    - {op: drop, keys: [a]}\n\nAfter."
    assert reference.markdown(doc) == (
        "Lead text with `code`.\n\nExample:\n\n```yaml\n- {op: drop, keys: [a]}\n```\n\nAfter.\n"
    )


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models(arg)


def _schema_keys(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[str]:
    if model in seen:
        return
    seen.add(model)
    for name, field in model.model_fields.items():
        yield field.alias or name
        for nested in _models(field.annotation):
            yield from _schema_keys(nested, seen)


def test_every_config_key_is_in_the_configuration_reference() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    code = re.findall(r"^```.*?^```|`[^`\n]+`", page, flags=re.S | re.M)
    written = set(re.findall(r"\w+", " ".join(code)))
    keys = sorted(set(_schema_keys(ConfigModel, set())))
    assert len(keys) > 60  # the walk reached the nested blocks
    missing = [key for key in keys if key not in written]
    assert missing == [], f"docs/configuration.md does not mention these config keys: {missing}"


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# A repository path written as code: `proxy/http/server.py`, `config/sidecar-plivo-to-twilio.yaml`.
_NAMED_PATH = re.compile(r"`((?:proxy|tests|config|deploy|bench|docs)/[\w./-]*\w)`")


def _prose(path: Path) -> str:
    """The text outside fenced code blocks (code there is an example, not a reference)."""
    return re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)


def _anchors(path: Path) -> set[str]:
    return {
        reference.slug(line.lstrip("#"))
        for line in _prose(path).splitlines()
        if re.match(r"#{1,6} ", line)
    }


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = []
    for target in _LINK.findall(_prose(doc)):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file_part, _, anchor = target.partition("#")
        resolved = (doc.parent / file_part).resolve() if file_part else doc
        missing_anchor = bool(anchor) and resolved.suffix == ".md"
        if not resolved.exists() or (missing_anchor and anchor not in _anchors(resolved)):
            broken.append(target)
    assert broken == [], f"{doc.relative_to(ROOT)}: links that lead nowhere: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_the_docs_name_exists(doc: Path) -> None:
    # Modules move; a page that still names the old place sends its reader nowhere.
    named = set(_NAMED_PATH.findall(re.sub(r"\]\([^)]*\)", "]", _prose(doc))))
    missing = sorted(p for p in named if "*" not in p and not (ROOT / p).exists())
    assert missing == [], f"{doc.relative_to(ROOT)} names paths that do not exist: {missing}"
