#!/usr/bin/env python3
"""Writes each published crate's README.md from its crate documentation
(the `//!` lines of src/lib.rs), so the README crates.io shows and the
page docs.rs shows say the same. Intra-doc links become code, hidden
doctest lines (`# ...`) are dropped, and doctest attributes become `rust`.

`--check` changes nothing and exits 1 when a README is out of date (CI).
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRATES = ["common", "smtp-proto", "pop3-proto", "imap-proto", "mime",
          "mx-lookup", "auth", "sansmail"]


def package_name(crate):
    text = (ROOT / crate / "Cargo.toml").read_text()
    return re.search(r'^name = "([^"]+)"', text, re.M).group(1)


def crate_docs(crate):
    lines = []
    for line in (ROOT / crate / "src/lib.rs").read_text().splitlines():
        if line.startswith("//!"):
            lines.append(line[4:] if line.startswith("//! ") else line[3:])
        elif lines and not line.startswith("#!["):
            break
    return lines


def markdown(lines):
    out, in_code = [], False
    for line in lines:
        if line.startswith("```"):
            if not in_code:
                attrs = line[3:].strip()
                line = "```" + ("rust" if attrs in ("", "no_run", "rust", "ignore",
                                                   "rust,no_run", "should_panic") else attrs)
            in_code = not in_code
            out.append(line)
            continue
        if in_code:
            if line == "#" or line.startswith("# "):
                continue
            out.append(line)
            continue
        # [`Name`](path) and [`Name`] and [text](crate::path) -> `Name`, text
        line = re.sub(r"\[(`[^`\]]+`)\]\([^)\s]*\)", r"\1", line)
        line = re.sub(r"\[(`[^`\]]+`)\](?!\()", r"\1", line)
        line = re.sub(r"\[([^\]]+)\]\((?:crate|super|self)::[^)]*\)", r"\1", line)
        out.append(line)
    return "\n".join(out).strip() + "\n"


def readme(crate):
    name = package_name(crate)
    body = markdown(crate_docs(crate))
    return (f"# {name}\n\n{body}\n"
            "Part of the sansmail family; the workspace README shows how the crates fit\n"
            "together. Licensed under MIT or Apache-2.0.\n")


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for crate in CRATES:
        path = ROOT / crate / "README.md"
        wanted = readme(crate)
        if path.exists() and path.read_text() == wanted:
            continue
        if check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(wanted)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date (run scripts/readmes.py): " + ", ".join(stale))
        sys.exit(1)


main()
