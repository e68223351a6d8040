"""PyTorch eager reference for gm's step benchmarks (benches/steps.rs): the same workloads,
architectures, batch sizes and Adam, in f32 on the CPU. Prints one JSON line per workload
with the median and minimum milliseconds per call, like the Rust side.

    python torch_steps.py [all|peak|vae|dcgan|conv|convt|mlpgan|geninf|mmd|sliced|normal|csgm]
        [iters] [--threads N]
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


def clouds():
    return torch.randn(2048, 784), torch.randn(2048, 784) + 0.1


def w_mmd(iters):
    x, y = clouds()
    sigmas = (10.0, 20.0, 40.0)

    def gram_sum(d2):
        return sum(torch.exp(-d2 / (2.0 * s * s)) for s in sigmas)

    def one():
        n = x.shape[0]
        xx, yy, xy = torch.cdist(x, x).square(), torch.cdist(y, y).square(), torch.cdist(x, y).square()
        kxx, kyy, kxy = gram_sum(xx), gram_sum(yy), gram_sum(xy)
        diag = float(len(sigmas)) * n
        return ((kxx.sum() - diag) + (kyy.sum() - diag)) / (n * (n - 1)) - 2.0 * kxy.mean()

    emit("mmd2_unbiased_2048x784", timed(1, min(iters, 10), one), 3.0 * 2.0 * 2048 * 2048 * 784)


def w_sliced(iters):
    x, y = clouds()
    dirs = torch.randn(784, 128)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)

    def one():
        px, _ = torch.sort(x @ dirs, dim=0)
        py, _ = torch.sort(y @ dirs, dim=0)
        return (px - py).square().mean().sqrt()

    emit("sliced_w2_2048x784_p128", timed(2, iters, one))


def w_normal(iters):
    emit("normal_tensor_1M", timed(2, iters, lambda: torch.randn(1_000_000)))
    emit("noise_tensor_1M", timed(2, iters, lambda: torch.randn(1_000_000)))


def w_csgm(iters):
    dec = nn.Sequential(nn.Linear(20, 500), nn.Softplus(), nn.Linear(500, 500), nn.Softplus(),
                        nn.Linear(500, 784), nn.Sigmoid())
    for p in dec.parameters():
        p.requires_grad_(False)
    a = torch.randn(100, 784)
    with torch.no_grad():
        x = dec(torch.randn(30, 20))
        b = x @ a.T + 0.1 * torch.randn(30, 100)
    b_rows = b.repeat_interleave(5, 0)

    def one():
        z = torch.randn(150, 20, requires_grad=True)
        opt = torch.optim.Adam([z], lr=0.01)
        for _ in range(20):
            opt.zero_grad()
            loss = ((dec(z) @ a.T - b_rows).square().sum(1) / 100.0).sum()
            loss.backward()
            opt.step()
        with torch.no_grad():
            per = ((dec(z) @ a.T - b_rows).square().sum(1) / 100.0).view(30, 5)
            return per.argmin(1)

    emit("csgm_batched_30img_5restarts_20steps", timed(1, min(iters, 10), one))


WORKLOADS = {"peak": w_peak, "vae": w_vae, "dcgan": w_dcgan, "convt": w_convt, "conv": w_conv,
             "mlpgan": w_mlpgan, "geninf": w_geninf, "mmd": w_mmd, "sliced": w_sliced,
             "normal": w_normal, "csgm": w_csgm}

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
