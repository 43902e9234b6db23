#!/usr/bin/env python3
"""Golden tensors for kernel's tests, from PyTorch (Debian's python3-torch).

Builds a small net with every layer type the kernel has (3×3 conv, ReLU,
3×3/2 max-pool with padding, stride-2 conv, leaky ReLU, 1×1 conv, global
average pooling), seeded weights and inputs, and writes its logits, the
cross-entropy loss and every gradient, plus the gradient, deconvnet and
guided-backprop maps of each example's top class, to
kernel/testdata/golden.json. The Go test kernel/golden_test.go rebuilds
the net from the same file and compares.

usage: /usr/bin/python3 tools/golden.py > kernel/testdata/golden.json
"""
import json
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(20141221)  # arXiv 1412.6806
SLOPE = 0.1
spec = {"name": "golden", "input": [3, 12, 12], "layers": [
    {"type": "conv", "name": "conv1", "out": 8, "kernel": 3, "pad": 1}, {"type": "relu"},
    {"type": "maxpool", "name": "pool1", "kernel": 3, "stride": 2, "pad": 1},
    {"type": "conv", "name": "conv2", "out": 12, "kernel": 3, "stride": 2, "pad": 1},
    {"type": "leaky_relu", "slope": SLOPE},
    {"type": "conv", "name": "conv3", "out": 5, "kernel": 1}, {"type": "relu"},
    {"type": "gap", "name": "gap"}]}
net = nn.Sequential(
    nn.Conv2d(3, 8, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
    nn.Conv2d(8, 12, 3, 2, 1), nn.LeakyReLU(SLOPE),
    nn.Conv2d(12, 5, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
names = {0: "conv1", 3: "conv2", 5: "conv3"}
with torch.no_grad():
    for i, n in names.items():
        net[i].bias.uniform_(0.0, 0.2)  # keep most units alive
x = torch.randn(3, 3, 12, 12)
labels = torch.tensor([1, 4, 0])


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


out = {"spec": spec, "input": flat(x), "labels": labels.tolist(), "params": {}, "grads": {}}
for i, n in names.items():
    out["params"][n + ".weight"] = flat(net[i].weight)
    out["params"][n + ".bias"] = flat(net[i].bias)

xi = x.clone().requires_grad_(True)
logits = net(xi)
loss = F.cross_entropy(logits, labels)
loss.backward()
out["logits"] = flat(logits)
out["loss"] = float(loss)
out["grads"]["input"] = flat(xi.grad)
for i, n in names.items():
    out["grads"][n + ".weight"] = flat(net[i].weight.grad)
    out["grads"][n + ".bias"] = flat(net[i].bias.grad)

top = logits.argmax(1)
out["top"] = top.tolist()


def saliency(rule):
    """rule(grad_out, x) → grad_in at each rectifier; None for plain autograd."""
    hooks = []
    if rule is not None:
        for m in net.modules():
            if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
                slope = m.negative_slope if isinstance(m, nn.LeakyReLU) else 0.0
                def hook(mod, args, kwargs=None, slope=slope):
                    pass
                hooks.append(m.register_full_backward_hook(
                    lambda mod, gi, go, slope=slope: (rule(go[0], mod.saved_x, slope),)))
                hooks.append(m.register_forward_pre_hook(
                    lambda mod, args: setattr(mod, "saved_x", args[0].detach())))
    xi = x.clone().requires_grad_(True)
    y = net(xi)
    y.gather(1, top[:, None]).sum().backward()
    for h in hooks:
        h.remove()
    return flat(xi.grad)


def deconvnet(g, x, a):  # the activation applied to the signal
    return torch.where(g > 0, g, a * g)


def guided(g, x, a):  # [g > 0]·g·f'(x)
    return torch.where(g > 0, g * torch.where(x > 0, torch.ones_like(x), a * torch.ones_like(x)), torch.zeros_like(g))


out["gradient"] = saliency(None)
out["deconvnet"] = saliency(deconvnet)
out["guided"] = saliency(guided)


# Attribution methods beyond the paper (kernel/attribution.go), by hand.
def integrated_gradients(steps):
    """Zero baseline, midpoints of steps equal segments."""
    alphas = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps
    total = torch.zeros_like(x)
    for a in alphas:
        xi = (float(a) * x).clone().requires_grad_(True)
        net(xi).gather(1, top[:, None]).sum().backward()
        total += xi.grad
    return flat(x * total / steps)


def grad_cam(layer):
    """Grad-CAM at the output of net[layer] (the rectifier after conv2)."""
    acts = {}
    h = net[layer].register_forward_hook(lambda m, a, o: acts.update(a=o))
    y = net(x)
    h.remove()
    a = acts["a"]
    g, = torch.autograd.grad(y.gather(1, top[:, None]).sum(), a)
    alpha = g.mean(dim=(2, 3), keepdim=True)
    return F.relu((alpha * a).sum(1, keepdim=True)).detach()


def occlusion(window, stride):
    """f(x) − f(x with a window×window patch zero), averaged over patches."""
    with torch.no_grad():
        f = net(x).gather(1, top[:, None])[:, 0]
        n, c, h, w = x.shape
        total, count = torch.zeros(n, 1, h, w), torch.zeros(1, 1, h, w)
        for y0 in range(0, h - window + 1, stride):
            for x0 in range(0, w - window + 1, stride):
                xo = x.clone()
                xo[:, :, y0:y0 + window, x0:x0 + window] = 0
                d = f - net(xo).gather(1, top[:, None])[:, 0]
                total[:, :, y0:y0 + window, x0:x0 + window] += d[:, None, None, None]
                count[:, :, y0:y0 + window, x0:x0 + window] += 1
        return flat((total / count.clamp(min=1)).expand(n, c, h, w))


out["ig16"] = integrated_gradients(16)
cam = grad_cam(4)
out["gradcam_conv2"] = flat(cam)
up = F.interpolate(cam, size=x.shape[2:], mode="nearest")
out["guided_gradcam_conv2"] = flat(torch.tensor(out["guided"]).reshape(x.shape) * up)
out["occlusion_3_3"] = occlusion(3, 3)
print(json.dumps(out))
