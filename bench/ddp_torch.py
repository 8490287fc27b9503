#!/usr/bin/env python3
"""The MNIST CNN trained data-parallel in PyTorch (DistributedDataParallel, gloo), beside zoo.

    python3 bench/ddp_torch.py [--processes 1|2] [--threads N] [--batch-size B]
                               [--steps 200] [--bind core|none] [--allreduce-iters 50]
                               [--data DIR] [--foreach] [--max-foreign 0.15] [--retries 6]
    python3 bench/ddp_torch.py --wrap-zoo CONFIG [--zoo-log FILE] [--max-foreign ...]
                               [--retries ...] -- CMD...
    python3 bench/ddp_torch.py --table RUNS.jsonl [--json-out FILE]

bench/run_distributed.sh runs all three; see bench/README.md, "Data-parallel training".

One PyTorch run (the default mode): fresh worker processes, one per rank, started from
this one (a fresh process per run, as zoo's runs are), each with torch.set_num_threads(N).
--processes 2 joins them with torch.distributed (gloo, TCP over 127.0.0.1, port chosen
free, GLOO_SOCKET_IFNAME=lo unless set) and wraps the model in DistributedDataParallel;
--bind core pins rank r to core r. The model, Adam (lr 1e-3), the cosine schedule
(over zoo's default run: 6 epochs of ceil(60000 / 128) steps) and the step are
bench_train.py's (imported, not copied), so the CNN is zoo's make_cnn with dropout 0.25.
The data is bench_train.py's MNIST reader; the order is one seeded permutation per epoch,
the same in every rank, and step k uses positions [G k, G k + G) of it (G = the global
batch, processes x --batch-size), rank r taking the contiguous part [G k + B r, G k + B r + B),
as zoo's DataLoader shards. (zoo draws its permutation from its own generator: the
examples differ, the work does not.) Each rank reseeds torch after the model is built,
so its dropout masks differ from the other's, as in zoo.

Counting: every step from the first (after a barrier), none untimed, because zoo's
--stop-after counts all steps from the start of its loop; samples/s = the global samples
of --steps steps / rank 0's seconds. Other processes' CPU during those seconds (all
ranks' own CPU taken out) is the run's "foreign_load"; a run above --max-foreign is redone
(at most --retries times). After the timed steps, with --processes 2 and
--allreduce-iters > 0, rank 0 times dist.all_reduce alone on one flat float32 tensor of
the CNN's parameter count (after a barrier and 5 untimed calls; the median call): the
gradient exchange without any waiting for a slower rank. DDP itself overlaps its
all-reduce with the backward pass, so a training step has no separate time for it.

--wrap-zoo CONFIG -- CMD: runs CMD (a `zoo train cnn ... --stop-after STEPS` command,
under mpirun or not), takes its JSON line, and prints a run line of the same shape;
its foreign load is measured over the whole command (CMD's processes are its children,
whose CPU time is taken out), and a run above --max-foreign is redone. CMD's standard
error goes to --zoo-log (default: passed through). Reads zoo's parameter count from the
checkpoint the run saves (--out DIR, from CMD).

--table: the run lines -> the Markdown table (median of each cell's runs; lowest-highest
after it) and, with --json-out, one JSON line per (configuration, impl) in
bench/compare.py's shape, with the ratio, speed-up and communication fields added.
"""

import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train import BATCH, ForeignLoad, Trainer, load_mnist, make_model  # noqa: E402

ZOO_DEFAULT_EPOCHS = 6          # zoo train cnn's default --epochs: the cosine schedule's length
ORDER_SEED = 0                  # the permutation of epoch e is drawn from seed (ORDER_SEED, e)

# The configurations, in table order: (key, label). zoo's shared-memory and TCP runs are
# both compared with the one PyTorch DDP configuration, gloo over TCP: gloo has no
# shared-memory transport.
ROWS = [
    ("1x2", "1 process × 2 threads, batch 128", "1x2", "1x2"),
    ("2x1-shm", "2 processes × 1 thread, batch 64 each, shared memory", "2x1-shm", "2x1-gloo"),
    ("2x1-tcp", "2 processes × 1 thread, batch 64 each, TCP over loopback", "2x1-tcp", "2x1-gloo"),
]
TRANSPORT = {"1x2": "none", "2x1-shm": "Open MPI vader (shared memory)",
             "2x1-tcp": "Open MPI tcp over lo", "2x1-gloo": "gloo, TCP over 127.0.0.1"}


def cpu_busy():
    """Seconds the whole machine has been busy (ForeignLoad's count of /proc/stat)."""
    return ForeignLoad._busy()


def own_cpu():
    return ForeignLoad._self()


def children_cpu():
    import resource
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def parameter_count():
    return sum(p.numel() for p in make_model("cnn").parameters())


# ---------------------------------------------------------------- one PyTorch worker

def epoch_order(n, epoch):
    import torch
    g = torch.Generator()
    g.manual_seed(ORDER_SEED * 1000003 + epoch)
    return torch.randperm(n, generator=g)


def worker(args, rank, world):
    if args.bind == "core" and world > 1:
        os.sched_setaffinity(0, {rank % os.cpu_count()})  # before torch starts its threads
    import torch
    torch.set_num_threads(args.threads)
    x_all, y_all = load_mnist(args.data)
    n = x_all.shape[0]
    per_rank = args.batch_size
    global_batch = per_rank * world
    steps_per_epoch = (n + global_batch - 1) // global_batch
    trainer = Trainer("cnn", ZOO_DEFAULT_EPOCHS * steps_per_epoch, args.foreach)
    if rank > 0:
        torch.manual_seed(1000 + rank)  # this rank's own dropout masks
    if world > 1:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel
        from datetime import timedelta
        dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world,
                                timeout=timedelta(minutes=5))  # not gloo's 30: a lost rank fails soon
        trainer.model = DistributedDataParallel(trainer.model)  # broadcasts rank 0's weights
        dist.barrier()

    order, order_epoch = None, -1
    samples = 0
    loss_sum = 0.0
    busy0, own0, t0 = cpu_busy(), own_cpu(), time.perf_counter()
    for step in range(args.steps):
        epoch, k = divmod(step, steps_per_epoch)
        if epoch != order_epoch:
            order, order_epoch = epoch_order(n, epoch), epoch
        start = k * global_batch
        mine = order[min(start + rank * per_rank, n):min(start + (rank + 1) * per_rank, n)]
        if mine.numel() == 0:
            raise RuntimeError(f"rank {rank} has no examples in step {step}: choose another batch size")
        loss_sum += trainer.step(x_all.index_select(0, mine), y_all.index_select(0, mine))
        samples += min(start + global_batch, n) - start
    seconds = time.perf_counter() - t0
    busy, own = cpu_busy() - busy0, own_cpu() - own0
    if loss_sum != loss_sum:
        raise RuntimeError("the loss became NaN")

    record = {"steps": args.steps, "seconds": seconds, "samples_per_second": samples / seconds}
    if world > 1:
        import torch.distributed as dist
        mine_cpu = torch.tensor([own], dtype=torch.float64)
        dist.all_reduce(mine_cpu)  # every rank's own CPU seconds, summed
        own = float(mine_cpu[0])
        if args.allreduce_iters > 0:
            flat = torch.zeros(parameter_count(), dtype=torch.float32)
            dist.barrier()
            for _ in range(5):
                dist.all_reduce(flat)
            times = []
            for _ in range(args.allreduce_iters):
                a = time.perf_counter()
                dist.all_reduce(flat)
                times.append(time.perf_counter() - a)
            record["allreduce_seconds"] = statistics.median(times)
            record["allreduce_iters"] = args.allreduce_iters
        dist.barrier()
        dist.destroy_process_group()
    record["foreign_load"] = max(0.0, busy - own) / seconds
    record["parameters"] = parameter_count()
    if rank == 0:
        print("RESULT " + json.dumps(record), flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_once(args):
    """Starts the workers, waits for them, returns rank 0's record."""
    env = dict(os.environ)
    world = args.processes
    if world > 1:
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), WORLD_SIZE=str(world))
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    argv = [sys.executable, os.path.abspath(__file__)] + args.passthrough
    procs = []
    for rank in range(world):
        procs.append(subprocess.Popen(argv + ["--worker", str(rank)], env=dict(env, RANK=str(rank)),
                                      stdout=subprocess.PIPE if rank == 0 else subprocess.DEVNULL, text=True))
    out = ""
    try:
        while True:
            codes = [p.poll() for p in procs]
            if any(c not in (None, 0) for c in codes):
                raise RuntimeError(f"a worker failed (exit codes {codes})")
            if all(c == 0 for c in codes):
                break
            time.sleep(0.05)
        out = procs[0].stdout.read()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    lines = [l for l in out.splitlines() if l.startswith("RESULT ")]
    if not lines:
        raise RuntimeError("rank 0 printed no result")
    return json.loads(lines[-1][len("RESULT "):])


def torch_run(args):
    rejected = 0
    while True:
        rec = launch_once(args)
        if rec["foreign_load"] > args.max_foreign and rejected < args.retries:
            rejected += 1
            print(f"ddp_torch.py: other processes used {rec['foreign_load']:.2f} cores; running again",
                  file=sys.stderr)
            continue
        break
    config = f"{args.processes}x{args.threads}" + ("-gloo" if args.processes > 1 else "")
    out = {"kind": "run", "impl": "torch", "config": config, "processes": args.processes,
           "threads": args.threads, "batch_per_process": args.batch_size,
           "global_batch": args.batch_size * args.processes, "steps": rec["steps"],
           "seconds": rec["seconds"], "rate": rec["samples_per_second"],
           "foreign_load": round(rec["foreign_load"], 3), "rejected_runs": rejected,
           "parameters": rec["parameters"],
           "bind": args.bind if args.processes > 1 else "none",
           "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
           "adam_foreach": bool(args.foreach)}
    if "allreduce_seconds" in rec:
        out["allreduce_seconds"] = rec["allreduce_seconds"]
        out["allreduce_iters"] = rec["allreduce_iters"]
    print(json.dumps(out), flush=True)


# ---------------------------------------------------------------- one zoo run

def zoo_checkpoint_parameters(folder):
    """The float count of the model.* tensors in zoo's checkpoint (its gradient message)."""
    path = os.path.join(folder, "checkpoint.safetensors")
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    total = 0
    for name, info in header.items():
        if name.startswith("model.") and info.get("dtype") == "F32":
            count = 1
            for d in info["shape"]:
                count *= d
            total += count
    return total


def zoo_run(args):
    cmd = args.command
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        sys.exit("ddp_torch.py --wrap-zoo: no command after --")
    out_dir = None
    for i, a in enumerate(cmd[:-1]):
        if a == "--out":
            out_dir = cmd[i + 1]
    rejected = 0
    while True:
        busy0, kids0, own0, t0 = cpu_busy(), children_cpu(), own_cpu(), time.perf_counter()
        if args.zoo_log:
            with open(args.zoo_log, "a") as log:
                done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        else:
            done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        foreign = max(0.0, (cpu_busy() - busy0) - (children_cpu() - kids0) - (own_cpu() - own0)) / wall
        if done.returncode != 0:
            sys.exit(f"ddp_torch.py: the zoo run failed (exit code {done.returncode}): {' '.join(cmd)}"
                     + (f" (its messages: {args.zoo_log})" if args.zoo_log else ""))
        lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
        if not lines:
            sys.exit(f"ddp_torch.py: the zoo run printed no JSON line: {' '.join(cmd)}")
        rec = json.loads(lines[-1])
        if foreign > args.max_foreign and rejected < args.retries:
            rejected += 1
            print(f"ddp_torch.py: other processes used {foreign:.2f} cores; running zoo again", file=sys.stderr)
            continue
        break
    processes = int(rec.get("processes", 1))
    distributed = "--distributed" in cmd
    if distributed and processes < 2:
        sys.exit("ddp_torch.py: zoo ran --distributed but reports no 'processes' above 1: is the binary "
                 "built with MPI (cmake -DZOO_MPI=ON, Debian's libopenmpi-dev)?")
    threads = int(cmd[cmd.index("--threads") + 1]) if "--threads" in cmd else 0
    batch = int(cmd[cmd.index("--batch-size") + 1]) if "--batch-size" in cmd else 128
    out = {"kind": "run", "impl": "zoo", "config": args.wrap_zoo, "processes": processes, "threads": threads,
           "batch_per_process": batch, "global_batch": batch * processes, "steps": rec["steps"],
           "seconds": rec["seconds"], "rate": rec["samples_per_second"],
           "foreign_load": round(foreign, 3), "foreign_load_window": "whole command",
           "rejected_runs": rejected, "wall_seconds": round(wall, 3)}
    if "communication_seconds_per_step" in rec:
        out["communication_seconds_per_step"] = rec["communication_seconds_per_step"]
    if out_dir:
        try:
            out["parameters"] = zoo_checkpoint_parameters(out_dir)
        except (OSError, ValueError, KeyError) as e:
            print(f"ddp_torch.py: could not read zoo's checkpoint in {out_dir}: {e}", file=sys.stderr)
    out["command"] = " ".join(cmd)
    print(json.dumps(out), flush=True)


# ---------------------------------------------------------------- the table

def lower_median(values):
    s = sorted(values)
    return s[(len(s) - 1) // 2]


def fmt_rate(cell):
    if not cell:
        return ""
    rates = [r["rate"] for r in cell]
    text = f"{lower_median(rates):,.0f}"
    if len(rates) > 1:
        text += f" ({min(rates):,.0f}–{max(rates):,.0f})"
    return text


def table(args):
    runs = []
    for path in args.table:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rec = json.loads(line)
                    if rec.get("kind") == "run":
                        runs.append(rec)
    if not runs:
        sys.exit("ddp_torch.py --table: no run lines in " + ", ".join(args.table))
    cells = {}
    for r in runs:
        cells.setdefault((r["impl"], r["config"]), []).append(r)

    def median_of(impl, config, key="rate"):
        vals = [r[key] for r in cells.get((impl, config), []) if key in r]
        return lower_median(vals) if vals else None

    base = {impl: median_of(impl, "1x2") for impl in ("zoo", "torch")}
    n_params = parameter_count()
    zoo_params = sorted({r["parameters"] for r in runs if r["impl"] == "zoo" and "parameters" in r})
    message = 4 * n_params
    steps = sorted({r["steps"] for r in runs})
    counts = sorted({len(v) for v in cells.values()})

    head = ["configuration", "zoo samples/s", "PyTorch samples/s", "zoo/PyTorch",
            "zoo speed-up over 1 × 2", "PyTorch speed-up over 1 × 2",
            "zoo all-reduce per step (incl. waiting)", "share of zoo's step",
            "PyTorch all-reduce alone"]
    lines = [f"MNIST CNN training, samples/s (higher is faster), median of {'/'.join(map(str, counts))} "
             f"run(s) (lowest–highest), {'/'.join(map(str, steps))} steps each, every step counted "
             "from the first; a zoo/PyTorch ratio above 1 means zoo is faster.", "",
             "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    records = []
    for key, label, zoo_config, torch_config in ROWS:
        z, t = cells.get(("zoo", zoo_config)), cells.get(("torch", torch_config))
        if not z and (not t or torch_config != zoo_config):
            continue  # (a zoo transport not run: no row for PyTorch's shared DDP cell alone)
        zr, tr = median_of("zoo", zoo_config), median_of("torch", torch_config)
        ratio = zr / tr if zr and tr else None
        zs = zr / base["zoo"] if zr and base["zoo"] else None
        ts = tr / base["torch"] if tr and base["torch"] else None
        comm = median_of("zoo", zoo_config, "communication_seconds_per_step")
        step_s = median_of("zoo", zoo_config, "seconds")
        zoo_steps = median_of("zoo", zoo_config, "steps")
        share = comm / (step_s / zoo_steps) if comm is not None and step_s and zoo_steps else None
        ar = median_of("torch", torch_config, "allreduce_seconds")
        torch_label = "" if torch_config == zoo_config or not t else " †"
        lines.append("| " + " | ".join([
            label, fmt_rate(z), fmt_rate(t) + torch_label,
            f"**{ratio:.2f}**" if ratio else "",
            f"{zs:.2f}" if zs else "", f"{ts:.2f}" if ts else "",
            f"{comm * 1e3:.2f} ms" if comm is not None else "",
            f"{100 * share:.0f}%" if share is not None else "",
            f"{ar * 1e3:.2f} ms" if ar is not None else ""]) + " |")
        for impl, config, cell, rate, speedup in (("zoo", zoo_config, z, zr, zs), ("torch", torch_config, t, tr, ts)):
            if not cell:
                continue
            first = cell[0]
            rec = {"impl": impl, "threads": first["threads"], "name": f"train_cnn {key}",
                   "shape": f"{first['processes']} x batch {first['batch_per_process']}",
                   "seconds": float(f"{median_of(impl, config, 'seconds') / first['steps']:.6e}"),
                   "iters": first["steps"], "unit": "samples/s", "rate": round(rate, 1),
                   "processes": first["processes"], "transport": TRANSPORT.get(config, config),
                   "runs": [round(r["rate"], 1) for r in cell],
                   "foreign_load": [r["foreign_load"] for r in cell],
                   "rejected_runs": sum(r.get("rejected_runs", 0) for r in cell),
                   "speedup_over_1_process_2_threads": round(speedup, 3) if speedup else None,
                   "allreduce_bytes": message if first["processes"] > 1 else 0}
            if impl == "zoo":  # the whole row: zoo's fields, then PyTorch's beside them
                rec["zoo_over_torch"] = round(ratio, 3) if ratio else None
                rec["torch_rate"] = round(tr, 1) if tr else None
                rec["torch_speedup_over_1_process_2_threads"] = round(ts, 3) if ts else None
                if ar is not None:
                    rec["torch_allreduce_seconds"] = float(f"{ar:.6e}")
                if comm is not None:
                    rec["communication_seconds_per_step"] = float(f"{comm:.6e}")
                    rec["communication_includes_waiting"] = True
            else:
                if torch_config != zoo_config:
                    rec["note"] = "the same PyTorch runs as every row with gloo: it has no shared-memory transport"
                if ar is not None:
                    rec["allreduce_seconds"] = float(f"{ar:.6e}")
                    rec["allreduce_includes_waiting"] = False
            records.append(rec)
    lines.append("")
    zoo_note = (f"zoo's checkpoint holds {zoo_params[0]:,}" if zoo_params == [n_params]
                else f"zoo's checkpoint holds {', '.join(f'{p:,}' for p in zoo_params)} (DIFFERENT)"
                if zoo_params else "zoo's parameter count not read")
    lines.append(f"All-reduce message: the CNN's {n_params:,} float32 parameters (PyTorch; {zoo_note}) "
                 f"= {message:,} bytes ({message / 1e6:.2f} MB, {message / 2**20:.2f} MiB) per step. zoo "
                 "sends it after the backward pass, in one bucket (--bucket-mb 25), plus one double for "
                 "the loss; DDP in buckets of 1 MiB first then 25 MiB (two here), each launched during "
                 "the backward pass as soon as its gradients are ready.")
    lines.append("zoo all-reduce per step: zoo's communication_seconds_per_step, the mean time a step spent in "
                 "the gradient all-reduce on rank 0, including waiting for the slower process. PyTorch "
                 "all-reduce alone: dist.all_reduce of one flat tensor of that size on rank 0, after a "
                 "barrier, median call: the exchange itself, no waiting for a slower rank.")
    if any(torch_config != zoo_config for _, _, zoo_config, torch_config in ROWS
           if cells.get(("torch", torch_config))):
        lines.append("† gloo has no shared-memory transport: PyTorch's 2-process cell is the same DDP runs "
                     "(gloo, TCP over 127.0.0.1) in both 2-process rows.")
    print("\n".join(lines))
    if args.json_out:
        with open(args.json_out, "w") as f:
            for rec in records:
                f.write(json.dumps(rec) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--processes", type=int, default=1, choices=[1, 2], help="1, or 2 with DDP")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads in each process")
    p.add_argument("--batch-size", type=int, default=BATCH, help="per process")
    p.add_argument("--steps", type=int, default=200, help="steps, all of them timed")
    p.add_argument("--bind", default="core", choices=["core", "none"], help="pin rank r to core r (2 processes)")
    p.add_argument("--allreduce-iters", type=int, default=50, help="timed dist.all_reduce calls (0: none)")
    p.add_argument("--data", default="data/mnist", help="folder with the IDX files")
    p.add_argument("--foreach", action="store_true", help="Adam(foreach=True)")
    p.add_argument("--max-foreign", type=float, default=0.15,
                   help="redo a run during which other processes used more CPU (cores)")
    p.add_argument("--retries", type=int, default=6, help="at most this many redone runs")
    p.add_argument("--worker", type=int, default=-1, help=argparse.SUPPRESS)
    p.add_argument("--wrap-zoo", metavar="CONFIG", help="run the zoo command after -- as configuration CONFIG")
    p.add_argument("--zoo-log", help="with --wrap-zoo: append the command's standard error here")
    p.add_argument("--table", nargs="+", metavar="JSONL", help="print the table of these run lines and exit")
    p.add_argument("--json-out", help="with --table: write the summary JSON lines here")
    p.add_argument("command", nargs=argparse.REMAINDER, help="with --wrap-zoo: -- and the command")
    args = p.parse_args()
    if args.table:
        table(args)
    elif args.wrap_zoo:
        zoo_run(args)
    elif args.worker >= 0:
        worker(args, args.worker, args.processes)
    else:
        args.passthrough = ["--processes", str(args.processes), "--threads", str(args.threads),
                            "--batch-size", str(args.batch_size), "--steps", str(args.steps),
                            "--bind", args.bind, "--allreduce-iters", str(args.allreduce_iters),
                            "--data", args.data] + (["--foreach"] if args.foreach else [])
        torch_run(args)


if __name__ == "__main__":
    main()
