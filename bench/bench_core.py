#!/usr/bin/env python3
"""The workloads of bench_core.cpp in PyTorch, with the same timing and output format.

    python3 bench/bench_core.py [--threads N] [--json] [--min-time SECONDS]
                                [--filter SUBSTRING] [--label NAME]

With --json, one JSON object per line and workload (see bench_core.cpp). The `impl`
field is "torch" unless --label names it otherwise (used to compare thread settings).
PyTorch's own OpenMP pool is set with torch.set_num_threads(N); the OpenBLAS pool under
it (Debian links the pthread build) is set by OPENBLAS_NUM_THREADS in the environment,
which bench/run_core.sh chooses -- see bench/README.md.
"""

import argparse
import json
import statistics
import sys
import time

import torch


def measure(fn, min_time):
    """Warm-up (>= 3 calls and ~10% of the budget), then >= 5 timed repetitions filling
    `min_time`, each timed on its own; returns (median seconds, repetitions)."""
    warm, fastest, i = 0.0, float("inf"), 0
    while i < 3 or warm < 0.1 * min_time:
        t0 = time.perf_counter()
        fn()
        t = time.perf_counter() - t0
        warm += t
        fastest = min(fastest, t)
        i += 1
        if i > 1000:
            break
    reps = int(min(max(min_time / max(fastest, 1e-9), 5), 100000))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median_low(samples), reps


def workloads():
    """(name, shape, unit, work per iteration, function) -- the same list as bench_core.cpp."""
    torch.manual_seed(0)
    ws = []
    for s in (256, 512, 1024):
        a, b = torch.randn(s, s), torch.randn(s, s)
        ws.append((f"matmul_{s}", f"{s}x{s} @ {s}x{s}", "GFLOP/s", 2.0 * s * s * s,
                   lambda a=a, b=b: a @ b))
    # Linear-like: x (256x784), weight W (784x512), output gradient g (256x512).
    x, w, g = torch.randn(256, 784), torch.randn(784, 512), torch.randn(256, 512)
    flops = 2.0 * 256 * 784 * 512
    ws.append(("linear_fwd", "256x784 @ 784x512", "GFLOP/s", flops, lambda: x @ w))
    ws.append(("linear_dx_ABt", "256x512 @ (784x512)^T", "GFLOP/s", flops, lambda: g @ w.t()))
    ws.append(("linear_dW_AtB", "(256x784)^T @ 256x512", "GFLOP/s", flops, lambda: x.t() @ g))
    ba, bb = torch.randn(64, 128, 64), torch.randn(64, 64, 128)
    ws.append(("bmm", "64x128x64 @ 64x64x128", "GFLOP/s", 2.0 * 64 * 128 * 128 * 64,
               lambda: torch.matmul(ba, bb)))

    n, f = 4 * 1024 * 1024, 4
    a, b = torch.randn(n), torch.randn(n)
    m, v = torch.randn(4096, 1024), torch.randn(1024)
    n4m = str(n)
    ws += [
        ("add", f"{n4m} + {n4m}", "GB/s", 3 * n * f, lambda: a + b),
        ("mul_scalar", f"{n4m} * 2.0", "GB/s", 2 * n * f, lambda: a * 2.0),
        ("exp", n4m, "GB/s", 2 * n * f, lambda: torch.exp(a)),
        ("relu", n4m, "GB/s", 2 * n * f, lambda: torch.relu(a)),
        ("sigmoid", n4m, "GB/s", 2 * n * f, lambda: torch.sigmoid(a)),
        ("add_broadcast", "4096x1024 + 1024", "GB/s", (2.0 * 4096 * 1024 + 1024) * f,
         lambda: m + v),
        ("sum_all", n4m, "GB/s", (n + 1) * f, lambda: a.sum()),
        ("sum_lastdim", "4096x1024 -> 4096", "GB/s", (4096.0 * 1024 + 4096) * f,
         lambda: m.sum(dim=-1)),
    ]
    return ws


def loaded_blas():
    """The BLAS shared objects this process mapped (Debian's torch links libblas.so.3 and
    libopenblas.so.0, which the alternatives system points at the pthread or the OpenMP
    build of OpenBLAS), as real paths."""
    import os
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in os.path.basename(path):
                libs.add(os.path.realpath(path))
    return sorted(libs)


def info():
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # make sure BLAS is loaded
    import os
    env = {k: os.environ[k] for k in sorted(os.environ)
           if k.startswith(("OMP_", "OPENBLAS_", "GOMP_"))}
    return (f"PyTorch {torch.__version__}, torch.get_num_threads()={torch.get_num_threads()}, "
            f"env {env}, BLAS loaded: {', '.join(loaded_blas()) or 'none found'}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads(N)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--min-time", type=float, default=0.3,
                   help="seconds of timed repetitions per workload (default 0.3)")
    p.add_argument("--filter", default="", help="only workloads whose name contains this")
    p.add_argument("--label", default="torch", help="the impl name printed (default torch)")
    p.add_argument("--info", action="store_true",
                   help="print PyTorch's version, thread pools and the BLAS it loaded, then exit")
    args = p.parse_args()
    if args.info:
        print(info())
        return

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    if not args.json:
        print(f"PyTorch {torch.__version__} bench_core: {threads} thread(s), "
              f"median of repetitions filling {args.min_time:.2f} s each")
    with torch.no_grad():
        for name, shape, unit, work, fn in workloads():
            if args.filter and args.filter not in name:
                continue
            seconds, iters = measure(fn, args.min_time)
            rate = work / seconds / 1e9
            if args.json:
                print(json.dumps({"impl": args.label, "threads": threads, "name": name,
                                  "shape": shape, "seconds": float(f"{seconds:.6e}"),
                                  "iters": iters, "unit": unit, "rate": round(rate, 4)}))
            else:
                print(f"{args.label:<10} {name:<22} {shape:<28} {seconds * 1e6:10.1f} us  "
                      f"{rate:9.2f} {unit}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
