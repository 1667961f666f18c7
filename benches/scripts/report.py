#!/usr/bin/env python3
"""Turns one run of the benchmarks into a markdown table and an SVG chart:
each sansmail measurement beside each peer measured in the same group, and
the ratio (the peer's time over ours: above 1 means sansmail is faster).

  benches/scripts/report.py --criterion target/criterion [--extra FILE]... [--out DIR]

Writes DIR/DATE-HOST.md and DIR/DATE-HOST.svg (DIR: benches/results) and
prints the markdown's path. `--extra` files (the output of the benchmarks
with their own harness: heap per message, sending) are appended verbatim.
"""
import argparse
import datetime
import html
import json
import pathlib
import platform
import re
import subprocess

# Implementation names as they appear in benchmark ids, longest first.
IMPLEMENTATIONS = sorted([
    "sansmail-auth", "sansmail-imap", "sansmail", "stalwart", "mail-auth",
    "imap-codec", "imap-proto", "pop3-codec", "openssl cms", "gpg", "memcpy",
    "base64-crate", "mail-parser", "mailparse", "lettre", "mail-send",
], key=len, reverse=True)


def split_id(function_id):
    """(implementation, operation) of a criterion function id."""
    if "/" in function_id:
        first, second = function_id.split("/", 1)
        # `decoded/mailparse` names the implementation second.
        if second in IMPLEMENTATIONS and first not in IMPLEMENTATIONS:
            return second, first
        return first, second
    for name in IMPLEMENTATIONS:
        if name in function_id:
            operation = function_id.replace(name, " ")
            operation = re.sub(r"[\s()]+", " ", operation).strip()
            return name, operation
    return function_id, ""


def is_ours(implementation):
    """sansmail's own, or a benchmark of ours that names no implementation."""
    return implementation.startswith("sansmail") or implementation not in IMPLEMENTATIONS


def load(criterion):
    """group → [(implementation, operation, median ns, full id)]."""
    groups = {}
    for bench in sorted(pathlib.Path(criterion).glob("**/new/benchmark.json")):
        meta = json.loads(bench.read_text())
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        median = estimates["median"]["point_estimate"]
        function_id = meta["function_id"] or meta.get("value_str") or meta["group_id"]
        implementation, operation = split_id(function_id)
        if meta["function_id"] and meta.get("value_str"):
            operation = f"{operation} {meta['value_str']}".strip()
        groups.setdefault(meta["group_id"], []).append(
            (implementation, operation, median, meta["full_id"]))
    return groups


def comparisons(groups):
    """(group, operation, ours, our ns, peer, peer ns) for every peer
    measurement with a sansmail one to stand beside; and ours alone."""
    rows, alone = [], []
    for group, entries in sorted(groups.items()):
        ours = [e for e in entries if is_ours(e[0])]
        peers = [e for e in entries if not is_ours(e[0])]
        paired = set()
        for peer in peers:
            match = [o for o in ours if o[1] == peer[1]]
            if not match and peer[1]:
                match = [o for o in ours if o[1] and (o[1] in peer[1] or peer[1] in o[1])]
            if not match and len(ours) == 1:
                match = ours
            # Every form of ours that does the peer's work gets its row
            # (the owned and the borrowed SMTP commands, for one).
            for o in match:
                paired.add(o[3])
                operation = o[1] or peer[1]
                rows.append((group, operation, o[0], o[2], peer[0], peer[2]))
        for o in ours:
            if o[3] not in paired:
                alone.append((group, o[1], o[0], o[2]))
    return rows, alone


def duration(ns):
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size:
            return f"{ns / size:.3g} {unit}"
    return f"{ns:.3g} ns"


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len([l for l in open("/proc/cpuinfo") if l.startswith("processor")])
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{platform.node()}: {cpu}, {cores} cores, {platform.system()} {platform.release()}; {rustc}"


def markdown(rows, alone, extras, when, where):
    out = [f"# Benchmarks, {when}", "", f"Machine: {where}.", "",
           "One run of `benches/scripts/run-all.sh`: criterion medians; each benchmark "
           "checks before timing that sansmail and the peer produce the same values. "
           "Ratio = the peer's time ÷ sansmail's (above 1: sansmail is faster). "
           "Timings on this shared machine are noisy; repeat a run before reading "
           "much into a few percent.", "",
           "| benchmark | sansmail | time | peer | time | ratio |",
           "|---|---|---:|---|---:|---:|"]
    for group, operation, ours, ours_ns, peer, peer_ns in rows:
        name = f"{group} {operation}".strip()
        out.append(f"| {name} | {ours} | {duration(ours_ns)} | {peer} | "
                   f"{duration(peer_ns)} | {peer_ns / ours_ns:.2f}× |")
    if alone:
        out += ["", "Measured without a peer:", "", "| benchmark | time |", "|---|---:|"]
        for group, operation, ours, ours_ns in alone:
            out.append(f"| {group} {operation} ({ours}) | {duration(ours_ns)} |")
    for path in extras:
        out += ["", f"## {pathlib.Path(path).stem}", "", "```",
                pathlib.Path(path).read_text().strip(), "```"]
    return "\n".join(out) + "\n"


def svg(rows, when):
    """Horizontal bars of each ratio on a log scale, 1× marked."""
    import math
    bar_h, gap, label_w, plot_w = 18, 6, 430, 420
    top = 40
    height = top + len(rows) * (bar_h + gap) + 40
    ratios = [peer_ns / ours_ns for *_, ours_ns, _, peer_ns in rows] or [1]
    low = min(0.25, min(ratios))
    high = max(4.0, max(ratios))
    span = math.log(high) - math.log(low)

    def x(ratio):
        return label_w + (math.log(ratio) - math.log(low)) / span * plot_w

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 80}" '
             f'height="{height}" font-family="sans-serif" font-size="12">',
             f'<text x="10" y="20" font-size="14">sansmail beside the better-known crates '
             f'and tools, {html.escape(when)}: peer time ÷ sansmail time (log scale)</text>']
    one = x(1.0)
    for i, (group, operation, ours, ours_ns, peer, peer_ns) in enumerate(rows):
        y = top + i * (bar_h + gap)
        ratio = peer_ns / ours_ns
        label = html.escape(f"{group} {operation} vs {peer}".replace("  ", " "))
        colour = "#2a7" if ratio >= 1 else "#c54"
        left, right = sorted((one, x(ratio)))
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{label}</text>')
        parts.append(f'<rect x="{left:.1f}" y="{y}" width="{max(right - left, 1):.1f}" '
                     f'height="{bar_h}" fill="{colour}"/>')
        parts.append(f'<text x="{right + 4:.1f}" y="{y + 13}">{ratio:.2f}×</text>')
    bottom = top + len(rows) * (bar_h + gap)
    parts.append(f'<line x1="{one:.1f}" y1="{top - 6}" x2="{one:.1f}" y2="{bottom}" '
                 f'stroke="#333" stroke-dasharray="4 3"/>')
    for tick in (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64):
        if low <= tick <= high:
            parts.append(f'<text x="{x(tick):.1f}" y="{bottom + 16}" text-anchor="middle">{tick}×</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--criterion", default="target/criterion")
    parser.add_argument("--extra", action="append", default=[])
    parser.add_argument("--out", default="benches/results")
    args = parser.parse_args()
    groups = load(args.criterion)
    if not groups:
        raise SystemExit(f"no criterion results under {args.criterion}")
    rows, alone = comparisons(groups)
    when = datetime.date.today().isoformat()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{when}-{platform.node() or 'machine'}"
    (out / f"{stem}.md").write_text(
        markdown(rows, alone, args.extra, when, machine())
        + f"\n![ratios]({stem}.svg)\n")
    (out / f"{stem}.svg").write_text(svg(rows, when))
    print(out / f"{stem}.md")


main()
