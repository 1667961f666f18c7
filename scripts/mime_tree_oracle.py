#!/usr/bin/env python3
"""The `mime-tree` JSON lines, computed by Python's `email` package (the oracle).

Usage: mime_tree_oracle.py [--root DIR] FILE...   (paths relative to --root are printed as given)
Reads each file with email.message_from_bytes(policy=email.policy.default) and prints
{"file", "subject", "parts": [{"section", "type", "charset", "filename", "len", "sha256"}]}
with the leaves in depth-first order, numbered as IMAP sections (RFC 3501 section 6.4.5).
"""
import email
import email.policy
import hashlib
import json
import os
import sys


def leaves(msg, section, out):
    if msg.is_multipart():
        payload = msg.get_payload()
        if msg.get_content_maintype() == "message":
            inner = payload[0]
            if inner.is_multipart() and inner.get_content_maintype() == "multipart":
                for i, p in enumerate(inner.get_payload(), 1):
                    leaves(p, f"{section}.{i}", out)
            else:
                leaves(inner, f"{section}.1", out)
        else:
            for i, p in enumerate(payload, 1):
                leaves(p, f"{section}.{i}" if section else str(i), out)
    else:
        out.append((section or "1", msg))


def describe(path, root):
    with open(os.path.join(root, path), "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)
    subject = msg.get("subject")
    out = []
    if msg.is_multipart() and msg.get_content_maintype() == "multipart":
        for i, p in enumerate(msg.get_payload(), 1):
            leaves(p, str(i), out)
    else:
        leaves(msg, "1", out)
    parts = []
    for section, part in out:
        body = part.get_payload(decode=True) or b""
        charset = part.get_param("charset")
        if isinstance(charset, tuple):
            charset = email.utils.collapse_rfc2231_value(charset)
        filename = part.get_filename()
        parts.append({
            "section": section,
            "type": part.get_content_type(),
            "charset": str(charset).lower() if charset is not None else None,
            "filename": str(filename) if filename is not None else None,
            "len": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        })
    return {"file": path, "subject": str(subject) if subject is not None else None, "parts": parts}


def main(argv):
    root = "."
    if argv[:1] == ["--root"]:
        root, argv = argv[1], argv[2:]
    for path in argv:
        print(json.dumps(describe(path, root), ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
