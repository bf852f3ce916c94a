"""Twilio's own OpenAPI description, turned into JSON Schemas that bodies can be checked against.

The description is OpenAPI 3.0 (``nullable`` instead of a null type); it is converted once.
Where the file is absent the tests that need it skip, saying why.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC_CANDIDATES = [
    Path(os.environ["TWILIO_OPENAPI"]) if os.environ.get("TWILIO_OPENAPI") else None,
    ROOT.parent / "shared" / "data" / "twilio_api_v2010.json",
]


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in ("nullable", "x-twilio", "format")}
    if node.get("nullable"):
        if "$ref" in out:
            return {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@cache
def _spec() -> dict[str, Any] | None:
    for path in SPEC_CANDIDATES:
        if path is not None and path.is_file():
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
    return None


def spec_or_skip() -> dict[str, Any]:
    spec = _spec()
    if spec is None:
        pytest.skip(
            "Twilio's OpenAPI description (shared/data/twilio_api_v2010.json beside the checkout, "
            "or $TWILIO_OPENAPI) is not available"
        )
    return spec


def assert_fits(body: Any, schema_name: str) -> None:
    """Validate against a component schema, and refuse keys the schema does not define."""
    spec = spec_or_skip()
    components = _convert(spec["components"])
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    jsonschema.validate(body, schema, cls=jsonschema.Draft7Validator)
    props = spec["components"]["schemas"][schema_name].get("properties", {})
    extra = set(body) - set(props)
    assert not extra, f"keys not in Twilio's {schema_name}: {sorted(extra)}"


def assert_list_fits(body: Any, path: str, method: str = "get") -> None:
    spec = spec_or_skip()
    operation = spec["paths"][path][method]
    schema = _convert(operation["responses"]["200"]["content"]["application/json"]["schema"])
    schema["components"] = _convert(spec["components"])
    jsonschema.validate(body, schema, cls=jsonschema.Draft7Validator)
    extra = set(body) - set(schema["properties"])
    assert not extra, f"keys not in Twilio's list envelope: {sorted(extra)}"
