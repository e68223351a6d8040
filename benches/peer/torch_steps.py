"""PyTorch eager reference for gm's step benchmarks (benches/steps.rs): the same workloads,
architectures, batch sizes and Adam, in f32 on the CPU. Prints one JSON line per workload
with the median and minimum milliseconds per call, like the Rust side.

    python torch_steps.py [all|peak|vae|dcgan|gandcgan|conv|convt|mlpgan|geninf|mmd|sliced|normal|csgm|flow]
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


def gm_dcgan():
    """`run dcgan`'s pair (gm-gan's GanTrainConfig::dcgan_mnist, 32 base channels)."""
    gen = nn.Sequential(
        nn.ConvTranspose2d(100, 64, 7), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1), nn.Tanh())
    disc = nn.Sequential(
        nn.Conv2d(1, 32, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 1, 7), nn.Flatten())
    return gen, disc


def w_gandcgan(iters):
    gen, disc = gm_dcgan()
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(64, 1, 28, 28) * 2.0 - 1.0

    def step():
        adversarial_step(lambda z: gen(z.reshape(-1, 100, 1, 1)), disc, opt_g, opt_d, real, 100)

    emit("gan_dcgan_step_b64", timed(3, iters, step))


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


class ConvNet(nn.Module):
    """3x3 conv, ReLU, 1x1 conv, ReLU, zero-initialised 3x3 conv: a coupling's conditioner."""

    def __init__(self, c_in, hidden, c_out):
        super().__init__()
        self.conv_in = nn.Conv2d(c_in, hidden, 3, padding=1)
        self.conv_mid = nn.Conv2d(hidden, hidden, 1)
        self.conv_out = nn.Conv2d(hidden, c_out, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x):
        return self.conv_out(torch.relu(self.conv_mid(torch.relu(self.conv_in(x)))))


class Coupling(nn.Module):
    """RealNVP affine coupling with a checkerboard or channel mask and log s = scale tanh(raw)."""

    def __init__(self, c, hidden, odd, checkerboard):
        super().__init__()
        self.c, self.odd, self.checkerboard = c, odd, checkerboard
        if checkerboard:
            self.net = ConvNet(c + 1, hidden, 2 * c)
            self.scale = nn.Parameter(torch.ones(c))
        else:
            first = c // 2
            self.kept, self.changed = (c - first, first) if odd else (first, c - first)
            self.net = ConvNet(self.kept, hidden, 2 * self.changed)
            self.scale = nn.Parameter(torch.ones(self.changed))

    def forward(self, x):
        n, _, h, w = x.shape
        if self.checkerboard:
            ij = torch.arange(h).view(h, 1) + torch.arange(w).view(1, w)
            b = ((ij % 2) == int(self.odd)).float().view(1, 1, h, w)
            out = self.net(torch.cat([x * b, b.expand(n, 1, h, w)], 1))
            k = out.shape[1] // 2
            log_s = torch.tanh(out[:, :k]) * self.scale.view(1, -1, 1, 1) * (1 - b)
            t = out[:, k:] * (1 - b)
            return x * log_s.exp() + t, log_s.flatten(1).sum(1)
        first = self.c // 2
        a, bb = x[:, :first], x[:, first:]
        kept, changed = (bb, a) if self.odd else (a, bb)
        out = self.net(kept)
        k = out.shape[1] // 2
        log_s = torch.tanh(out[:, :k]) * self.scale.view(1, -1, 1, 1)
        changed = changed * log_s.exp() + out[:, k:]
        z = torch.cat([changed, kept], 1) if self.odd else torch.cat([kept, changed], 1)
        return z, log_s.flatten(1).sum(1)


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(c))
        self.logs = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        s = self.logs.exp().view(1, -1, 1, 1)
        z = x * s + (self.bias.view(1, -1, 1, 1) * s)
        return z, (self.logs.sum() * x.shape[2] * x.shape[3]).expand(x.shape[0])


class InvConv1x1(nn.Module):
    """Glow's LU-parameterised invertible 1x1 convolution."""

    def __init__(self, c):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(c, c))
        p, lower, upper = torch.linalg.lu(q)
        diag = torch.diagonal(upper)
        self.register_buffer("perm", p)
        self.register_buffer("sign", diag.sign())
        self.register_buffer("lmask", torch.tril(torch.ones(c, c), -1))
        self.register_buffer("eye", torch.eye(c))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(diag.abs().log())

    def forward(self, x):
        c = x.shape[1]
        l = self.lower * self.lmask + self.eye
        u = self.upper * self.lmask.T + torch.diag(self.sign * self.log_s.exp())
        w = (self.perm @ l @ u).view(c, c, 1, 1)
        return F.conv2d(x, w), (self.log_s.sum() * x.shape[2] * x.shape[3]).expand(x.shape[0])


def squeeze(x):
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


class ImageFlow(nn.Module):
    """gm-flow's default multi-scale flow on 1x28x28: logit (alpha 0.05), two checkerboard
    steps (hidden 32), then two levels of squeeze and four steps of actnorm, 1x1 convolution
    and channel coupling (hidden 64), half the channels factored out after the first level."""

    def __init__(self, alpha=0.05):
        super().__init__()
        self.alpha = alpha
        self.pre = nn.ModuleList()
        for i in range(2):
            self.pre.append(ActNorm(1))
            self.pre.append(Coupling(1, 32, i % 2 == 1, True))
        self.levels = nn.ModuleList()
        ch = 1
        for _ in range(2):
            ch *= 4
            steps = nn.ModuleList()
            for k in range(4):
                steps.extend([ActNorm(ch), InvConv1x1(ch), Coupling(ch, 64, k % 2 == 1, False)])
            self.levels.append(steps)
            ch //= 2

    def log_prob(self, y):
        a = self.alpha
        y = a + (1 - 2 * a) * y
        h = y.log() - (1 - y).log()
        logdet = (math.log(1 - 2 * a) - y.log() - (1 - y).log()).flatten(1).sum(1)
        for layer in self.pre:
            h, ld = layer(h)
            logdet = logdet + ld
        parts = []
        for i, steps in enumerate(self.levels):
            h = squeeze(h)
            for layer in steps:
                h, ld = layer(h)
                logdet = logdet + ld
            if i + 1 < len(self.levels):
                k = h.shape[1] // 2
                parts.append(h[:, :k].flatten(1))
                h = h[:, k:]
        parts.append(h.flatten(1))
        z = torch.cat(parts, 1)
        return -0.5 * (z * z).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + logdet


def w_flow(iters):
    model = ImageFlow()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randint(0, 256, (64, 1, 28, 28)).float() / 255.0
    d = 784

    def step():
        opt.zero_grad()
        y = (x * 255.0 + torch.rand_like(x)) / 256.0
        nll = -(model.log_prob(y) - d * math.log(256.0)).mean()
        (nll / d).backward()
        opt.step()

    emit("flow_step_b64", timed(3, iters, step))


WORKLOADS = {"peak": w_peak, "vae": w_vae, "dcgan": w_dcgan, "gandcgan": w_gandcgan, "convt": w_convt, "conv": w_conv,
             "mlpgan": w_mlpgan, "geninf": w_geninf, "mmd": w_mmd, "sliced": w_sliced,
             "normal": w_normal, "csgm": w_csgm, "flow": w_flow}

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
