#!/usr/bin/python3
"""Writes a synthetic token-embedding matrix as a bf16 .safetensors file, for bench/sample_bench.sh.

Rows are 0.02 * (z + m) with z ~ N(0, I) per row and m = 0.25 * N(0, I) one shared offset, so most
pairs have a positive cosine, as in trained models (about 0.98 non-negative at d = 1,024).
Tensor name: model.embed_tokens.weight. Rounded to bf16 to nearest, ties to even.
"""
import argparse
import json
import struct

import numpy as np


def to_bf16(a):
    u = a.view(np.uint32)
    return ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--dim", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    offset = (0.25 * rng.standard_normal(a.dim)).astype(np.float32)
    n_bytes = a.rows * a.dim * 2
    header = json.dumps({"model.embed_tokens.weight": {"dtype": "BF16", "shape": [a.rows, a.dim],
                                                       "data_offsets": [0, n_bytes]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(a.out, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        for r0 in range(0, a.rows, 8192):
            n = min(8192, a.rows - r0)
            z = rng.standard_normal((n, a.dim), dtype=np.float32)
            f.write(to_bf16(np.ascontiguousarray(0.02 * (z + offset), dtype=np.float32)).tobytes())


if __name__ == "__main__":
    main()
