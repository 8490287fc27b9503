#!/usr/bin/env python3
"""Builds a comparison table from the JSON lines that zoo's and PyTorch's benchmarks print.

    python3 bench/compare.py zoo.jsonl torch.jsonl [--ratio zoo/torch ...] [--title TEXT]

Each input line is one measurement: {"impl", "threads", "name", "shape", "seconds",
"unit", "rate"} (a line with "error" instead of "rate" shows as "error"; lines that are
not JSON objects are skipped, so raw logs can be fed in). Measurements are grouped into
rows by (threads, name), in the order they first appear; every distinct `impl` becomes a
column, in the order it first appears. A cell measured in several runs shows the fastest
run (see best_record). A ratio column A/B divides A's rate by B's, so
above 1 means A is faster. By default the ratios are zoo/torch, and zoo/openblas when
raw-BLAS numbers are present. Prints a Markdown table. Any later benchmark that prints
the same kind of JSON lines can use this script as it is.
"""

import argparse
import json
import sys

# How the usual impl labels are shown; any other label is shown as it is.
DISPLAY = {"zoo": "zoo", "openblas": "OpenBLAS raw", "torch": "PyTorch"}


def read_records(paths):
    records = []
    for path in paths:
        stream = sys.stdin if path == "-" else open(path)
        with stream:
            for line in stream:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and "impl" in rec and "name" in rec:
                    records.append(rec)
    return records


def best_record(recs):
    """Of repeated runs of one cell, the fastest. Each run's rate is already the median of
    many iterations; what differs between runs on a shared machine is interference from
    other processes, which only ever slows a run down (with as many threads as cores, one
    preempted thread stalls the whole parallel loop), so the fastest run is the one
    closest to the undisturbed speed. Errors only if every run failed."""
    ok = [r for r in recs if "rate" in r]
    return max(ok, key=lambda r: r["rate"]) if ok else recs[-1]


def fmt_rate(rec):
    if rec is None:
        return ""
    if "rate" not in rec:
        return "error"
    rate = rec["rate"]
    return f"{rate:.1f}" if rate >= 10 else f"{rate:.2f}"


def fmt_spread(recs):
    """"lowest–highest" of the rates of a cell measured in several runs, else ""."""
    rates = [r["rate"] for r in recs if "rate" in r]
    if len(rates) < 2:
        return ""
    lo, hi = min(rates), max(rates)
    return f" ({lo:.0f}–{hi:.0f})" if hi >= 10 else f" ({lo:.2f}–{hi:.2f})"


def build_table(records, ratios, title=None, spread=False):
    impls, rows, cells = [], [], {}
    for rec in records:
        impl, key = rec["impl"], (rec.get("threads", 0), rec["name"])
        if impl not in impls:
            impls.append(impl)
        if key not in cells:
            rows.append(key)
            cells[key] = {"shape": rec.get("shape", ""), "unit": rec.get("unit", "")}
        cells[key].setdefault(impl, []).append(rec)
        if rec.get("unit"):
            cells[key]["unit"] = rec["unit"]
    ratios = [r for r in ratios if all(side in impls for side in r.split("/"))]

    header = ["threads", "workload", "shape", "unit"] + [DISPLAY.get(i, i) for i in impls]
    header += ["/".join(DISPLAY.get(s, s) for s in r.split("/")) for r in ratios]
    lines = []
    if title:
        lines += [title, ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---:" if i == 0 or i >= 4 else "---"
                                for i in range(len(header))) + "|")
    for key in rows:
        runs = cells[key]
        c = dict(runs)
        for impl in impls:  # repeated runs: the fastest (see best_record)
            if impl in c:
                c[impl] = best_record(c[impl])
        row = [str(key[0]), key[1], c["shape"], c["unit"]]
        row += [fmt_rate(c.get(i)) + (fmt_spread(runs.get(i, [])) if spread else "")
                for i in impls]
        for r in ratios:
            a, b = (c.get(s) for s in r.split("/"))
            if a and b and a.get("rate") and b.get("rate"):
                row.append(f"{a['rate'] / b['rate']:.2f}")
            else:
                row.append("")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="JSON-lines files ('-' for standard input)")
    p.add_argument("--ratio", action="append", metavar="A/B",
                   help="a ratio column, impl A's rate over impl B's (repeatable; "
                        "default zoo/torch and zoo/openblas)")
    p.add_argument("--no-ratio", action="store_true", help="no ratio columns")
    p.add_argument("--spread", action="store_true",
                   help="after each rate, the range (lowest–highest) over repeated runs")
    p.add_argument("--title", help="a line printed above the table")
    args = p.parse_args()
    records = read_records(args.files)
    if not records:
        sys.exit("compare.py: no measurements found in " + ", ".join(args.files))
    ratios = [] if args.no_ratio else (args.ratio or ["zoo/torch", "zoo/openblas"])
    print(build_table(records, ratios, args.title, args.spread))


if __name__ == "__main__":
    main()
