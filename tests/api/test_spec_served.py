"""The API describes itself over HTTP: the served contract is the repository's file."""

from __future__ import annotations

from pathlib import Path

import yaml

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"


def test_the_served_spec_is_the_file_as_yaml_and_json(client):
    as_yaml = client.get("/openapi.yaml")
    assert as_yaml.status_code == 200 and as_yaml.mimetype == "application/yaml"
    assert as_yaml.get_data() == SPEC.read_bytes()
    as_json = client.get("/openapi.json")
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    assert as_json.get_json() == yaml.safe_load(SPEC.read_text())
    again = client.get("/openapi.yaml", headers={"If-None-Match": as_yaml.headers["ETag"]})
    assert again.status_code == 304
    assert as_yaml.headers["ETag"] != as_json.headers["ETag"]
