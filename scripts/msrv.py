#!/usr/bin/env python3
"""Checks each workspace package's declared minimum Rust version
(`rust-version`) against what it needs, with the one toolchain CI has:

- no crate it builds on (normal and build dependencies, transitively)
  declares a newer `rust-version` than it does;
- the language and standard-library side is clippy's `incompatible_msrv`
  lint, which `cargo clippy -D warnings` runs against the same field, and
  edition 2024 itself (let chains), which needs 1.88.

Prints one line per package; exits 1 when a declaration is too low.
"""
import json
import subprocess
import sys

FLOOR = (1, 88)  # edition 2024 with let chains


def version(text):
    parts = [int(p) for p in text.split(".")]
    return tuple((parts + [0])[:2])


def main():
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"]))
    packages = {p["id"]: p for p in meta["packages"]}
    graph = {}
    for node in meta["resolve"]["nodes"]:
        deps = []
        for dep in node["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if kinds & {None, "build"}:
                deps.append(dep["pkg"])
        graph[node["id"]] = deps
    failed = False
    for member in meta["workspace_members"]:
        package = packages[member]
        declared = package.get("rust_version")
        if not declared:
            print(f"{package['name']}: no rust-version declared")
            failed = True
            continue
        seen, stack, needed, culprit = set(), list(graph[member]), FLOOR, "edition 2024"
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            dep = packages[pid]
            if dep.get("rust_version") and version(dep["rust_version"]) > needed:
                needed = version(dep["rust_version"])
                culprit = f"{dep['name']} {dep['version']}"
            stack.extend(graph[pid])
        ok = version(declared) >= needed
        failed |= not ok
        print(f"{package['name']}: declares {declared}, needs "
              f"{needed[0]}.{needed[1]} ({culprit}){'' if ok else '  <- too low'}")
    sys.exit(1 if failed else 0)


main()
