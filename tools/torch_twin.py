#!/usr/bin/env python3
"""The PyTorch twin of allcnn-train: the same net, data split, preprocessing,
augmentation, initialisation, optimiser and schedule, in PyTorch (Debian's
python3-torch), so that the two training curves can be laid side by side.

What it mirrors, and where allcnn defines it:
  net            an allcnn architecture as JSON ('allcnn models -spec NAME
                 -width W [-norm batch]', or an -arch file): conv, relu,
                 leaky_relu, dropout, maxpool, gap, batchnorm
  data           a folder tree or .tar.gz of class folders (folder: data),
                 files sorted by class then name; -per-class keeps the first
                 N of each class, -val holds out the last N (dataset/data.go)
  preprocessing  per-channel mean and standard deviation of x/255 over the
                 training split (trainer.FitChannel)
  augmentation   flip with probability 1/2, then a shift of dx, dy in
                 [-5, 5], zeros shifted in, on preprocessed values
                 (trainer.Augment)
  init           He normal N(0, 2/fan_in), zero biases; a class layer
                 followed by a ReLU gets N(0, 0.01^2) and bias 1
                 (kernel.Net.Init); batchnorm gamma 1, beta 0
  optimiser      Caffe-form SGD, v = mu v + lr (g + wd w), w -= v, or with
                 Nesterov w -= mu v + lr (g + wd w) (trainer.SGD), weight
                 decay on every tensor
  schedule       step (x gamma after milestones) or onecycle: linear warm-up
                 to lr over -warmup epochs, linear decay to 0 at the end,
                 changed at every step (trainer.Schedule)
  loss           cross-entropy with label smoothing eps/k on every class
  validation     evaluation mode (running statistics), each epoch

It prints one JSON line per epoch, as allcnn-train's metrics.jsonl:
epoch, train_loss, train_acc, val_loss, val_acc, lr, img_s, seconds.

usage: /usr/bin/python3 tools/torch_twin.py -spec SPEC.json -data FILE.tar.gz
       [-dropout IN,HIDDEN] [-per-class N] [-val 500] [-epochs 10] [-batch 128] [-lr 0.2]
       [-lr-schedule onecycle] [-warmup 1] [-nesterov] [-momentum 0.9]
       [-weight-decay 5e-4] [-label-smoothing 0.1] [-seed 1] [-threads 2]
"""
import argparse
import io
import json
import math
import os
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


def load_folder(path, per_class):
    """Images as uint8 [N, 3, H, W], labels, class names: the class folders
    sorted, each one's files sorted by name, the first per_class kept."""
    files = []  # (class, name, bytes)
    if os.path.isdir(path):
        for cls in sorted(os.listdir(path)):
            d = os.path.join(path, cls)
            if os.path.isdir(d):
                for name in sorted(os.listdir(d)):
                    with open(os.path.join(d, name), "rb") as f:
                        files.append((cls, name, f.read()))
    else:
        with tarfile.open(path) as tar:
            for m in tar:
                if not m.isfile():
                    continue
                parts = m.name.strip("/").split("/")
                if len(parts) < 2 or any(p.startswith(".") for p in parts):
                    continue
                files.append((parts[-2], m.name, tar.extractfile(m).read()))
    files.sort(key=lambda f: (f[0], f[1]))
    classes = sorted({f[0] for f in files})
    label = {c: i for i, c in enumerate(classes)}
    seen = [0] * len(classes)
    images, labels = [], []
    for cls, _, data in files:
        k = label[cls]
        if per_class and seen[k] >= per_class:
            continue
        seen[k] += 1
        im = Image.open(io.BytesIO(data)).convert("RGB")
        images.append(np.asarray(im, dtype=np.uint8).transpose(2, 0, 1))
        labels.append(k)
    return np.stack(images), np.array(labels), classes


def split(labels, val):
    """Indices of the training and validation images: the last val of each
    class are held out."""
    count = np.bincount(labels)
    seen = np.zeros_like(count)
    train, held = [], []
    for i, k in enumerate(labels):
        (held if seen[k] >= count[k] - val else train).append(i)
        seen[k] += 1
    return np.array(train), np.array(held)


class GAP(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


def build(spec):
    """The net of an allcnn spec, and the index of its rectified class layer
    (the last conv when a ReLU follows it, else None)."""
    layers, c = [], spec["input"][0]
    last_conv = max(i for i, l in enumerate(spec["layers"]) if l["type"] == "conv")
    class_layer = None
    for i, l in enumerate(spec["layers"]):
        t = l["type"]
        if t == "conv":
            k, s, p = l["kernel"], l.get("stride", 1) or 1, l.get("pad", 0)
            layers.append(nn.Conv2d(c, l["out"], k, s, p))
            c = l["out"]
            nxt = spec["layers"][i + 1]["type"] if i + 1 < len(spec["layers"]) else None
            if i == last_conv and nxt == "relu":
                class_layer = layers[-1]
        elif t == "relu":
            layers.append(nn.ReLU())
        elif t == "leaky_relu":
            layers.append(nn.LeakyReLU(l["slope"]))
        elif t == "dropout":
            layers.append(nn.Dropout(l.get("p", 0)))
        elif t == "maxpool":
            layers.append(nn.MaxPool2d(l["kernel"], l.get("stride", 1) or 1, l.get("pad", 0), ceil_mode=l.get("ceil", False)))
        elif t == "gap":
            layers.append(GAP())
        elif t == "batchnorm":
            layers.append(nn.BatchNorm2d(c, eps=l.get("eps") or 1e-5, momentum=l.get("momentum") or 0.1))
        else:
            sys.exit(f"torch_twin: layer type {t!r} is not mirrored")
    net = nn.Sequential(*layers)
    return net, class_layer


def init(net, class_layer, gen):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                if m is class_layer:
                    m.weight.normal_(0, 0.01, generator=gen)
                    m.bias.fill_(1)
                else:
                    fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                    m.weight.normal_(0, math.sqrt(2 / fan_in), generator=gen)
                    m.bias.zero_()


def rate(a, t):
    if a.lr_schedule == "onecycle":
        if t < a.warmup:
            return a.lr * t / a.warmup
        return max(0.0, a.lr * (a.epochs - t) / (a.epochs - a.warmup))
    lr = a.lr
    for m in a.milestones:
        if int(t) + 1 > m:
            lr *= a.gamma
    return lr


def augment(x, gen, shift):
    """Flip, then shift by dx, dy in [-shift, shift] with zeros shifted in."""
    n, _, h, w = x.shape
    flip = torch.randint(0, 2, (n,), generator=gen).bool()
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    d = torch.randint(-shift, shift + 1, (n, 2), generator=gen)
    p = F.pad(x, (shift, shift, shift, shift))
    out = torch.empty_like(x)
    for i in range(n):
        dx, dy = int(d[i, 0]), int(d[i, 1])
        out[i] = p[i, :, shift - dy:shift - dy + h, shift - dx:shift - dx + w]
    return out


def evaluate(net, x, y, batch=256):
    net.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(y), batch):
            out = net(x[s:s + batch])
            loss += F.cross_entropy(out, y[s:s + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[s:s + batch]).sum().item()
    return loss / len(y), correct / len(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-spec", required=True)
    ap.add_argument("-data", required=True)
    ap.add_argument("-per-class", type=int, default=0)
    ap.add_argument("-val", type=int, default=500)
    ap.add_argument("-epochs", type=int, default=10)
    ap.add_argument("-batch", type=int, default=128)
    ap.add_argument("-lr", type=float, default=0.2)
    ap.add_argument("-lr-schedule", default="onecycle", choices=["step", "onecycle"])
    ap.add_argument("-warmup", type=float, default=1)
    ap.add_argument("-milestones", type=lambda s: [int(v) for v in s.split(",") if v], default=[])
    ap.add_argument("-gamma", type=float, default=0.1)
    ap.add_argument("-momentum", type=float, default=0.9)
    ap.add_argument("-nesterov", action="store_true")
    ap.add_argument("-weight-decay", type=float, default=5e-4)
    ap.add_argument("-label-smoothing", type=float, default=0.1)
    ap.add_argument("-dropout", default="", help="input,hidden: the dropout probabilities, as allcnn-train -dropout sets them")
    ap.add_argument("-no-augment", action="store_true")
    ap.add_argument("-seed", type=int, default=1)
    ap.add_argument("-threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    with open(a.spec) as f:
        spec = json.load(f)
    if a.dropout:
        # As allcnn-train -dropout: the first layer's is the input's, every
        # other dropout layer's the hidden one.
        p_in, p_hidden = (float(v) for v in a.dropout.split(","))
        for i, l in enumerate(spec["layers"]):
            if l["type"] == "dropout":
                l["p"] = p_in if i == 0 else p_hidden
    t0 = time.time()
    images, labels, classes = load_folder(a.data.removeprefix("folder:"), a.per_class)
    tr, va = split(labels, a.val)
    x = torch.from_numpy(images).float() / 255
    mean = x[tr].mean(dim=(0, 2, 3), keepdim=True)
    std = x[tr].std(dim=(0, 2, 3), keepdim=True, unbiased=False)
    x = (x - mean) / std
    y = torch.from_numpy(labels).long()
    xt, yt, xv, yv = x[tr], y[tr], x[va], y[va]
    print(f"torch_twin: {len(tr)} training and {len(va)} validation images of {len(classes)} classes "
          f"({time.time() - t0:.1f}s), torch {torch.__version__}, {a.threads} threads", file=sys.stderr)

    net, class_layer = build(spec)
    init(net, class_layer, gen)
    params = [p for p in net.parameters()]
    vel = [torch.zeros_like(p) for p in params]
    n = len(yt)
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        net.train()
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, a.batch):
            idx = order[start:start + a.batch]
            xb = xt[idx] if a.no_augment else augment(xt[idx], gen, 5)
            out = net(xb)
            loss = F.cross_entropy(out, yt[idx], label_smoothing=a.label_smoothing)
            for p in params:
                p.grad = None
            loss.backward()
            lr = rate(a, epoch - 1 + start / n)
            with torch.no_grad():
                for p, v in zip(params, vel):
                    d = lr * (p.grad + a.weight_decay * p)
                    v.mul_(a.momentum).add_(d)
                    p.sub_(a.momentum * v + d if a.nesterov else v)
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yt[idx]).sum().item()
        img_s = n / (time.time() - t0)
        vl, vacc = evaluate(net, xv, yv)
        print(json.dumps({"epoch": epoch, "train_loss": loss_sum / n, "train_acc": correct / n,
                          "val_loss": vl, "val_acc": vacc, "lr": lr, "img_s": img_s,
                          "seconds": time.time() - t0}), flush=True)


if __name__ == "__main__":
    main()
