#!/usr/bin/python3
"""Scale-free statistics at extreme scales, end to end (run by CTest as e2e.extreme_scale).

Writes one 256 x 48 matrix (values representable in bf16, so the BF16 and F32 files hold the same
numbers) times 2^e for e in 0, -100 (~1e-30), -66 (~1e-20), 63 (~1e19), 100 (~1e30): powers of
two, so every scaled file holds exactly the scaled values and every scale-free number must match
the unscaled file's. Also the matrix with one row of +-2.99e38. Runs `sample`, `pairs` and
`geometry` (default, --spectrum exact, --spectrum randomized, --exact) on each, in both dtypes,
and checks exit 0 and the numbers; the one-row-of-3e38 file is checked against a double
reference computed here. Standard library only.
usage: extreme_scale.py EMBSTAT OUT_DIR
"""
import json
import math
import os
import random
import struct
import subprocess
import sys

N, D = 256, 48


def bf16_round(x):
    b = struct.unpack("<I", struct.pack("<f", x))[0]
    b = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16
    return struct.unpack("<f", struct.pack("<I", b & 0xFFFFFFFF))[0]


def write(path, rows, dtype):
    if dtype == "BF16":
        data = b"".join(struct.pack("<%dH" % D, *[struct.unpack("<I", struct.pack("<f", v))[0] >> 16 for v in r])
                        for r in rows)
    else:
        data = b"".join(struct.pack("<%df" % D, *r) for r in rows)
    header = json.dumps({"model.embed_tokens.weight": {"dtype": dtype, "shape": [N, D],
                                                       "data_offsets": [0, len(data)]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)


def run(exe, *args):
    p = subprocess.run([exe, "-q", *args, "--format", "json"], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("FAIL %s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr))
    return json.loads(p.stdout)["models"][0]


failures = []


def close(what, got, want, tol):
    if not (isinstance(got, (int, float)) and math.isfinite(got) and abs(got - want) <= tol):
        failures.append("%s: %r, expected %r (within %g)" % (what, got, want, tol))


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def main():
    exe, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(5)
    offset = [0.3 * rng.gauss(0, 1) for _ in range(D)]
    base = [[bf16_round(0.02 * (rng.gauss(0, 1) + offset[k])) for k in range(D)] for _ in range(N)]
    huge = [r[:] for r in base]
    huge[5] = [bf16_round(2.99e38 if k % 2 else -2.99e38) for k in range(D)]

    sample_keys = ["fraction_non_negative", "min", "max", "mean", "median"]
    pairs_keys = ["fraction_non_negative", "min", "max", "mean", "median"]
    geometry_keys = ["isoscore", "mean_cosine", "mean_norm_ratio", "offset_share", "fraction_non_negative",
                     "fraction_non_negative_centered", "fraction_non_negative_all_but_top"]
    geometry_runs = {"default": [], "exact-spectrum": ["--spectrum", "exact"],
                     "randomized": ["--spectrum", "randomized"], "all-pairs": ["--exact"]}
    for dtype in ("BF16", "F32"):
        reference = {}
        for e in (0, -100, -66, 63, 100):
            path = os.path.join(out, "scale_%s_%d.safetensors" % (dtype, e))
            write(path, [[math.ldexp(v, e) for v in r] for r in base], dtype)
            results = {"sample": run(exe, "sample", path), "pairs": run(exe, "pairs", path)}
            for name, extra in geometry_runs.items():
                results[name] = run(exe, "geometry", path, "--no-output", *extra)
            if e == 0:
                reference = results
                continue
            tag = "%s 2^%d" % (dtype, e)
            # Fractions: a cosine within float rounding of 0 may change sides between kernels.
            for key in sample_keys:
                close("%s sample %s" % (tag, key), results["sample"][key], reference["sample"][key],
                      2e-3 if key == "fraction_non_negative" else 1e-5)
            for key in pairs_keys:
                close("%s pairs %s" % (tag, key), results["pairs"][key], reference["pairs"][key],
                      1e-4 if key == "fraction_non_negative" else 1e-5)
            for name in geometry_runs:
                got, want = results[name], reference[name]
                for key in geometry_keys:
                    close("%s geometry %s %s" % (tag, name, key), got[key], want[key],
                          2e-3 if key.startswith("fraction") else 1e-5)
                for k, (a, b) in enumerate(zip(got["explained_variance"], want["explained_variance"])):
                    close("%s geometry %s explained_variance[%d]" % (tag, name, k), a, b, 1e-5)
                close("%s geometry %s norms.mean" % (tag, name), got["norms"]["mean"] / math.ldexp(1.0, e),
                      want["norms"]["mean"], 1e-6 * want["norms"]["mean"])

        # One row of 3e38 (its squares overflow f32, its norm passes FLT_MAX) among ordinary rows.
        path = os.path.join(out, "huge_row_%s.safetensors" % dtype)
        write(path, huge, dtype)
        s = run(exe, "sample", path)
        fractions = []
        for t in s["targets"]:
            others = [cosine(huge[t], huge[j]) for j in range(N) if j != t]
            fractions.append(sum(c >= 0 for c in others) / len(others))
        close("%s one row of 3e38: sample fraction" % dtype, s["fraction_non_negative"],
              sum(fractions) / len(fractions), 2e-3)
        for name, extra in geometry_runs.items():
            g = run(exe, "geometry", path, "--no-output", *extra)
            # The 3e38 row is the whole variance: one component, IsoScore 0.
            close("%s one row of 3e38: geometry %s explained_variance[0]" % (dtype, name),
                  g["explained_variance"][0], 1.0, 1e-6)
            close("%s one row of 3e38: geometry %s isoscore" % (dtype, name), g["isoscore"], 0.0, 1e-6)
    if failures:
        sys.exit("FAIL\n" + "\n".join(failures))
    print("ok: sample, pairs and geometry agree at scales 2^-100 to 2^100 and with one row of 3e38")


if __name__ == "__main__":
    main()
