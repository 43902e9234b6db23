#!/usr/bin/env python3
"""Golden tensors for the kernel's batch normalisation, from PyTorch's
BatchNorm2d (Debian's python3-torch), in training and evaluation mode:
the output, the running statistics after one training pass, and the
gradients of Σ r·y for the input, the scale and the shift.

usage: /usr/bin/python3 tools/golden_bn.py > kernel/testdata/batchnorm.json
"""
import json
import torch

torch.manual_seed(20150213)  # Ioffe and Szegedy, arXiv 1502.03167
N, C, H, W = 4, 3, 5, 6
MOMENTUM, EPS = 0.1, 1e-5


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


out = {"shape": [N, C, H, W], "momentum": MOMENTUM, "eps": EPS}
x = torch.randn(N, C, H, W) * 2 + 3
r = torch.randn(N, C, H, W)
bn = torch.nn.BatchNorm2d(C, eps=EPS, momentum=MOMENTUM)
with torch.no_grad():
    bn.weight.copy_(torch.randn(C))
    bn.bias.copy_(torch.randn(C))
    bn.running_mean.copy_(torch.randn(C))
    bn.running_var.copy_(torch.rand(C) + 0.5)
out.update(input=flat(x), r=flat(r), weight=flat(bn.weight), bias=flat(bn.bias),
           running_mean=flat(bn.running_mean), running_var=flat(bn.running_var))
for mode in ("train", "eval"):
    bn.train(mode == "train")
    m, v = bn.running_mean.clone(), bn.running_var.clone()
    bn.weight.grad = bn.bias.grad = None
    xi = x.clone().requires_grad_(True)
    y = bn(xi)
    (y * r).sum().backward()
    out[mode] = {"output": flat(y), "input_grad": flat(xi.grad), "weight_grad": flat(bn.weight.grad),
                 "bias_grad": flat(bn.bias.grad), "running_mean": flat(bn.running_mean),
                 "running_var": flat(bn.running_var)}
    with torch.no_grad():  # the eval pass starts from the same statistics
        bn.running_mean.copy_(m)
        bn.running_var.copy_(v)
print(json.dumps(out))
