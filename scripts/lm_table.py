#!/usr/bin/env python3
"""Tables of transformer language-model runs, from their metrics.jsonl.

    scripts/lm_table.py runs/transformer runs/moe runs/moe-aux

prints two markdown tables: one row per run (final and best validation loss, perplexity,
tokens, wall time, MoE load balance), and the validation loss at every evaluation, the
runs side by side (the loss curves as numbers). Standard library only.
"""
import json
import math
import sys
from pathlib import Path


def read(run):
    records = [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines() if line]
    return [r for r in records if "valid_loss" in r]


def main(runs):
    if not runs:
        sys.exit(__doc__)
    data = {run: read(run) for run in runs}
    print("| run | steps | tokens | wall time | tokens/s | final valid loss | perplexity | best valid loss (step) "
          "| max violation | aux loss |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run, records in data.items():
        last = records[-1]
        best = min(records, key=lambda r: r["valid_loss"])
        violation = f"{last['max_violation']:.3f}" if "max_violation" in last else ""
        aux = f"{last['aux_loss']:.4f}" if last.get("aux_loss") else ""
        print(f"| {run} | {last['step']} | {last['tokens']:,} | {last['seconds'] / 60:.1f} min "
              f"| {last['tokens'] / last['seconds']:.0f} | {last['valid_loss']:.4f} "
              f"| {math.exp(last['valid_loss']):.1f} | {best['valid_loss']:.4f} ({best['step']}) "
              f"| {violation} | {aux} |")
    print()
    steps = sorted({r["step"] for records in data.values() for r in records})
    print("| step | " + " | ".join(data) + " |")
    print("|---:|" + "---:|" * len(data))
    for step in steps:
        cells = []
        for records in data.values():
            match = [r for r in records if r["step"] == step]
            cells.append(f"{match[0]['valid_loss']:.4f}" if match else "")
        print(f"| {step} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
