#!/usr/bin/env python3
"""Checks that the code follows the data flow one way (issue 13).

Two checks, both against the order written below:

* crates: no workspace crate of the daemon depends (normal dependency) on a
  crate later in the flow; read from `cargo metadata`;
* modules of the `sitewarden` crate: no module names (`crate::x`) a module
  later in the flow.

A new crate or module must be placed in the order here, or the check fails,
so the order is always written down. Exits 1 and prints every offence.
"""

import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The daemon's crates, upstream first.
CRATES = [
    "sitewarden-model",
    "sitewarden-config",
    "sitewarden-runtime",
    "sitewarden-sources",
    "sitewarden-rules",
    "sitewarden-delivery",
    "sitewarden-tickets",
    "sitewarden-alerts",
    "sitewarden-patrol",
    "sitewarden",
]

# Modules of the `sitewarden` crate, upstream first. The names re-exported
# from the crates above (`rules`, `tickets`, …) come before all of them.
REEXPORTS = [
    "config", "catalog", "schedule", "topics", "vocab", "bus", "db", "limits", "logging",
    "shutdown", "sources", "rules", "delivery", "tickets", "alerts", "patrol",
]
MODULES = REEXPORTS + [
    "readings", "state", "report", "sinks", "control", "mqtt", "metrics",
    "snapshot", "upkeep", "config_status", "api", "console", "daemon", "reload",
]


def crate_offences():
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT))
    rank = {name: i for i, name in enumerate(CRATES)}
    offences = []
    for package in meta["packages"]:
        name = package["name"]
        if not name.startswith("sitewarden") or name == "sitewarden-tests":
            continue
        if name not in rank:
            offences.append(f"crate {name} is not placed in CRATES")
            continue
        for dep in package["dependencies"]:
            if dep["kind"] is not None or not dep["name"].startswith("sitewarden"):
                continue
            if rank.get(dep["name"], len(CRATES)) >= rank[name]:
                offences.append(f"crate {name} depends on {dep['name']}, later in the flow")
    return offences


def module_of(path, src):
    first = path.relative_to(src).parts[0]
    return first.removesuffix(".rs")


def module_offences():
    src = ROOT / "daemon" / "src"
    rank = {name: i for i, name in enumerate(MODULES)}
    offences = []
    for path in sorted(src.rglob("*.rs")):
        module = module_of(path, src)
        if module in ("lib", "bin"):
            continue
        if module not in rank:
            offences.append(f"module {module} is not placed in MODULES")
            continue
        for line_no, line in enumerate(path.read_text().splitlines(), 1):
            for used in re.findall(r"\bcrate::([a-z_]+)", line):
                if used not in rank:
                    offences.append(f"{path.relative_to(ROOT)}:{line_no}: crate::{used} is not placed in MODULES")
                elif rank[used] > rank[module]:
                    offences.append(
                        f"{path.relative_to(ROOT)}:{line_no}: {module} uses crate::{used}, later in the flow")
    return offences


def main():
    offences = crate_offences() + module_offences()
    for offence in offences:
        print(offence, file=sys.stderr)
    if offences:
        return 1
    print(f"flow order: {len(CRATES)} crates and {len(MODULES) - len(REEXPORTS)} modules follow the flow one way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
