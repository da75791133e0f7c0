"""openapi.yaml, read: where it lives, the paths tests name, and helpers over the document
(local `$ref`s followed, operations by path and method, a validator for any schema in it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC_URI = "urn:resolution:openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ACTION_PATH = "/v1/complaints/{id}/actions/{action}"
EVIDENCE = "/v1/complaints/{id}/evidence"
EVIDENCE_FILE = "/v1/complaints/{id}/evidence/{evidence_id}"
EVIDENCE_REVIEW = "/v1/complaints/{id}/evidence/{evidence_id}/review"
AUDIT = "/v1/audit/events"
CASE_EXPORT = "/v1/complaints/{id}/export"
# Responses whose body is the file itself (or nothing, 304), not JSON.
BINARY = {(EVIDENCE_FILE, "get", status) for status in ("200", "206", "304")}
# Successful responses that are not one JSON document: checked by their headers on the wire.
NOT_JSON = BINARY | {
    (AUDIT, "get", "200"),
    (CASE_EXPORT, "get", "200"),
    ("/v1/data-subjects/{subject_id}/report", "get", "200"),  # JSON, or a printable page
    ("/metrics", "get", "200"),
    ("/openapi.yaml", "get", "200"),  # the contract itself, as YAML
    ("/openapi.yaml", "get", "304"),  # not modified: no body
    ("/openapi.json", "get", "304"),
}


# --- helpers over the document --------------------------------------------------------------------


def escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def at_pointer(spec: dict, pointer: str) -> Any:
    node: Any = spec
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def deref(spec: dict, node: dict, pointer: str) -> tuple[str, dict]:
    """Follows local `$ref`s: the object in the end and the pointer where it lives."""
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        pointer = ref[1:]
        node = at_pointer(spec, pointer)
    return pointer, node


def resolve(spec: dict, node: dict) -> dict:
    return deref(spec, node, "")[1]


def operations(spec: dict) -> dict[tuple[str, str], dict]:
    return {
        (path, method): op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def action_path(action: str) -> str:
    return ACTION_PATH.replace("{action}", action)


def body_schema(spec: dict, op: dict) -> dict:
    return op["requestBody"]["content"]["application/json"]["schema"]


def parameters(spec: dict, path: str, method: str) -> dict[tuple[str, str], dict]:
    """The operation's parameters, the path item's included, by (in, name)."""
    found = {}
    for raw in spec["paths"][path].get("parameters", []) + spec["paths"][path][method].get(
        "parameters", []
    ):
        param = resolve(spec, raw)
        found[(param["in"], param["name"])] = param
    return found


def validator(spec: dict, pointer: str) -> OAS31Validator:
    registry = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(spec))
    return OAS31Validator(
        {"$ref": f"{SPEC_URI}#{pointer}"},
        registry=registry,
        format_checker=oas31_format_checker,
    )
