#!/usr/bin/env python3
"""The PyTorch twin of allcnn-train: the same net, data split, preprocessing,
augmentation, initialisation, optimiser and schedule, in PyTorch (Debian's
python3-torch), on one process or many under torch.distributed (torchrun:
gloo on CPUs, NCCL on GPUs), ending in an allcnn weight file.

It serves two ends: laying its training curve beside allcnn-train's
(tools/torch/compare_curves.py), and training past one machine, then bringing
the weights back to allcnn (predict, viz, the browser) through ONNX and
'allcnn import'.

What it mirrors, and where allcnn defines it:
  net            an allcnn architecture: -arch NAME [-width W] [-norm batch]
                 (asks 'allcnn models -spec'), or -spec FILE (JSON, the
                 format of allcnn-train -arch; -norm batch adds batch norm
                 as kernel.WithBatchNorm does): conv, relu, leaky_relu,
                 dropout, maxpool, pnorm (unpadded), gap, batchnorm
  data           a folder tree or .tar.gz of class folders (folder: data),
                 files sorted by class then name; -per-class keeps the first
                 N of each class, -val holds out the last N (dataset/data.go)
  preprocessing  per-channel mean and standard deviation of x/255 over the
                 training split (allcnn-train -preprocess channel)
  augmentation   flip with probability 1/2, then a shift of dx, dy in
                 [-5, 5], zeros shifted in, on preprocessed values, then
                 -cutout: an N x N square set to 0, centred anywhere
                 (trainer.Augment, trainer.Cutout)
  init           He normal N(0, 2/fan_in), zero biases; a class layer
                 followed by a ReLU gets N(0, 0.01^2) and bias 1
                 (kernel.Net.Init); batchnorm gamma 1, beta 0
  optimiser      Caffe-form SGD, v = mu v + lr (g + wd w), w -= v, or with
                 Nesterov w -= mu v + lr (g + wd w) (optim.SGD), weight
                 decay on every tensor
  schedule       step (x gamma after milestones) or onecycle: linear warm-up
                 to lr over -warmup epochs, linear decay to 0 at the end,
                 changed at every step (trainer.Schedule)
  loss           cross-entropy with label smoothing eps/k on every class
  validation     evaluation mode (running statistics), each epoch
  averaging      -ema D: an exponential moving average of the parameters
                 and batch norm's running statistics, the past weighing
                 min(D, (1+t)/(10+t)) at update t; validation reads it
                 (val_acc; val_acc_live is the trained weights'), and the
                 weight file is it (trainer/ema.go)
  recipe         -recipe fast (the default) is allcnn-train -recipe fast;
                 flags given override it. -recipe none starts from the
                 flags' own defaults. (The paper's recipe preprocesses with
                 ZCA, which the twin does not mirror.)

Distributed: every process reads the data and draws the same shuffle; each
global batch of -batch images is split among the processes (rank r takes
every world-th image from r), DDP averages the gradients, and every process
applies the same update. Batch norm normalises each process's share of the
batch (DDP's default; the running statistics are process 0's). A global
batch with fewer images than processes is skipped. Augmentation draws are
seeded by (seed, rank, epoch), the shuffle by (seed, epoch), so -resume
continues exactly.

Output, in -out (process 0 writes it): metrics.jsonl, one JSON line per
epoch as allcnn-train's (epoch, train_loss, train_acc, val_loss, val_acc, lr,
img_s, seconds; also printed on stdout), checkpoint.pt after every epoch,
and at the end model.onnx (opset 13, batch dimension dynamic, batch norm
folded by the export), classes.txt, train.json (the settings and the
input normalisation) and, through 'allcnn import' (-allcnn BIN, default
bin/allcnn or allcnn on PATH), model.msgpack. -reference N writes N
held-out images as PNG under reference/ and PyTorch's probabilities for them
in reference.json, for checking the weight file against PyTorch.

usage: /usr/bin/python3 tools/torch/twin.py [-arch all-cnn-c | -spec SPEC.json]
         [-data FILE.tar.gz] [-recipe fast] [-epochs N] [-out DIR] ...   (see -h)
       torchrun --standalone --nproc_per_node=2 tools/torch/twin.py ...
"""
import argparse
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import time

import warnings

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# allcnn-train -recipe fast (cmd/allcnn-train/recipe.go), in this script's
# flag names.
RECIPES = {
    "fast": {"arch": "all-cnn-c", "width": 0.75, "norm": "batch", "dropout": "0,0", "epochs": 46,
             "batch": 128, "lr": 0.2, "lr_schedule": "onecycle", "warmup": 5.0, "nesterov": True,
             "momentum": 0.9, "weight_decay": 5e-4, "label_smoothing": 0.1, "augment": True, "cutout": 8,
             "ema": 0.999},
    "none": {},
}
# What a flag is when neither the recipe nor the command line sets it.
DEFAULTS = {"arch": "", "width": 1.0, "norm": "none", "dropout": "", "epochs": 10, "batch": 128, "lr": 0.05,
            "lr_schedule": "step", "warmup": 0.0, "nesterov": False, "momentum": 0.9, "weight_decay": 1e-3,
            "label_smoothing": 0.0, "augment": False, "cutout": 0, "ema": 0.0}


# DDP's note that a 1x1 convolution's gradient is laid out unlike its
# bucket: a performance hint, not an error.
warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")


def log(rank, msg):
    if rank == 0:
        print("twin: " + msg, file=sys.stderr, flush=True)


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
    if not files:
        sys.exit(f"twin: no images in {path}")
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
    return np.array(train, dtype=np.int64), np.array(held, dtype=np.int64)


def build(spec):
    """The net of an allcnn spec, and its rectified class layer (the last
    conv when a ReLU follows it, else None). Global average pooling is
    AdaptiveAvgPool2d and Flatten, which export to the ONNX that 'allcnn
    import' reads."""
    layers, c = [], spec["input"][0]
    convs = [i for i, l in enumerate(spec["layers"]) if l["type"] == "conv"]
    if not convs:
        sys.exit("twin: the architecture has no convolution")
    class_layer = None
    for i, l in enumerate(spec["layers"]):
        t = l["type"]
        if t == "conv":
            k, s, p = l["kernel"], l.get("stride", 1) or 1, l.get("pad", 0)
            layers.append(nn.Conv2d(c, l["out"], k, s, p))
            c = l["out"]
            nxt = spec["layers"][i + 1]["type"] if i + 1 < len(spec["layers"]) else None
            if i == convs[-1] and nxt == "relu":
                class_layer = layers[-1]
        elif t == "relu":
            layers.append(nn.ReLU())
        elif t == "leaky_relu":
            layers.append(nn.LeakyReLU(l["slope"]))
        elif t == "dropout":
            layers.append(nn.Dropout(l.get("p", 0)))
        elif t == "maxpool":
            layers.append(nn.MaxPool2d(l["kernel"], l.get("stride", 1) or 1, l.get("pad", 0),
                                       ceil_mode=l.get("ceil", False)))
        elif t == "pnorm" and not l.get("pad"):
            layers.append(nn.LPPool2d(l["p"], l["kernel"], l.get("stride", 1) or 1, ceil_mode=l.get("ceil", False)))
        elif t == "gap":
            layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        elif t == "batchnorm":
            layers.append(nn.BatchNorm2d(c, eps=l.get("eps") or 1e-5, momentum=l.get("momentum") or 0.1))
        else:
            sys.exit(f"twin: layer {i} ({t!r}{', padded' if t == 'pnorm' else ''}) has no PyTorch twin here")
    return nn.Sequential(*layers), class_layer


def init(net, class_layer, gen):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                if m is class_layer:
                    m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.01)
                    m.bias.fill_(1)
                else:
                    fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                    m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2 / fan_in))
                    m.bias.zero_()


def rate(a, t):
    """The learning rate at epoch t (fractional: t = 1.5 is half-way through
    the second epoch)."""
    if a.lr_schedule == "onecycle":
        if t < a.warmup:
            return a.lr * t / a.warmup
        return max(0.0, a.lr * (a.epochs - t) / (a.epochs - a.warmup))
    lr = a.lr
    for m in a.milestones:
        if int(t) + 1 > m:
            lr *= a.gamma
    return lr


def augment(x, gen, shift, cutout):
    """Flip, then shift by dx, dy in [-shift, shift] with zeros shifted in,
    then blank a cutout x cutout square centred anywhere (0: none)."""
    n, _, h, w = x.shape
    flip = torch.randint(0, 2, (n,), generator=gen).bool()
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    d = torch.randint(-shift, shift + 1, (n, 2), generator=gen)
    p = F.pad(x, (shift, shift, shift, shift))
    out = torch.empty_like(x)
    for i in range(n):
        dx, dy = int(d[i, 0]), int(d[i, 1])
        out[i] = p[i, :, shift - dy:shift - dy + h, shift - dx:shift - dx + w]
    if cutout > 0:
        centre = torch.stack([torch.randint(0, h, (n,), generator=gen), torch.randint(0, w, (n,), generator=gen)], 1)
        for i in range(n):
            y0, x0 = int(centre[i, 0]) - (cutout - 1) // 2, int(centre[i, 1]) - (cutout - 1) // 2
            out[i, :, max(y0, 0):max(y0 + cutout, 0), max(x0, 0):max(x0 + cutout, 0)] = 0
    return out


def all_sum(values, world):
    """The sums over the processes of a list of numbers."""
    t = torch.tensor(values, dtype=torch.float64)
    if world > 1:
        dist.all_reduce(t)
    return t.tolist()


def evaluate(net, x, y, rank, world, device, batch=256):
    """Loss and accuracy on the held-out images, each process taking every
    world-th one."""
    net.eval()
    loss, correct = 0.0, 0
    xs, ys = x[rank::world], y[rank::world]
    with torch.no_grad():
        for s in range(0, len(ys), batch):
            out = net(xs[s:s + batch].to(device))
            yb = ys[s:s + batch].to(device)
            loss += F.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(1) == yb).sum().item()
    loss, correct = all_sum([loss, correct], world)
    return loss / len(y), correct / len(y)


class Average:
    """An exponential moving average of a net's floating-point state (its
    parameters and batch norm's running statistics), as allcnn-train -ema
    keeps it (trainer/ema.go)."""

    def __init__(self, net, decay):
        self.decay, self.steps = decay, 0
        self.live = [t for t in net.state_dict().values() if t.is_floating_point()]
        self.avg = [t.detach().clone() for t in self.live]

    def update(self):
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        with torch.no_grad():
            for a, t in zip(self.avg, self.live):
                a.mul_(d).add_(t, alpha=1 - d)
        self.steps += 1

    def swap(self):
        """Exchanges the net's values with the average's; a second call
        undoes the first."""
        with torch.no_grad():
            for a, t in zip(self.avg, self.live):
                keep = t.clone()
                t.copy_(a)
                a.copy_(keep)


def sync_buffers(net, world):
    """Process 0's running statistics everywhere (each process updated its
    own in its last forward pass)."""
    if world > 1:
        for b in net.buffers():
            dist.broadcast(b, 0)


def allcnn_binary(a):
    if a.allcnn:
        return a.allcnn
    local = os.path.join(ROOT, "bin", "allcnn")
    if os.access(local, os.X_OK):
        return local
    return shutil.which("allcnn")


def with_batchnorm(spec):
    """kernel.WithBatchNorm: a batchnorm layer (named after its conv, with
    "_bn") after every convolution but the last, the class layer; a spec
    with batchnorm layers already is kept as it is."""
    layers = spec["layers"]
    if any(l["type"] == "batchnorm" for l in layers):
        return spec
    last = max((i for i, l in enumerate(layers) if l["type"] == "conv"), default=-1)
    out = []
    for i, l in enumerate(layers):
        out.append(l)
        if l["type"] == "conv" and i != last:
            out.append({"type": "batchnorm", "name": l.get("name", "") + "_bn"})
    return {**spec, "layers": out}


def load_spec(a):
    if a.spec:
        try:
            with open(a.spec) as f:
                spec = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"twin: -spec {a.spec}: {e}")
        return with_batchnorm(spec) if a.norm == "batch" else spec
    binary = allcnn_binary(a)
    if not binary:
        sys.exit("twin: -arch needs the allcnn command (make build, or -allcnn BIN); or give -spec FILE")
    cmd = [binary, "models", "-spec", a.arch, "-width", str(a.width)]
    if a.norm == "batch":
        cmd += ["-norm", "batch"]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="Settings left unset come from -recipe (fast: allcnn-train -recipe fast).")
    ap.add_argument("-recipe", default="fast", choices=sorted(RECIPES), help="settings to start from (default fast)")
    ap.add_argument("-arch", help="zoo architecture, built by 'allcnn models -spec' (fast: all-cnn-c)")
    ap.add_argument("-width", type=float, help="channel multiplier of -arch (fast: 0.75)")
    ap.add_argument("-norm", choices=["none", "batch"], help="batch: batch norm after every conv but the class layer")
    ap.add_argument("-spec", help="architecture JSON instead of -arch (allcnn models -spec NAME)")
    ap.add_argument("-data", default=os.path.join(ROOT, "..", "shared", "data", "cifar10-train-jpg.tar.gz"),
                    help="class folders, or a .tar.gz of them (default: the shared CIFAR-10 images)")
    ap.add_argument("-per-class", type=int, default=0, help="use only the first N images of each class")
    ap.add_argument("-val", type=int, default=500, help="images per class held out for validation (the last ones)")
    ap.add_argument("-epochs", type=int)
    ap.add_argument("-steps", type=int, default=0, help="stop each epoch after this many steps (a smoke test)")
    ap.add_argument("-batch", type=int, help="images per step, over all processes")
    ap.add_argument("-lr", type=float)
    ap.add_argument("-lr-schedule", choices=["step", "onecycle"])
    ap.add_argument("-warmup", type=float, help="onecycle: epochs of warm-up")
    ap.add_argument("-milestones", type=lambda s: [int(v) for v in s.split(",") if v], default=[200, 250, 300],
                    help="step: epochs after which the rate is multiplied by -gamma")
    ap.add_argument("-gamma", type=float, default=0.1)
    ap.add_argument("-momentum", type=float)
    ap.add_argument("-nesterov", action="store_true", default=None)
    ap.add_argument("-weight-decay", type=float)
    ap.add_argument("-label-smoothing", type=float)
    ap.add_argument("-dropout", help="input,hidden: the dropout probabilities, as allcnn-train -dropout sets them")
    ap.add_argument("-augment", action="store_true", default=None, help="flips and shifts of up to 5 px")
    ap.add_argument("-no-augment", action="store_false", dest="augment")
    ap.add_argument("-cutout", type=int, help="blank an N x N square of each training input (0: none)")
    ap.add_argument("-ema", type=float, help="decay per step of an exponential moving average of the weights (0: none)")
    ap.add_argument("-seed", type=int, default=1)
    ap.add_argument("-threads", type=int, default=0, help="threads per process (0: the cores shared among the local processes)")
    ap.add_argument("-device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("-backend", default="auto", choices=["auto", "gloo", "nccl"], help="torch.distributed backend (auto: nccl on GPUs, gloo on CPUs)")
    ap.add_argument("-out", help="run folder (default runs/torch-TIME)")
    ap.add_argument("-resume", action="store_true", help="continue from -out's checkpoint.pt")
    ap.add_argument("-allcnn", help="the allcnn command, for -arch and the final import (default bin/allcnn, else PATH)")
    ap.add_argument("-dtype", default="f32", choices=["f32", "f16"], help="storage of model.msgpack's weights")
    ap.add_argument("-reference", type=int, default=0, help="write N held-out images and PyTorch's probabilities for them")
    a = ap.parse_args()
    for k, v in {**DEFAULTS, **RECIPES[a.recipe]}.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if not a.arch and not a.spec:
        ap.error("give -arch NAME or -spec FILE (or -recipe fast)")
    if a.lr_schedule == "onecycle" and not 0 <= a.warmup < a.epochs:
        ap.error(f"warm-up of {a.warmup} epochs in a run of {a.epochs}")
    if not 0 <= a.ema < 1:
        ap.error(f"-ema {a.ema}: want a decay in [0, 1)")
    if a.batch < 1 or a.epochs < 1 or a.cutout < 0:
        ap.error("-batch and -epochs must be positive, -cutout not negative")
    return a


def main():
    a = parse()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    use_cuda = a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available())
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1:
        backend = a.backend if a.backend != "auto" else ("nccl" if use_cuda else "gloo")
        dist.init_process_group(backend)
        log(rank, f"{world} processes, backend {backend}")
    torch.set_num_threads(a.threads or max(1, (os.cpu_count() or 1) // local_world))
    out = a.out or os.path.join("runs", time.strftime("torch-%Y%m%d-%H%M%S"))
    if rank == 0:
        os.makedirs(out, exist_ok=True)

    spec = load_spec(a)
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
    if len(tr) == 0 or len(va) == 0:
        sys.exit(f"twin: {len(tr)} training and {len(va)} validation images: -val must leave both")
    if tuple(images.shape[1:]) != tuple(spec["input"]):
        sys.exit(f"twin: images are {list(images.shape[1:])}, the net takes {spec['input']}")
    x = torch.from_numpy(images).float() / 255
    mean = x[tr].mean(dim=(0, 2, 3))
    std = x[tr].std(dim=(0, 2, 3), unbiased=False)
    x = (x - mean[:, None, None]) / std[:, None, None]
    y = torch.from_numpy(labels).long()
    xt, yt, xv, yv = x[tr], y[tr], x[va], y[va]
    log(rank, f"{len(tr)} training and {len(va)} validation images of {len(classes)} classes ({time.time() - t0:.1f}s), "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads a process, device {device}")

    net, class_layer = build(spec)
    init(net, class_layer, torch.Generator().manual_seed(a.seed))
    net.to(device)
    params = list(net.parameters())
    vel = [torch.zeros_like(p) for p in params]
    avg = Average(net, a.ema) if a.ema > 0 else None
    first = 1
    ckpt = os.path.join(out, "checkpoint.pt")
    if a.resume:
        if not os.path.exists(ckpt):
            sys.exit(f"twin: -resume: no {ckpt} (the run folder is -out, on every machine)")
        state = torch.load(ckpt, map_location=device)
        net.load_state_dict(state["net"])
        for v, s in zip(vel, state["velocity"]):
            v.copy_(s)
        if avg is not None:
            if "average" not in state:
                sys.exit(f"twin: -resume: {ckpt} holds no average of the weights (the run had no -ema)")
            for t, s in zip(avg.avg, state["average"]):
                t.copy_(s)
            avg.steps = state["average_steps"]
        first = state["epoch"] + 1
        log(rank, f"resumed after epoch {state['epoch']}")
    model = net
    if world > 1:
        model = nn.parallel.DistributedDataParallel(net, device_ids=[local_rank] if use_cuda else None)
    log(rank, f"{spec.get('name', 'net')}: {sum(p.numel() for p in params)} parameters; run folder {out}")

    n = len(yt)
    metrics = open(os.path.join(out, "metrics.jsonl"), "a" if a.resume else "w") if rank == 0 else None
    lr = rate(a, first - 1)
    for epoch in range(first, a.epochs + 1):
        t0 = time.time()
        net.train()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(a.seed * 1000003 + epoch))
        gen = torch.Generator().manual_seed((a.seed * 1000003 + epoch) * 4099 + rank + 1)
        loss_sum, correct, seen = 0.0, 0, 0
        for step, start in enumerate(range(0, n, a.batch)):
            if a.steps and step >= a.steps:
                break
            batch = order[start:start + a.batch]
            if len(batch) < world:
                continue
            idx = batch[rank::world]
            xb = augment(xt[idx], gen, 5, a.cutout) if a.augment else xt[idx]
            xb, yb = xb.to(device), yt[idx].to(device)
            out_b = model(xb)
            loss = F.cross_entropy(out_b, yb, label_smoothing=a.label_smoothing)
            for p in params:
                p.grad = None
            loss.backward()
            lr = rate(a, epoch - 1 + start / n)
            with torch.no_grad():
                for p, v in zip(params, vel):
                    d = lr * (p.grad + a.weight_decay * p)
                    v.mul_(a.momentum).add_(d)
                    p.sub_(a.momentum * v + d if a.nesterov else v)
            if avg is not None:
                avg.update()
            loss_sum += loss.item() * len(idx)
            correct += (out_b.argmax(1) == yb).sum().item()
            seen += len(idx)
        loss_sum, correct, seen = all_sum([loss_sum, correct, seen], world)
        seconds = time.time() - t0
        sync_buffers(net, world)
        vl, vacc = evaluate(net, xv, yv, rank, world, device)
        live = {}
        if avg is not None:
            live = {"val_loss_live": vl, "val_acc_live": vacc}
            avg.swap()
            sync_buffers(net, world)
            vl, vacc = evaluate(net, xv, yv, rank, world, device)
            avg.swap()
        line = {"epoch": epoch, "train_loss": loss_sum / seen, "train_acc": correct / seen,
                "val_loss": vl, "val_acc": vacc, **live, "lr": lr, "img_s": seen / seconds, "seconds": time.time() - t0}
        if rank == 0:
            print(json.dumps(line), flush=True)
            metrics.write(json.dumps(line) + "\n")
            metrics.flush()
            trained = f", trained weights {100 * live['val_acc_live']:.2f}%" if live else ""
            log(rank, f"epoch {epoch}/{a.epochs}: train loss {line['train_loss']:.4f} acc {100 * line['train_acc']:.2f}% | "
                      f"val loss {vl:.4f} acc {100 * vacc:.2f}%{trained} | {line['img_s']:.0f} img/s, {line['seconds']:.0f}s")
            state = {"epoch": epoch, "net": net.state_dict(), "velocity": vel}
            if avg is not None:
                state.update(average=avg.avg, average_steps=avg.steps)
            torch.save(state, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    # Every process leaves the group together, before the first writes the
    # weight file: the others do not wait in a collective while it exports
    # (a barrier after the export was seen to leave the first process
    # spinning in gloo once the others had gone).
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    if rank == 0:
        metrics.close()
        if avg is not None:
            avg.swap()  # the weight file is the average
        finish(a, net, spec, classes, mean, std, images[va], labels[va], out, device)
    if world > 1:
        # Every file is written and closed: leave without tearing the
        # interpreter down. PyTorch 1.13's DDP reducer, destroyed at exit,
        # joins a gloo thread that waits for the interpreter lock the
        # joining thread holds (seen in a CI run: the second process spun
        # at exit, after the first had exported the weight file).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def finish(a, net, spec, classes, mean, std, held, held_labels, out, device):
    """model.onnx, classes.txt, train.json, the reference images and, through
    'allcnn import', model.msgpack."""
    net.eval().cpu()
    c, h, w = spec["input"]
    onnx_path = os.path.join(out, "model.onnx")
    torch.onnx.export(net, torch.zeros(1, c, h, w), onnx_path, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    with open(os.path.join(out, "classes.txt"), "w") as f:
        f.write("".join(name + "\n" for name in classes))
    m, s = [round(v, 9) for v in mean.tolist()], [round(v, 9) for v in std.tolist()]
    settings = {k: v for k, v in vars(a).items() if k not in ("resume",)}
    settings.update({"mean": m, "std": s, "classes": classes, "spec": spec})
    with open(os.path.join(out, "train.json"), "w") as f:
        json.dump(settings, f, indent=1)
    if a.reference:
        ref = os.path.join(out, "reference")
        os.makedirs(ref, exist_ok=True)
        pick = np.linspace(0, len(held) - 1, min(a.reference, len(held))).astype(int)
        pixels = torch.from_numpy(held[pick]).float() / 255
        # The weight file's preprocessing: (x - mean)/std with the rounded
        # figures 'allcnn import' is given.
        z = (pixels - torch.tensor(m)[:, None, None]) / torch.tensor(s)[:, None, None]
        with torch.no_grad():
            probs = F.softmax(net(z).double(), dim=1)
        doc = []
        for k, i in enumerate(pick):
            name = f"{k:02d}-{classes[held_labels[i]]}.png"
            Image.fromarray(held[i].transpose(1, 2, 0)).save(os.path.join(ref, name))
            doc.append({"image": name, "label": int(held_labels[i]), "shape": list(held[i].shape),
                        "pixels": held[i].reshape(-1).tolist(), "probs": probs[k].tolist()})
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump(doc, f)
    binary = allcnn_binary(a)
    cmd = [binary or "allcnn", "import", "-mean", ",".join(map(str, m)), "-std", ",".join(map(str, s)),
           "-class-names", os.path.join(out, "classes.txt"), "-name", spec.get("name") or "twin",
           "-dtype", a.dtype, "-o", os.path.join(out, "model.msgpack"), onnx_path]
    if not binary:
        log(0, "no allcnn command (make build, or -allcnn BIN): make the weight file with\n  " + " ".join(cmd))
        return
    subprocess.run(cmd, check=True)
    log(0, f"wrote {os.path.join(out, 'model.msgpack')} (and model.onnx, classes.txt, train.json)")


if __name__ == "__main__":
    main()
