"""The route table describes exactly what function_app serves."""

from __future__ import annotations

from pathlib import Path

import function_app
from funchost.http import http_functions
from shared.api.routes import OPERATIONS
from shared.payment.fields import API_VERSIONS

ROOT = Path(__file__).resolve().parents[3]
GUID = "6f3c1a9e-1b2c-4d3e-8f90-0a1b2c3d4e5f"
NOT_DESCRIBED = {"openapi", "not_found"}  # the document itself, and the catch-all


def served_by(method: str, path: str) -> str:
    segments = ["api", *path.strip("/").split("/")]
    for function in http_functions(function_app.app, host_json=ROOT / "host.json"):
        if function.template.match(segments) is not None and (
            function.methods is None or method in function.methods
        ):
            return function.name
    raise AssertionError(f"nothing serves {method} {path}")


def test_every_operation_is_served_by_its_own_function() -> None:
    names = set()
    for op in OPERATIONS:
        for version in API_VERSIONS if op.versioned else (None,):
            path = op.path_for(version)
            for name in ("companyId", "journalId", "paymentId"):
                path = path.replace("{" + name + "}", GUID)
            name = served_by(op.method, path)
            assert name != "not_found", (op.method, path)
            names.add(name)
    every = {f.name for f in http_functions(function_app.app, host_json=ROOT / "host.json")}
    assert every - names == NOT_DESCRIBED


def test_operation_ids_are_unique() -> None:
    ids = [op.operation_id for op in OPERATIONS]
    assert len(ids) == len(set(ids))
