#!/usr/bin/env python3
"""Test data for the ONNX importer (onnx/import_torch_test.go), from PyTorch.

Builds three small seeded nets with torch.nn, exports each with
torch.onnx.export (opset 13, batch dimension dynamic) to onnx/testdata/NAME.onnx
and writes onnx/testdata/NAME.json: the input normalisation the importer is
given (-mean/-std, torchvision style: pixels/255, then per channel), a batch
of whole-valued pixel images, and PyTorch's logits and, for each image's top
class, the gradient, deconvnet and guided-backpropagation maps with respect
to the normalised input (paper Fig. 1; rectifier rules as in tools/golden.py,
applied with backward hooks). The nets:

  batchnorm  conv, batch norm, ReLU (twice, the second strided), 1×1 conv,
             global average pooling, flatten. Exported in PRESERVE mode, so
             that BatchNormalization stays in the graph for the importer to
             fold (in EVAL mode torch.onnx folds it itself).
  maxpool    3×3/2 max-pool with padding, 2×2/2 max-pool with ceil_mode,
             dropout, 3×3/1 average pool with padding (count_include_pad),
             global average pooling, flatten, linear (Gemm); a 22×18 input, so that
             ceil_mode adds a window (11×9 → 6×5).
  leaky      leaky ReLU (0.1), a 5×5 conv, a strided valid conv, 1×1 conv,
             global average pooling, flatten, softmax (which the importer
             drops: the logits are the net's output without it); 15×15.

usage: /usr/bin/python3 tools/onnx_nets.py onnx/testdata
"""
import json
import os
import sys

import torch
import torch.nn as nn

torch.manual_seed(20141221)  # arXiv 1412.6806
MEAN, STD = [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]


def batchnorm():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, 1, 1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 12, 3, 2, 1), nn.BatchNorm2d(12), nn.ReLU(),
        nn.Conv2d(12, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.3)
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    return net, (3, 16, 16), None


def maxpool():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(8, 16, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2, ceil_mode=True),
        nn.Dropout(0.5), nn.AvgPool2d(3, 1, 1),
        nn.Conv2d(16, 16, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    return net, (3, 22, 18), None


def leaky():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 5, 1, 2), nn.LeakyReLU(0.1),
        nn.Conv2d(8, 16, 3, 2, 0), nn.LeakyReLU(0.1),
        nn.Conv2d(16, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return net, (3, 15, 15), nn.Softmax(dim=1)


def flat(t):  # float32 values, in the fewest digits that give them back
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def deconvnet(g, x, a):  # the activation applied to the signal
    return torch.where(g > 0, g, a * g)


def guided(g, x, a):  # [g > 0]·g·f'(x)
    return torch.where(g > 0, g * torch.where(x > 0, torch.ones_like(x), a * torch.ones_like(x)), torch.zeros_like(g))


def saliency(net, z, top, rule):
    """The map of each example's top class; rule(g, x, slope) replaces the
    rectifiers' backward pass (None: plain autograd)."""
    hooks = []
    if rule is not None:
        for m in net.modules():
            if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
                slope = m.negative_slope if isinstance(m, nn.LeakyReLU) else 0.0
                hooks.append(m.register_forward_pre_hook(lambda mod, args: setattr(mod, "saved_x", args[0].detach())))
                hooks.append(m.register_full_backward_hook(
                    lambda mod, gi, go, slope=slope: (rule(go[0], mod.saved_x, slope),)))
    zi = z.clone().requires_grad_(True)
    net(zi).gather(1, top[:, None]).sum().backward()
    for h in hooks:
        h.remove()
    return flat(zi.grad)


def main(out):
    for name, make in [("batchnorm", batchnorm), ("maxpool", maxpool), ("leaky", leaky)]:
        net, (c, h, w), head = make()
        with torch.no_grad():
            for m in net:
                if isinstance(m, nn.Conv2d):
                    m.bias.uniform_(0.0, 0.2)  # keep most units alive
        net.eval()
        full = nn.Sequential(net, head) if head is not None else net
        mode = torch.onnx.TrainingMode.PRESERVE if name == "batchnorm" else torch.onnx.TrainingMode.EVAL
        torch.onnx.export(full, torch.randn(1, c, h, w), os.path.join(out, name + ".onnx"), opset_version=13,
                          training=mode, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
        pixels = torch.randint(0, 256, (2, c, h, w)).float()
        z = (pixels / 255 - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
        logits = net(z)
        top = logits.argmax(1)
        doc = {"mean": MEAN, "std": STD, "shape": [2, c, h, w], "pixels": pixels.int().reshape(-1).tolist(), "logits": flat(logits),
               "top": top.tolist(), "gradient": saliency(net, z, top, None),
               "deconvnet": saliency(net, z, top, deconvnet), "guided": saliency(net, z, top, guided)}
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(doc, f)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "onnx/testdata")
