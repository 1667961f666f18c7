#!/usr/bin/env python3
"""Prints the path of the RFC 7208 SPF test suite (openspf.org, as pyspf
publishes it in test/rfc7208-tests.yml) converted to JSON for the Rust test.

Downloads pyspf's source release from PyPI once (checked against the
SHA-256 PyPI lists), into target/spf-suite/. The zone data is rewritten as
pyspf's own test driver reads it: an SPF-type record is also a TXT record
when the name has no TXT record, `NONE` values are dropped, and TIMEOUT
markers are kept for the driver to answer with a temporary failure.
"""
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request

import yaml

VERSION = "2.0.14"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "target", "spf-suite")


def fetch_suite():
    # PyPI's simple index (PEP 691, as pip reads it) names the file and its hash.
    request = urllib.request.Request(
        "https://pypi.org/simple/pyspf/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    index = json.load(urllib.request.urlopen(request, timeout=60))
    sdist = next(f for f in index["files"] if f["filename"] == f"pyspf-{VERSION}.tar.gz")
    data = urllib.request.urlopen(sdist["url"], timeout=120).read()
    if hashlib.sha256(data).hexdigest() != sdist["hashes"]["sha256"]:
        sys.exit("pyspf download does not match PyPI's SHA-256")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("test/rfc7208-tests.yml"))
        return tar.extractfile(member).read()


def entries(records):
    """pyspf's getrdata: (type, value) pairs, SPF doubled as TXT when no TXT."""
    out, generated, has_txt = [], [], False
    for rec in records:
        if rec == "TIMEOUT":
            out.append("TIMEOUT")
            continue
        for kind, value in rec.items():
            if kind in ("TXT", "SPF") and isinstance(value, str):
                value = [value]
            if kind == "TXT":
                has_txt = True
            elif kind == "SPF":
                generated.append(["TXT", value])
            if value != ["NONE"]:
                out.append([kind, value])
    if not has_txt:
        out.extend(generated)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    target = os.path.join(OUT, f"rfc7208-tests-{VERSION}.json")
    if not os.path.exists(target):
        scenarios = []
        for doc in yaml.safe_load_all(fetch_suite()):
            if not doc:
                continue
            zone = {name.lower(): entries(recs) for name, recs in doc.get("zonedata", {}).items()}
            tests = {}
            for name, t in doc["tests"].items():
                result = t["result"]
                tests[name] = {
                    "helo": t["helo"],
                    "host": t["host"],
                    "mailfrom": t["mailfrom"],
                    "result": result if isinstance(result, list) else [result],
                    "explanation": t.get("explanation"),
                }
            scenarios.append({"description": doc["description"], "zone": zone, "tests": tests})
        # A name of this process's own, so that concurrent runs never
        # rename each other's file; the last rename wins with equal content.
        part = f"{target}.{os.getpid()}.part"
        with open(part, "w") as f:
            json.dump(scenarios, f)
        os.replace(part, target)
    print(os.path.abspath(target))


if __name__ == "__main__":
    main()
