#!/usr/bin/python3
"""Counts the hostile-input tests of the parsers, for doc/reliability.md:

    /usr/bin/python3 scripts/count_hostile_tests.py

A hostile-input test is a GoogleTest TEST/TEST_F/TEST_P in tests/unit/formats/ or
tests/unit/vocab/ whose body expects a rejection: a call of an error-expecting helper
(fixtures::expect_error, the files' own parse_error / load_error ..., any `*_error(`), a
`catch (const Error&)`, or EXPECT_THROW / ASSERT_THROW. Also counts those rejection sites in
test bodies (a test may check several damaged files, or loop over every truncation prefix) and
the committed fuzz seeds per corpus.
"""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_RE = re.compile(r"^(TEST|TEST_F|TEST_P)\(\s*(\w+)\s*,\s*(\w+)\s*\)", re.M)
REJECT_RE = re.compile(r"\b\w+_error\s*\(|catch\s*\(\s*const\s+(embstat::)?Error\b|\b(EXPECT|ASSERT)_(ANY_)?THROW\s*\(")


def main():
    total_tests = total_hostile = total_asserts = 0
    print(f"{'file':48} {'tests':>6} {'hostile':>8} {'rejections':>11}")
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/unit/formats/*_test.cpp")) +
                       glob.glob(os.path.join(ROOT, "tests/unit/vocab/*_test.cpp"))):
        text = open(path, encoding="utf-8").read()
        starts = [m.start() for m in TEST_RE.finditer(text)] + [len(text)]  # helpers above the first TEST are skipped
        bodies = [text[a:b] for a, b in zip(starts, starts[1:])]
        hostile = sum(1 for b in bodies if REJECT_RE.search(b))
        asserts = sum(len(REJECT_RE.findall(b)) for b in bodies)
        total_tests += len(bodies)
        total_hostile += hostile
        total_asserts += asserts
        print(f"{os.path.relpath(path, ROOT):48} {len(bodies):6} {hostile:8} {asserts:11}")
    print(f"{'total':48} {total_tests:6} {total_hostile:8} {total_asserts:11}")
    print()
    for d in sorted(glob.glob(os.path.join(ROOT, "fuzz/corpus/*/"))):
        names = os.listdir(d)
        print(f"fuzz/corpus/{os.path.basename(os.path.dirname(d)):28} {len(names):4} seeds")


if __name__ == "__main__":
    main()
