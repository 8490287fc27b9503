#!/usr/bin/env python3
"""Cuts the MNIST test fixture tests/data/mnist-mini/ out of the real files.

    data/fetch_mnist.sh                      # the real MNIST in data/mnist/
    python3 tests/data/make_mnist_mini.py    # writes tests/data/mnist-mini/

The fixture holds the first 200 training and the first 100 test images and labels as
real IDX files with the original names: the training pair plain, the test pair gzipped
(so the tests read both forms), about 170 KB in all. Only the count field of each header
changes; the gzip files carry no name or time stamp, so re-running gives the same bytes.
"""
import gzip
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "data" / "mnist"
DEST = ROOT / "tests" / "data" / "mnist-mini"

# name -> (number of examples kept, write gzipped?)
CUTS = {
    "train-images-idx3-ubyte": (200, False),
    "train-labels-idx1-ubyte": (200, False),
    "t10k-images-idx3-ubyte": (100, True),
    "t10k-labels-idx1-ubyte": (100, True),
}


def read_source(name):
    plain, packed = SOURCE / name, SOURCE / (name + ".gz")
    if plain.exists():
        return plain.read_bytes()
    if packed.exists():
        return gzip.decompress(packed.read_bytes())
    raise SystemExit(f"{plain} is missing: run data/fetch_mnist.sh first")


def cut(data, count):
    """The first `count` examples of an IDX file of unsigned bytes, with its header fixed."""
    magic, n = struct.unpack(">II", data[:8])
    if magic >> 8 != 0x08:  # 0x00 0x00 then type 0x08 (unsigned byte)
        raise SystemExit(f"unexpected IDX magic {magic:#010x}")
    ndims = magic & 0xFF
    dims = struct.unpack(f">{ndims}I", data[4 : 4 + 4 * ndims])
    example_bytes = 1
    for d in dims[1:]:
        example_bytes *= d
    header = struct.pack(f">I{ndims}I", magic, count, *dims[1:])
    body = data[4 + 4 * ndims :][: count * example_bytes]
    return header + body


def main():
    DEST.mkdir(parents=True, exist_ok=True)
    for name, (count, packed) in CUTS.items():
        data = cut(read_source(name), count)
        if packed:
            (DEST / (name + ".gz")).write_bytes(gzip.compress(data, mtime=0))
        else:
            (DEST / name).write_bytes(data)
        if "labels" in name:
            counts = [data[8:].count(bytes([d])) for d in range(10)]
            print(f"{name}: {count} labels, counts of 0..9: {counts}")
    total = sum(p.stat().st_size for p in DEST.iterdir())
    print(f"wrote {DEST} ({total} bytes)")


if __name__ == "__main__":
    main()
