#!/usr/bin/env python3
"""Checks that DDP computes what one process computes: the checkpoints of two
tools/torch/twin.py runs with the same settings, one on a single process and
one under torchrun, hold the same weights (within -tol of each tensor's
largest magnitude, for the different order of the sums), and the optimiser
stepped (a velocity is not zero).

Only a run without batch norm, dropout and augmentation can match: batch
norm normalises each process's share of the batch, and dropout and
augmentation draw per process.

usage: /usr/bin/python3 tools/torch/check_ddp.py ONE_PROCESS_DIR DDP_DIR [-tol 1e-4]
"""
import argparse
import os
import sys

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("one")
    ap.add_argument("ddp")
    ap.add_argument("-tol", type=float, default=1e-4)
    a = ap.parse_args()
    one = torch.load(os.path.join(a.one, "checkpoint.pt"))
    ddp = torch.load(os.path.join(a.ddp, "checkpoint.pt"))
    if one["epoch"] != ddp["epoch"]:
        sys.exit(f"check_ddp: epochs {one['epoch']} and {ddp['epoch']}")
    worst, moved = 0.0, 0.0
    for name, w in one["net"].items():
        v = ddp["net"][name]
        scale = w.abs().max().item() or 1.0
        d = (w - v).abs().max().item() / scale
        worst = max(worst, d)
        print(f"{name:>12} {list(w.shape)!s:>18}: |one - ddp| {d:.1e} of its scale")
    for v in one["velocity"]:
        moved = max(moved, v.abs().max().item())
    print(f"check_ddp: largest difference {worst:.1e} of scale (tolerance {a.tol:g}); largest velocity {moved:.1e}")
    if worst > a.tol:
        sys.exit("check_ddp: the DDP run's weights differ from the single process's")
    if moved == 0:
        sys.exit("check_ddp: the weights did not move: nothing was trained")


if __name__ == "__main__":
    main()
