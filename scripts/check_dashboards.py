#!/usr/bin/env python3
"""Checks every Grafana dashboard under a folder against Grafana's own
dashboard schema: `python3 scripts/check_dashboards.py [dashboards/]`.

The schema, tests/grafana/dashboard.schema.json, is derived from the
`Dashboard` type Grafana publishes in the npm package @grafana/schema
(scripts/grafana-schema.sh regenerates it). Needs the `jsonschema` package
(scripts/test.sh installs it into .venv-test). Prints every violation with
its file and JSON path; exits 1 if there is one.
"""

import json
import pathlib
import sys

import jsonschema

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "tests" / "grafana" / "dashboard.schema.json"


def violations(schema, path):
    try:
        dashboard = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        return [f"{path}: not JSON: {e}"]
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{path}: {'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(dashboard), key=lambda e: list(map(str, e.absolute_path)))
    ]


def main():
    folder = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dashboards"
    schema = json.loads(SCHEMA.read_text())
    files = sorted(p for p in folder.rglob("*.json") if "provisioning" not in p.parts)
    found = [v for path in files for v in violations(schema, path)]
    for line in found:
        print(line)
    print(f"{len(files)} dashboards checked against the Grafana dashboard schema: {len(found)} violations")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
