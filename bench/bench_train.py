#!/usr/bin/env python3
"""The training step of bench_train.cpp in PyTorch, with the same data, timing and output.

    python3 bench/bench_train.py [--model mlp|cnn|all] [--threads N] [--steps 100]
                                 [--warmup 10] [--runs 3] [--data DIR] [--json]
                                 [--profile] [--label NAME] [--foreach]
                                 [--max-foreign 0.15] [--retries 6]
    python3 bench/bench_train.py --profile-table ZOO.jsonl TORCH.jsonl

The same models as zoo's make_mlp / make_cnn (torch.nn.Sequential, same layers, same
default initialisation scheme), Adam lr 1e-3, CosineAnnealingLR over the steps run,
cross-entropy, float32, zero_grad(set_to_none=True) as zoo does, loss.item() every step.
--model vae: zoo's VAE step (binarise, one-sample ELBO, Adam lr 1e-3 constant).
--model unet: DDPM's step on zoo's U-Net (make_unet, the same layers in the same order).
Batch b is MNIST training images [128 b, 128 b + 128) in file order, read from the same
IDX files as zoo (numpy; torchvision is not needed), scaled to [0, 1].

PyTorch's OpenMP pool is set with torch.set_num_threads(N); the OpenBLAS under it
(Debian links the pthread build) is set by OPENBLAS_NUM_THREADS in the environment,
which bench/run_train.sh chooses. With --json, one JSON object per line and model in
bench/compare.py's format (see bench_train.cpp); --profile prints per-layer times
instead, and --profile-table turns zoo's and PyTorch's profile lines into a table.
A run during which other processes used more than --max-foreign cores is redone (at
most --retries times), as in bench_train.cpp.
"""

import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

BATCH = 128
LR = 1e-3


class ForeignLoad:
    """CPU time other processes used per wall second, in cores (see bench_train.cpp)."""

    @staticmethod
    def _busy():
        try:
            with open("/proc/stat") as f:
                v = [float(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _self():
        import resource
        u = resource.getrusage(resource.RUSAGE_SELF)
        return u.ru_utime + u.ru_stime

    def __init__(self):
        self.busy0, self.self0, self.t0 = self._busy(), self._self(), time.perf_counter()

    def get(self):
        wall = time.perf_counter() - self.t0
        if self.busy0 is None or wall <= 0:
            return -1.0
        return max(0.0, (self._busy() - self.busy0) - (self._self() - self.self0)) / wall

    def own(self):
        """This process's CPU seconds per wall second."""
        wall = time.perf_counter() - self.t0
        return (self._self() - self.self0) / wall if wall > 0 else -1.0


def read_idx(path):
    """An IDX file (plain or .gz) as a numpy array."""
    import numpy as np
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(folder):
    import torch
    images = read_idx(os.path.join(folder, "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(folder, "train-labels-idx1-ubyte"))
    x = torch.from_numpy(images.astype("float32") / 255.0).reshape(-1, 1, 28, 28).contiguous()
    y = torch.from_numpy(labels.astype("int64"))
    return x, y


def make_model(name):
    from torch import nn
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(512, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
                         nn.Linear(128, 10))


class Trainer:
    """A model, Adam and the cosine schedule, as zoo train makes them."""

    def __init__(self, name, total_steps, foreach):
        import torch
        torch.manual_seed(0)
        self.model = make_model(name)
        self.model.train()
        kwargs = {"foreach": True} if foreach else {}
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR, **kwargs)
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, total_steps)

    def step(self, x, y):
        import torch.nn.functional as F
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.schedule.step()
        return loss.item()


class Vae:
    """zoo's models::Vae (784-400-20): encoder Linear-ReLU, mean and log-variance heads,
    decoder Linear-ReLU-Linear to logits, the same parameter shapes."""

    def __init__(self):
        from torch import nn
        self.encoder = nn.Sequential(nn.Linear(784, 400), nn.ReLU())
        self.mean, self.log_var = nn.Linear(400, 20), nn.Linear(400, 20)
        self.decoder = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784))
        self.modules = nn.ModuleList([self.encoder, self.mean, self.log_var, self.decoder])

    def negative_elbo(self, images):
        """Binarise, encode, sample z, decode: the mean of −(log p(x|z) − KL), as zoo's step."""
        import torch
        import torch.nn.functional as F
        x = (torch.rand_like(images) < images).float()
        h = self.encoder(x)
        mu, log_var = self.mean(h), self.log_var(h)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        log_likelihood = -F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(1)
        return -(log_likelihood - kl).mean()


class VaeTrainer:
    """The VAE and Adam (constant learning rate), as zoo train vae makes them."""

    def __init__(self, name, total_steps, foreach):
        import torch
        torch.manual_seed(0)
        self.model = Vae()
        kwargs = {"foreach": True} if foreach else {}
        self.optimizer = torch.optim.Adam(self.model.modules.parameters(), lr=LR, **kwargs)

    def step(self, x, y):
        loss = self.model.negative_elbo(x.reshape(x.shape[0], 784))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def make_unet():
    """zoo's models::UNet with its defaults and 10 classes: the same layers, shapes and order."""
    import math
    import torch
    from torch import nn
    import torch.nn.functional as F

    def timestep_embedding(t, dim):
        half = dim // 2
        omega = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        angles = t.float()[:, None] * omega[None, :]
        return torch.cat([torch.sin(angles), torch.cos(angles)], 1)

    class ResBlock(nn.Module):
        def __init__(self, cin, cout, emb):
            super().__init__()
            self.norm1, self.conv1 = nn.GroupNorm(8, cin), nn.Conv2d(cin, cout, 3, padding=1)
            self.emb_proj = nn.Linear(emb, cout)
            self.norm2, self.conv2 = nn.GroupNorm(8, cout), nn.Conv2d(cout, cout, 3, padding=1)
            self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

        def forward(self, x, e):
            h = self.conv1(F.silu(self.norm1(x))) + self.emb_proj(F.silu(e))[:, :, None, None]
            h = self.conv2(F.silu(self.norm2(h)))
            return (self.skip(x) if self.skip is not None else x) + h

    class Attention(nn.Module):
        def __init__(self, c, heads=4):
            super().__init__()
            self.heads, self.norm = heads, nn.GroupNorm(8, c)
            self.qkv, self.out = nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

        def forward(self, x):
            n, c, hh, ww = x.shape
            d, p = c // self.heads, hh * ww
            q, k, v = self.qkv(self.norm(x)).reshape(n, 3, self.heads, d, p).unbind(1)
            w = torch.softmax(q.transpose(2, 3) @ k / math.sqrt(d), dim=3)
            return x + self.out((v @ w.transpose(2, 3)).reshape(n, c, hh, ww))

    class UNet(nn.Module):
        def __init__(self, c=32, mults=(1, 2, 2), classes=10):
            super().__init__()
            self.c, emb = c, 4 * c
            self.conv_in = nn.Conv2d(1, c, 3, padding=1)
            self.time_fc1, self.time_fc2 = nn.Linear(c, emb), nn.Linear(emb, emb)
            self.class_embedding = nn.Embedding(classes + 1, emb)
            self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
            skips, ch = [c], c
            for i, m in enumerate(mults):
                self.down.append(nn.ModuleList([ResBlock(ch, c * m, emb)]))
                ch = c * m
                skips.append(ch)
                if i + 1 < len(mults):
                    self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                    skips.append(ch)
            self.mid1, self.mid_attention, self.mid2 = ResBlock(ch, ch, emb), Attention(ch), ResBlock(ch, ch, emb)
            self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
            for i in reversed(range(len(mults))):
                blocks = nn.ModuleList()
                for _ in range(2):
                    blocks.append(ResBlock(ch + skips.pop(), c * mults[i], emb))
                    ch = c * mults[i]
                self.up.append(blocks)
                if i > 0:
                    self.upsample.append(nn.Conv2d(ch, ch, 3, padding=1))
            self.norm_out, self.conv_out = nn.GroupNorm(8, ch), nn.Conv2d(ch, 1, 3, padding=1)
            nn.init.zeros_(self.conv_out.weight)
            nn.init.zeros_(self.conv_out.bias)

        def forward(self, x, t, y):
            e = self.time_fc2(F.silu(self.time_fc1(timestep_embedding(t, self.c)))) + self.class_embedding(y)
            h = self.conv_in(x)
            skips = [h]
            for i, blocks in enumerate(self.down):
                for block in blocks:
                    h = block(h, e)
                    skips.append(h)
                if i < len(self.downsample):
                    h = self.downsample[i](h)
                    skips.append(h)
            h = self.mid2(self.mid_attention(self.mid1(h, e)), e)
            for i, blocks in enumerate(self.up):
                for block in blocks:
                    h = block(torch.cat([h, skips.pop()], 1), e)
                if i < len(self.upsample):
                    h = self.upsample[i](F.interpolate(h, size=skips[-1].shape[2:], mode="nearest"))
            return self.conv_out(F.silu(self.norm_out(h)))

    return UNet()


class UnetTrainer:
    """DDPM's training step on the U-Net, as bench_train.cpp's UnetTrainer."""

    def __init__(self, name, total_steps, foreach):
        import torch
        torch.manual_seed(0)
        self.model = make_unet()
        betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
        self.alpha_bar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)]).float()
        kwargs = {"foreach": True} if foreach else {}
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR, **kwargs)

    def step(self, images, labels):
        import torch
        import torch.nn.functional as F
        n = images.shape[0]
        x0 = images * 2 - 1
        t = torch.randint(1, 1001, (n,))
        noise = torch.randn_like(x0)
        a = self.alpha_bar[t][:, None, None, None]
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
        y = torch.where(torch.rand(n) < 0.9, labels, torch.full((n,), 10))
        loss = F.mse_loss(self.model(x_t, t.float(), y), noise)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()


class Batches:
    def __init__(self, x, y):
        self.x_all, self.y_all = x, y
        self.count = x.shape[0] // BATCH

    def x(self, b):
        s = (b % self.count) * BATCH
        return self.x_all[s:s + BATCH]

    def y(self, b):
        s = (b % self.count) * BATCH
        return self.y_all[s:s + BATCH]


def run_once(name, data, args):
    t = {"vae": VaeTrainer, "unet": UnetTrainer}.get(name, Trainer)(name, args.warmup + args.steps, args.foreach)
    b = 0
    for _ in range(args.warmup):
        t.step(data.x(b), data.y(b))
        b += 1
    loss_sum = 0.0
    load = ForeignLoad()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss_sum += t.step(data.x(b), data.y(b))
        b += 1
    seconds = time.perf_counter() - t0
    foreign, cpu_use = load.get(), load.own()
    if loss_sum != loss_sum:
        raise RuntimeError("the loss became NaN")
    return args.steps * BATCH / seconds, seconds / args.steps, foreign, cpu_use


def measure(name, data, args, threads):
    results, rejected = [], 0
    while len(results) < args.runs:
        result = run_once(name, data, args)
        if result[2] > args.max_foreign and rejected < args.retries:
            rejected += 1  # another job shared the cores: do it again
            continue
        results.append(result)
    rate, step_seconds, _, cpu_use = sorted(results)[(len(results) - 1) // 2]  # lower median
    if args.json:
        print(json.dumps({"impl": args.label, "threads": threads, "name": f"train_{name}",
                          "shape": f"batch {BATCH}", "seconds": float(f"{step_seconds:.6e}"),
                          "iters": args.steps, "unit": "samples/s", "rate": round(rate, 1),
                          "runs": [round(r[0], 1) for r in results],
                          "foreign_load": [round(r[2], 2) for r in results],
                          "rejected_runs": rejected, "cpu_use": round(cpu_use, 2)}))
    else:
        runs = " ".join(f"{r[0]:.1f}" for r in results)
        loads = " ".join(f"{r[2]:.2f}" for r in results)
        print(f"{args.label:<5} {name:<4} {threads} thread(s): {rate:9.1f} samples/s  "
              f"({step_seconds * 1e3:.2f} ms/step; runs: {runs}; other load: {loads}; "
              f"{rejected} run(s) redone; own CPU use {cpu_use:.2f})")
    sys.stdout.flush()


def profile(name, data, args, threads):
    """The model cut at every layer, each part timed on its own (see bench_train.cpp)."""
    import torch.nn.functional as F
    t = Trainer(name, args.warmup + args.steps, args.foreach)
    layers = list(t.model)
    n = len(layers)
    labels = [f"{i} {type(layer).__name__}" for i, layer in enumerate(layers)]
    total = {}  # insertion-ordered

    def add(part, seconds):
        total[part] = total.get(part, 0.0) + seconds

    b = 0
    clock = time.perf_counter
    load = ForeignLoad()
    for it in range(args.warmup + args.steps):
        timed = it >= args.warmup

        def record(part, t0):
            if timed:
                add(part, clock() - t0)

        step_start = clock()
        ins, outs = [None] * n, [None] * n
        for i in range(n):
            ins[i] = data.x(b) if i == 0 else outs[i - 1].detach().requires_grad_(True)
            t0 = clock()
            outs[i] = layers[i](ins[i])
            record(f"fwd {labels[i]}", t0)
        logits = outs[-1].detach().requires_grad_(True)
        t0 = clock()
        loss = F.cross_entropy(logits, data.y(b))
        record("fwd cross_entropy", t0)
        t0 = clock()
        t.optimizer.zero_grad(set_to_none=True)
        record("zero_grad", t0)
        t0 = clock()
        loss.backward()
        record("bwd cross_entropy", t0)
        g = logits.grad
        for i in reversed(range(n)):
            if not outs[i].requires_grad:
                break  # a first layer without parameters (Flatten)
            t0 = clock()
            outs[i].backward(g)
            record(f"bwd {labels[i]}", t0)
            if i > 0:
                g = ins[i].grad
        t0 = clock()
        t.optimizer.step()
        t.schedule.step()
        loss.item()
        record("adam step + schedule", t0)
        record("step (sum of parts + glue)", step_start)
        b += 1

    plain = 0.0
    for _ in range(args.steps):
        t0 = clock()
        t.step(data.x(b), data.y(b))
        plain += clock() - t0
        b += 1
    add("step (uncut, as trained)", plain)
    foreign = load.get()

    for part, seconds in total.items():
        ms = seconds / args.steps * 1e3
        if args.json:
            print(json.dumps({"impl": args.label, "threads": threads, "name": name,
                              "part": part, "ms": round(ms, 4), "steps": args.steps,
                              "foreign_load": round(foreign, 2)}))
        else:
            print(f"{args.label} {name} {threads} thread(s)  {part:<32} {ms:9.3f} ms")
    if not args.json:
        print(f"{args.label} {name}: other load during the profile: {foreign:.2f}")
    sys.stdout.flush()


def profile_table(paths):
    """A Markdown table per (model, threads): ms per step of each part, zoo and PyTorch."""
    recs = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rec = json.loads(line)
                    if "part" in rec:
                        recs.append(rec)
    groups = {}
    for r in recs:
        g = groups.setdefault((r["name"], r["threads"]), {"parts": [], "cells": {}, "impls": []})
        if r["part"] not in g["parts"]:
            g["parts"].append(r["part"])
        if r["impl"] not in g["impls"]:
            g["impls"].append(r["impl"])
        g["cells"][(r["part"], r["impl"])] = r["ms"]
    out = []
    for (name, threads), g in groups.items():
        impls = g["impls"]
        show = {"zoo": "zoo ms", "torch": "PyTorch ms"}
        head = ["part"] + [show.get(i, i + " ms") for i in impls]
        if "zoo" in impls and "torch" in impls:
            head += ["zoo/PyTorch time", "zoo share"]
        step_zoo = g["cells"].get(("step (uncut, as trained)", "zoo"))
        out += [f"{name}, {threads} thread(s): ms per step (a time ratio above 1 means zoo "
                f"is slower)", "", "| " + " | ".join(head) + " |",
                "|---|" + "---:|" * (len(head) - 1)]
        for part in g["parts"]:
            row = [part] + [f"{g['cells'][(part, i)]:.3f}" if (part, i) in g["cells"] else ""
                            for i in impls]
            if "zoo" in impls and "torch" in impls:
                z, t = g["cells"].get((part, "zoo")), g["cells"].get((part, "torch"))
                row.append(f"{z / t:.2f}" if z is not None and t else "")
                row.append(f"{100 * z / step_zoo:.1f}%" if z is not None and step_zoo
                           and not part.startswith("step") else "")
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    print("\n".join(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="all", choices=["mlp", "cnn", "vae", "unet", "all"])
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads(N)")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--data", default="data/mnist", help="folder with the IDX files")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--profile", action="store_true", help="per-layer times instead")
    p.add_argument("--label", default="torch", help="the impl name printed (default torch)")
    p.add_argument("--foreach", action="store_true", help="Adam(foreach=True)")
    p.add_argument("--max-foreign", type=float, default=0.15,
                   help="redo a run during which other processes used more CPU (cores)")
    p.add_argument("--retries", type=int, default=6, help="at most this many redone runs")
    p.add_argument("--profile-table", nargs="+", metavar="JSONL",
                   help="print the per-layer table of these profile files and exit")
    args = p.parse_args()
    if args.profile_table:
        profile_table(args.profile_table)
        return

    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    x, y = load_mnist(args.data)
    data = Batches(x, y)
    models = ["mlp", "cnn"] if args.model == "all" else [args.model]
    if not args.json:
        print(f"PyTorch {torch.__version__} bench_train: {threads} thread(s), batch {BATCH}, "
              f"{args.warmup} warm-up + {args.steps} timed steps, median of {args.runs} runs, "
              f"{x.shape[0]} MNIST images from {args.data}")
    for name in models:
        if args.profile:
            profile(name, data, args, threads)
        else:
            measure(name, data, args, threads)


if __name__ == "__main__":
    main()
