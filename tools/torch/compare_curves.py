#!/usr/bin/env python3
"""Lays allcnn-train's validation curve beside tools/torch/twin.py's: the
per-epoch held-out accuracy of each side averaged over its runs (seeds), the
difference, and the seconds per epoch, as a markdown table. Exits 1 when an
epoch differs by more than -tol points.

usage: tools/torch/compare_curves.py -allcnn RUN1/metrics.jsonl RUN2/metrics.jsonl
                               -torch TWIN1.jsonl TWIN2.jsonl [-tol 1.5] [-field val_acc]

-field val_acc_live compares the trained weights' accuracy of runs that
average their weights (-ema), whose val_acc is the average's.
"""
import argparse
import json
import statistics
import sys


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-allcnn", nargs="+", required=True)
    ap.add_argument("-torch", nargs="+", required=True)
    ap.add_argument("-tol", type=float, default=1.5)
    ap.add_argument("-field", default="val_acc", help="the metric compared (val_acc, val_acc_live, train_acc)")
    a = ap.parse_args()
    ours = [read(p) for p in a.allcnn]
    theirs = [read(p) for p in a.torch]
    epochs = min(len(r) for r in ours + theirs)
    for r in ours + theirs:
        if any(a.field not in m for m in r[:epochs]):
            sys.exit(f"compare_curves: a run has no {a.field} in its metrics")
    print(f"| epoch | allcnn {a.field} (mean of {len(ours)}) | PyTorch {a.field} (mean of {len(theirs)}) "
          "| difference (points) | allcnn s/epoch | PyTorch s/epoch |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for e in range(epochs):
        x = statistics.mean(100 * r[e][a.field] for r in ours)
        y = statistics.mean(100 * r[e][a.field] for r in theirs)
        sx = statistics.mean(r[e]["seconds"] for r in ours)
        sy = statistics.mean(r[e]["seconds"] for r in theirs)
        worst = max(worst, abs(x - y))
        print(f"| {e + 1} | {x:.2f}% | {y:.2f}% | {x - y:+.2f} | {sx:.1f} | {sy:.1f} |")
    print(f"\nlargest difference {worst:.2f} points over {epochs} epochs (tolerance {a.tol})")
    sys.exit(0 if worst <= a.tol else 1)


if __name__ == "__main__":
    main()
