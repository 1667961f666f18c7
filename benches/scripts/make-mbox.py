#!/usr/bin/env python3
"""Writes an mbox of N varied messages (plain and multipart, threads,
various sizes) for imaptest's stress runs: make-mbox.py FILE [N]."""
import random
import sys

path = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
random.seed(1)
with open(path, "w") as f:
    for i in range(count):
        f.write(f"From user{i}@example.com Mon Nov 23 10:00:00 2026\n")
        f.write(f"From: User {i} <user{i}@example.com>\nTo: u@example.com\n")
        f.write(f"Subject: {'Re: ' if i % 3 else ''}topic {i % 17}\n")
        f.write(f"Date: Mon, 23 Nov 2026 10:{i % 60:02d}:00 +0000\nMessage-ID: <m{i}@example.com>\n")
        if i % 3:
            f.write(f"In-Reply-To: <m{i - i % 3}@example.com>\n")
        if i % 5 == 0:
            f.write(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\nContent-Type: text/plain\n\n")
            f.write(f"body {i}\n" + "line of text\n" * random.randint(1, 40))
            f.write(f"--b{i}\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n")
            f.write("AAECAwQFBgcICQoLDA0ODw==\n" * random.randint(1, 20) + f"--b{i}--\n\n")
        else:
            f.write("\n" + "hello world line\n" * random.randint(1, 80) + "\n")
