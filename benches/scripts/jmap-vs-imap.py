#!/usr/bin/env python3
"""JMAP beside IMAP on the same store, in one run: a listing of the newest
50 messages of an INBOX of N, repeated R times on one open connection each.

- JMAP (HTTPS, keep-alive): one request of Email/query (inMailbox, newest
  first, limit 50) and Email/get of the results by reference (subject,
  from, to, receivedAt, size, keywords).
- IMAP (IMAPS, INBOX selected once): FETCH of the same 50 messages' UID,
  FLAGS, ENVELOPE, RFC822.SIZE and INTERNALDATE.

Both give the same subjects, checked before timing. Prints listings per
second and latency percentiles (ms) for each.

  cargo build --release --bin mail-server
  benches/scripts/jmap-vs-imap.py [N=500] [R=300]
"""
import imaplib
import json
import os
import re
import shutil
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ENVELOPE_SUBJECT = re.compile(rb'ENVELOPE \((?:NIL|"(?:[^"\\]|\\.)*") "((?:[^"\\]|\\.)*)"')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "target", "release", "mail-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"mail-server is not listening on {port}")


def percentiles(samples):
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
    return pick(0.5), pick(0.9), pick(0.99)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    if not os.path.exists(BINARY):
        raise SystemExit("build it first: cargo build --release --bin mail-server")
    work = tempfile.mkdtemp(prefix="jmap-vs-imap-")
    ports = {name: free_port() for name in ["smtp", "imaps", "https"]}
    at = lambda p: f"127.0.0.1:{p}"
    server = subprocess.Popen(
        [BINARY, "--data", os.path.join(work, "data"), "--hostname", "mail.example.test",
         "--domain", "example.test", "--user", "alice:alice-pw",
         "--smtp", at(ports["smtp"]), "--imaps", at(ports["imaps"]), "--https", at(ports["https"]),
         "--submission", "off", "--submissions", "off", "--imap", "off",
         "--pop3", "off", "--pop3s", "off"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "server.log"), "w"))
    try:
        for p in ports.values():
            wait_port(p)
        cert = os.path.join(work, "data", "tls", "cert.pem")
        smtp = smtplib.SMTP("127.0.0.1", ports["smtp"])
        for i in range(n):
            body = f"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: message {i:05}\r\n\r\n" + "text line\r\n" * 40
            smtp.sendmail("bob@example.test", ["alice@example.test"], body.encode())
        smtp.quit()

        http = requests.Session()
        http.auth = ("alice", "alice-pw")
        http.verify = cert
        http.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`
        base = f"https://localhost:{ports['https']}"
        session = http.get(f"{base}/.well-known/jmap").json()
        account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        inbox_request = {"using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
                         "methodCalls": [["Mailbox/query", {"accountId": account, "filter": {"role": "inbox"}}, "m"]]}
        inbox = http.post(session["apiUrl"], json=inbox_request).json()["methodResponses"][0][1]["ids"][0]
        listing = json.dumps({
            "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
            "methodCalls": [
                ["Email/query", {"accountId": account, "filter": {"inMailbox": inbox},
                                 "sort": [{"property": "receivedAt", "isAscending": False}], "limit": 50}, "q"],
                ["Email/get", {"accountId": account, "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                               "properties": ["subject", "from", "to", "receivedAt", "size", "keywords"]}, "g"],
            ]})

        def jmap_listing():
            answer = http.post(session["apiUrl"], data=listing,
                               headers={"Content-Type": "application/json"}).json()
            return sorted(e["subject"] for e in answer["methodResponses"][1][1]["list"])

        imap = imaplib.IMAP4_SSL("localhost", ports["imaps"], ssl_context=ssl.create_default_context(cafile=cert))
        imap.login("alice", "alice-pw")
        exists = int(imap.select("INBOX")[1][0])

        def imap_listing():
            typ, data = imap.fetch(f"{exists - 49}:{exists}", "(UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE)")
            subjects = []
            for item in data:
                line = item if isinstance(item, bytes) else item[0]
                # ENVELOPE (date subject ...): the date may be NIL.
                found = ENVELOPE_SUBJECT.search(line)
                if found:
                    subjects.append(found.group(1).decode())
            return sorted(subjects)

        first = jmap_listing()
        assert first == imap_listing(), "JMAP and IMAP list different messages"
        assert len(first) == 50 and first[-1] == f"message {n - 1:05}", first[-3:]

        results = {}
        for name, run in [("JMAP Email/query+get", jmap_listing), ("IMAP FETCH", imap_listing)]:
            for _ in range(20):
                run()
            samples = []
            started = time.perf_counter()
            for _ in range(rounds):
                t = time.perf_counter()
                run()
                samples.append(time.perf_counter() - t)
            elapsed = time.perf_counter() - started
            results[name] = (rounds / elapsed, *percentiles(samples))
        imap.logout()
        print(f"{n} messages in INBOX, newest 50 listed, {rounds} rounds each, one connection each (TLS)")
        print(f"{'':24} {'listings/s':>11} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
        for name, (rate, p50, p90, p99) in results.items():
            print(f"{name:24} {rate:11.0f} {p50:8.2f} {p90:8.2f} {p99:8.2f}")
    finally:
        server.terminate()
        try:
            server.wait(40)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


main()
