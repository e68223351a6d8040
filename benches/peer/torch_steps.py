"""PyTorch eager reference for gm's step benchmarks (benches/steps.rs): the same workloads,
architectures, batch sizes and Adam, in f32 on the CPU. Prints one JSON line per workload
with the median and minimum milliseconds per call, like the Rust side.

    python torch_steps.py [all|peak|vae|dcgan|conv|convt|mlpgan|geninf] [iters] [--threads N]
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timed(warmup, iters, fn):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(samples), min(samples)


def emit(name, stats, flops=None):
    rec = {"fw": "torch", "name": name, "median_ms": round(stats[0], 4), "min_ms": round(stats[1], 4)}
    if flops is not None:
        rec["gflops_median"] = round(flops / stats[0] / 1e6, 2)
    print(json.dumps(rec), flush=True)


def w_peak(iters):
    for n in (256, 512, 1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        emit(f"sgemm_{n}", timed(3, min(iters, 10) if n >= 2048 else iters, lambda: a @ b), 2.0 * n ** 3)


class MlpVae(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(784, 400)
        self.mu = nn.Linear(400, 20)
        self.logvar = nn.Linear(400, 20)
        self.dec1 = nn.Linear(20, 400)
        self.dec2 = nn.Linear(400, 784)

    def neg_elbo(self, x):
        h = torch.relu(self.enc(x))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        logits = self.dec2(torch.relu(self.dec1(z)))
        n = x.shape[0]
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
        kl = 0.5 * torch.sum(logvar.exp() + mu * mu - 1.0 - logvar) / n
        return rec + kl


def w_vae(iters):
    model = MlpVae()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(128, 784)

    def one():
        opt.zero_grad(set_to_none=True)
        model.neg_elbo(x).backward()
        opt.step()

    emit("vae_step_b128", timed(5, iters, one))


class DcGen(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(100, 128 * 7 * 7)
        self.up1 = nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1)
        self.norm = nn.BatchNorm2d(64)
        self.up2 = nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1)

    def forward(self, z):
        h = torch.relu(self.fc(z)).reshape(-1, 128, 7, 7)
        return torch.tanh(self.up2(torch.relu(self.norm(self.up1(h)))))


class DcDisc(nn.Module):
    def __init__(self):
        super().__init__()
        self.down1 = nn.Conv2d(1, 64, 4, stride=2, padding=1)
        self.down2 = nn.Conv2d(64, 128, 4, stride=2, padding=1)
        self.norm = nn.BatchNorm2d(128)
        self.out = nn.Linear(128 * 7 * 7, 1)

    def forward(self, x):
        h = F.leaky_relu(self.down1(x), 0.2)
        h = F.leaky_relu(self.norm(self.down2(h)), 0.2)
        return self.out(h.flatten(1))


def adversarial_step(gen, disc, opt_g, opt_d, real, zdim):
    n = real.shape[0]
    ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
    fake = gen(torch.randn(n, zdim))
    opt_d.zero_grad(set_to_none=True)
    d_loss = F.binary_cross_entropy_with_logits(disc(real), ones) + \
        F.binary_cross_entropy_with_logits(disc(fake.detach()), zeros)
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    F.binary_cross_entropy_with_logits(disc(fake), ones).backward()
    opt_g.step()


def w_dcgan(iters):
    gen, disc = DcGen().train(), DcDisc().train()
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-3)
    real = torch.rand(64, 1, 28, 28) * 2.0 - 1.0
    emit("dcgan_step_b64", timed(3, iters, lambda: adversarial_step(gen, disc, opt_g, opt_d, real, 100)))


def conv_pair(name, op, x_shape, w_shape, iters):
    x = torch.randn(*x_shape, requires_grad=True)
    w = (0.05 * torch.randn(*w_shape)).requires_grad_()
    with torch.no_grad():
        gy = torch.randn_like(op(x, w))
        emit(f"{name}_fwd", timed(3, iters, lambda: op(x, w)))

    def fwd_bwd():
        x.grad, w.grad = None, None
        (op(x, w) * gy).sum().backward()

    emit(f"{name}_fwd_bwd", timed(3, iters, fwd_bwd))


def w_conv(iters):
    conv_pair("conv2d", lambda x, w: F.conv2d(x, w, stride=2, padding=1), (64, 64, 14, 14), (128, 64, 4, 4), iters)


def w_convt(iters):
    conv_pair("convT2d", lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1),
              (64, 128, 7, 7), (128, 64, 4, 4), iters)


def mlp(sizes, act):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def w_mlpgan(iters):
    gen = mlp([2, 256, 256, 2], nn.ReLU)
    disc = mlp([2, 256, 256, 1], lambda: nn.LeakyReLU(0.2))
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-3)
    k = torch.randint(0, 8, (512,)).float() * (2.0 * math.pi / 8.0)
    real = 2.0 * torch.stack([k.cos(), k.sin()], 1) + 0.02 * torch.randn(512, 2)
    emit("mlpgan2d_step_b512", timed(10, max(iters, 100), lambda: adversarial_step(gen, disc, opt_g, opt_d, real, 2)))


def w_geninf(iters):
    gen = DcGen().eval()
    z = torch.randn(1024, 100)
    with torch.inference_mode():
        emit("gen_infer_b1024", timed(2, min(iters, 20), lambda: gen(z)))


WORKLOADS = {"peak": w_peak, "vae": w_vae, "dcgan": w_dcgan, "convt": w_convt, "conv": w_conv,
             "mlpgan": w_mlpgan, "geninf": w_geninf}

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("what", nargs="?", default="all")
    p.add_argument("iters", nargs="?", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for key, fn in WORKLOADS.items():
        if a.what in (key, "all"):
            fn(a.iters)
