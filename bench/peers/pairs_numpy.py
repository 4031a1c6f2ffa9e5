#!/usr/bin/python3
"""The straightforward numpy way to the all-pairs statistics: the peer of `embstat pairs`.

Rows normalised once (float32), then square 4,096-row tiles of the upper triangle, each one
`A @ B.T` (numpy's BLAS, its own threads), its pairs counted (>= 0 / < 0, |cos| < 1e-6), summed
(float64), min / max taken, and histogrammed with np.histogram (4,096 bins over [-1, 1]); on a
diagonal tile only the pairs j > i. Quantiles come from the histogram (bin resolution, not exact:
exact ones would need every value). Prints one JSON object: the statistics, wall and CPU seconds.

usage: pairs_numpy.py MATRIX.npy [--tile 4096] [--threads T]
"""
import argparse
import json
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("npy")
    ap.add_argument("--tile", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=0, help="BLAS threads (0: numpy's default)")
    args = ap.parse_args()
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import numpy as np  # after the thread variables

    wall0, cpu0 = time.perf_counter(), time.process_time()
    x = np.load(args.npy).astype(np.float32, copy=False)
    x /= np.linalg.norm(x, axis=1, keepdims=True).astype(np.float32)
    n, t = x.shape[0], args.tile
    bins = 4096
    hist = np.zeros(bins, dtype=np.int64)
    neg = unc = pairs = 0
    total = 0.0
    lo, hi = np.inf, -np.inf
    for i0 in range(0, n, t):
        a = x[i0:i0 + t]
        for j0 in range(i0, n, t):
            c = a @ x[j0:j0 + t].T
            if i0 == j0:
                c = c[np.triu_indices(c.shape[0], 1)]
            pairs += c.size
            neg += int(np.count_nonzero(c < 0))
            unc += int(np.count_nonzero(np.abs(c) < 1e-6))
            total += float(c.sum(dtype=np.float64))
            lo, hi = min(lo, float(c.min())), max(hi, float(c.max()))
            hist += np.histogram(c, bins=bins, range=(-1.0, 1.0))[0]
    cdf = np.cumsum(hist)
    median_bin = int(np.searchsorted(cdf, (pairs - 1) // 2, side="right"))
    out = {
        "peer": "numpy",
        "rows": n,
        "dim": x.shape[1],
        "pairs": pairs,
        "non_negative": pairs - neg,
        "negative": neg,
        "fraction_non_negative": (pairs - neg) / pairs,
        "uncertain": unc,
        "min": lo,
        "max": hi,
        "mean": total / pairs,
        "median_bin": [-1 + 2 * median_bin / bins, -1 + 2 * (median_bin + 1) / bins],
        "wall_s": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
