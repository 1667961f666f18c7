#!/usr/bin/env python3
"""Compares `mime-tree` with Python's `email` package on a list of messages.

Usage: mime_tree_compare.py MIME_TREE_BINARY CORPUS_DIR LIST_FILE [KNOWN_DIFFERENCES]
Runs both on every path in LIST_FILE (first column, relative to CORPUS_DIR) and prints each
message where they disagree, field by field. Messages listed in
KNOWN_DIFFERENCES (first column of each non-comment line) are expected to
differ; the exit status is 1 when any other message differs, or a listed one
no longer does.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mime_tree_oracle  # noqa: E402


def main(binary, corpus, list_file, known_file=None):
    with open(list_file) as f:
        paths = [line.split("\t")[0].strip() for line in f if line.strip()]
    known = {}
    if known_file:
        with open(known_file) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    path, _, why = line.partition(" ")
                    known[path] = why.strip()
    ours = {}
    for i in range(0, len(paths), 200):
        out = subprocess.run([binary] + paths[i:i + 200], cwd=corpus,
                             capture_output=True, check=True).stdout
        for line in out.decode("utf-8").splitlines():
            record = json.loads(line)
            ours[record["file"]] = record
    unexpected, fixed, expected = [], [], 0
    for path in paths:
        theirs = mime_tree_oracle.describe(path, corpus)
        mine = ours[path]
        same = mine == theirs
        if path in known:
            if same:
                fixed.append(path)
            else:
                expected += 1
            continue
        if not same:
            unexpected.append(path)
            print(f"DIFF {path}")
            if mine.get("subject") != theirs.get("subject"):
                print(f"  subject ours   {mine.get('subject')!r}")
                print(f"  subject python {theirs.get('subject')!r}")
            a, b = mine["parts"], theirs["parts"]
            if len(a) != len(b):
                print(f"  parts ours {[p['section'] + ' ' + p['type'] for p in a]}")
                print(f"  parts python {[p['section'] + ' ' + p['type'] for p in b]}")
            for x, y in zip(a, b):
                for key in x:
                    if x[key] != y.get(key):
                        print(f"  {x['section']} {key}: ours {x[key]!r} python {y.get(key)!r}")
    for path in fixed:
        print(f"NOW SAME (remove from the list) {path}")
    print(f"{len(paths)} messages: {len(paths) - len(unexpected) - expected - len(fixed)} same, "
          f"{expected} known differences, {len(unexpected)} unexpected, {len(fixed)} now same")
    return 1 if unexpected or fixed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
