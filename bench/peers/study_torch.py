#!/usr/bin/python3
"""Peers for `embstat sample`: the study's own method and what a careful Python user would write.

  study-torch    the study's code path (../shared/SEED.md): per target, torch.cat of the other
                 rows, a matrix-vector product, the norms, (c >= 0).sum(), torch.median; in the
                 matrix's own dtype (bf16), as the model was loaded. --dtype f32 converts first.
  batched-torch  norms once, one V x T product for all targets, then per-target reductions.
  study-numpy    the study's per-target method in numpy (f32: numpy has no bf16).
  batched-numpy  the batched method in numpy.

All print the study's Markdown row for the same target ids, so their numbers can be compared with
embstat's. Threads: torch.set_num_threads(--threads, default 2); numpy uses its BLAS's default.
Each target is compared with every other row (not itself); medians are lower medians (torch).
"""
import argparse
import sys
import time

import numpy as np

from safetensors_read import tensor_bytes


def load_numpy_f32(path):
    buf, dtype, shape = tensor_bytes(path)
    if dtype == "BF16":  # bf16 is the top half of an f32
        u16 = np.frombuffer(buf, dtype=np.uint16).reshape(shape)
        return (u16.astype(np.uint32) << 16).view(np.float32)
    if dtype == "F32":
        return np.frombuffer(buf, dtype=np.float32).reshape(shape).copy()
    if dtype == "F16":
        return np.frombuffer(buf, dtype=np.float16).reshape(shape).astype(np.float32)
    sys.exit(f"unsupported dtype {dtype}")


def load_torch(path, as_f32):
    import torch
    buf, dtype, shape = tensor_bytes(path)
    torch_dtype = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}[dtype]
    # Like safetensors.torch.load_file: the tensor is copied out of the file into memory.
    t = torch.frombuffer(bytearray(buf), dtype=torch_dtype).reshape(shape)
    return t.float() if as_f32 else t


def row(stats):
    """The study's Markdown row: means over targets of min, max, mean, median, counts, fraction."""
    s = np.array(stats, dtype=np.float64).mean(axis=0)
    return "| {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.4f} |".format(*s)


def study_torch(path, targets, as_f32):
    import torch
    emb = load_torch(path, as_f32)
    stats = []
    for i in targets:
        target = emb[i]
        others = torch.cat([emb[:i], emb[i + 1:]])
        c = (others @ target) / (others.norm(dim=1) * target.norm())
        nn = (c >= 0).sum().item()
        stats.append([c.min().item(), c.max().item(), c.float().mean().item(), c.median().item(), nn,
                      c.numel() - nn, nn / c.numel()])
    return stats


def batched_torch(path, targets, as_f32):
    import torch
    emb = load_torch(path, True)  # a careful user computes in f32
    emb /= emb.norm(dim=1, keepdim=True)
    idx = torch.tensor(targets)
    cos = emb @ emb[idx].T  # V x T
    del emb
    stats = []
    for k, i in enumerate(targets):
        c = torch.cat([cos[:i, k], cos[i + 1:, k]])
        nn = (c >= 0).sum().item()
        stats.append([c.min().item(), c.max().item(), c.double().mean().item(), c.median().item(), nn,
                      c.numel() - nn, nn / c.numel()])
    return stats


def lower_median(c):
    k = (c.size - 1) // 2
    return np.partition(c, k)[k]


def study_numpy(path, targets, as_f32):
    emb = load_numpy_f32(path)
    stats = []
    for i in targets:
        target = emb[i]
        others = np.concatenate([emb[:i], emb[i + 1:]])
        c = (others @ target) / (np.linalg.norm(others, axis=1) * np.linalg.norm(target))
        nn = int((c >= 0).sum())
        stats.append([c.min(), c.max(), c.mean(dtype=np.float64), lower_median(c), nn, c.size - nn, nn / c.size])
    return stats


def batched_numpy(path, targets, as_f32):
    emb = load_numpy_f32(path)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    cos = emb @ emb[targets].T  # V x T
    del emb
    stats = []
    for k, i in enumerate(targets):
        c = np.concatenate([cos[:i, k], cos[i + 1:, k]])
        nn = int((c >= 0).sum())
        stats.append([c.min(), c.max(), c.mean(dtype=np.float64), lower_median(c), nn, c.size - nn, nn / c.size])
    return stats


METHODS = {"study-torch": study_torch, "batched-torch": batched_torch, "study-numpy": study_numpy,
           "batched-numpy": batched_numpy}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("method", choices=METHODS)
    p.add_argument("file", help="a .safetensors file holding the embedding matrix")
    p.add_argument("--targets", required=True, help="comma-separated row ids (the same as embstat's --targets)")
    p.add_argument("--dtype", choices=["native", "f32"], default="native",
                   help="study-torch: compute in the file's dtype (native, like the study) or f32")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    if a.method.endswith("torch"):
        import torch
        torch.set_num_threads(a.threads)
    targets = [int(x) for x in a.targets.split(",")]
    t0 = time.perf_counter()
    stats = METHODS[a.method](a.file, targets, a.dtype == "f32")
    print(f"| {a.method} " + row(stats))
    print(f"{a.method}: {len(targets)} targets in {time.perf_counter() - t0:.2f} s (after imports)", file=sys.stderr)


if __name__ == "__main__":
    main()
