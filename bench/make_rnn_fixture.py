#!/usr/bin/env python3
"""Makes tests/data/rnn/rnn_parity.safetensors: small PyTorch recurrent layers, their
inputs and their outputs, for zoo's parity test (tests/nn/test_rnn_parity.cpp).

    /usr/bin/python3 bench/make_rnn_fixture.py [--out tests/data/rnn/rnn_parity.safetensors]

Five modules, seeded, each saved under a prefix with its state dict names:
  rnn.      nn.RNN(3, 4, num_layers=2, nonlinearity="relu", batch_first=True)
  lstm.     nn.LSTM(3, 4, num_layers=2, bidirectional=True)
  gru.      nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
  lstmcell. nn.LSTMCell(3, 4)
  grucell.  nn.GRUCell(3, 4)
and, under "<prefix>in." and "<prefix>out.", the inputs (x, h0, c0) and the outputs
(y, h_n, c_n, or h and c for a cell). Weights and inputs are float32 ("F32"); the
outputs are computed by PyTorch in float64 from those very float32 values and stored as
"F64", so zoo can compare in float64 to ~1e-12 and in float32 to ~1e-5.

The safetensors file is written by hand (the `safetensors` package is not needed): an
8-byte little-endian header length, a JSON header padded with spaces to a multiple of
8, then the tensors' bytes (see nn/io/safetensors.h).
"""

import argparse
import json
import os
import struct

import torch

DTYPES = {torch.float32: "F32", torch.float64: "F64"}


def save_safetensors(path, tensors):
    """Writes an ordered dict of name -> tensor in the safetensors format."""
    header, chunks, offset = {}, [], 0
    # Larger elements first, so every tensor is aligned to its element size.
    names = sorted(tensors, key=lambda n: -tensors[n].element_size())
    for name in names:
        t = tensors[name].contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="tests/data/rnn/rnn_parity.safetensors")
    args = parser.parse_args()
    torch.manual_seed(2024)
    T, B, I, H = 5, 2, 3, 4
    out = {}

    def add(prefix, module, inputs, run):
        for name, p in module.state_dict().items():
            out[prefix + name] = p.detach().float()
        for name, t in inputs.items():
            out[prefix + "in." + name] = t.float()
        # Compute in float64 from the float32 values stored above.
        m64 = module.double()
        with torch.no_grad():
            results = run(m64, {k: v.double() for k, v in inputs.items()})
        for name, t in results.items():
            out[prefix + "out." + name] = t.double()

    L2 = 2
    rnn = torch.nn.RNN(I, H, num_layers=L2, nonlinearity="relu", batch_first=True)
    add("rnn.", rnn, {"x": torch.randn(B, T, I), "h0": torch.randn(L2, B, H)},
        lambda m, i: dict(zip(("y", "h_n"), m(i["x"], i["h0"]))))

    lstm = torch.nn.LSTM(I, H, num_layers=L2, bidirectional=True)
    def run_lstm(m, i):
        y, (h, c) = m(i["x"], (i["h0"], i["c0"]))
        return {"y": y, "h_n": h, "c_n": c}
    add("lstm.", lstm, {"x": torch.randn(T, B, I), "h0": torch.randn(2 * L2, B, H),
                        "c0": torch.randn(2 * L2, B, H)}, run_lstm)

    gru = torch.nn.GRU(I, H, num_layers=L2, bidirectional=True, batch_first=True)
    add("gru.", gru, {"x": torch.randn(B, T, I), "h0": torch.randn(2 * L2, B, H)},
        lambda m, i: dict(zip(("y", "h_n"), m(i["x"], i["h0"]))))

    lstmcell = torch.nn.LSTMCell(I, H)
    def run_lstmcell(m, i):
        h, c = m(i["x"], (i["h0"], i["c0"]))
        return {"h": h, "c": c}
    add("lstmcell.", lstmcell, {"x": torch.randn(B, I), "h0": torch.randn(B, H),
                                "c0": torch.randn(B, H)}, run_lstmcell)

    grucell = torch.nn.GRUCell(I, H)
    add("grucell.", grucell, {"x": torch.randn(B, I), "h0": torch.randn(B, H)},
        lambda m, i: {"h": m(i["x"], i["h0"])})

    save_safetensors(args.out, out)
    print(f"wrote {args.out}: {len(out)} tensors, {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
