#!/usr/bin/env python3
"""`zoo train char-lstm` in PyTorch: the same model, data, batch, sequence length,
optimizer, clipping and number of steps, for bench/run_char_lstm.sh.

    /usr/bin/python3 bench/char_lstm_torch.py [--data data/brown] [--steps 3000]
        [--batch-size 32] [--seq-len 64] [--embed 64] [--hidden 256] [--layers 1]
        [--lr 2e-3] [--clip 1.0] [--threads N] [--seed 0]

Model: nn.Embedding(256, E) -> nn.LSTM(E, H, L) (time-major) -> nn.Linear(H, 256), float32,
PyTorch's default initialisation (zoo's is the same distribution, other random numbers).
Data: train.txt's bytes cut into B streams side by side; step k reads columns
[kT, kT + T) and predicts the next byte; the LSTM state is carried to the next step and
detached (truncated BPTT); a new pass over the streams starts from zeros. Adam at a
constant learning rate, gradients clipped to total norm `--clip`. At the end, bits per
character on valid.txt read the same way (streams, carried state, no grad).

Prints one JSON object: valid_bpc, train_bpc (mean training loss over all steps, in bits:
zoo's train_bpc when --eval-every equals --steps), steps,
seconds (training loop only) and tokens_per_second. Threads: torch.set_num_threads(N);
the OpenBLAS under PyTorch follows OPENBLAS_NUM_THREADS, set by the caller.
"""

import argparse
import json
import math
import time

import torch
import torch.nn as nn


def streams_of(path, b):
    data = open(path, "rb").read()
    per = len(data) // b
    t = torch.frombuffer(bytearray(data[: b * per]), dtype=torch.uint8).long()
    return t.view(b, per)


class CharLstm(nn.Module):
    def __init__(self, e, h, layers):
        super().__init__()
        self.embed = nn.Embedding(256, e)
        self.lstm = nn.LSTM(e, h, layers)
        self.head = nn.Linear(h, 256)

    def forward(self, x, state):
        y, state = self.lstm(self.embed(x), state)
        return self.head(y), state


def evaluate(model, streams, t):
    model.eval()
    nats, count, state = 0.0, 0, None
    with torch.no_grad():
        n = streams.size(1)
        for start in range(0, n - 1, t):
            ln = min(t, n - 1 - start)
            x = streams[:, start:start + ln].t().contiguous()
            y = streams[:, start + 1:start + 1 + ln].t().contiguous()
            logits, state = model(x, state)
            nats += nn.functional.cross_entropy(logits.reshape(-1, 256), y.reshape(-1),
                                                reduction="sum").item()
            count += y.numel()
    model.train()
    return nats / count / math.log(2)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="data/brown")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train = streams_of(f"{a.data}/train.txt", a.batch_size)
    valid = streams_of(f"{a.data}/valid.txt", a.batch_size)
    t, b = a.seq_len, a.batch_size
    chunks = (train.size(1) - 1) // t
    model = CharLstm(a.embed, a.hidden, a.layers)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    state, losses = None, []
    started = time.perf_counter()
    for step in range(a.steps):
        k = step % chunks
        if k == 0:
            state = None
        x = train[:, k * t:(k + 1) * t].t().contiguous()
        y = train[:, k * t + 1:(k + 1) * t + 1].t().contiguous()
        logits, state = model(x, state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 256), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        state = tuple(s.detach() for s in state)
        losses.append(loss.item())
    seconds = time.perf_counter() - started
    print(json.dumps({"impl": "torch", "threads": a.threads, "steps": a.steps,
                      "valid_bpc": evaluate(model, valid, t),
                      "train_bpc": sum(losses) / len(losses) / math.log(2),
                      "seconds": seconds, "tokens_per_second": a.steps * t * b / seconds}))


if __name__ == "__main__":
    main()
