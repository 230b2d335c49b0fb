"""Shared helpers for the conformance suite: run greenhalo, compare numbers,
count results. Every check compares greenhalo with a reference
implementation nobody here wrote (exactextract, scikit-image, numpy-financial,
HiGHS through highspy, scikit-learn)."""
import math
import os
import subprocess
import sys

GREENHALO = os.environ.get("GREENHALO", "target/debug/greenhalo")


def greenhalo(*args, check=True):
    """Run greenhalo quietly; return the completed process."""
    p = subprocess.run([GREENHALO, "-q", *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"greenhalo {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p


def close(a, b, rel, abs_tol=0.0):
    """Both missing, or within `rel` relative (or `abs_tol` absolute)."""
    a_missing = a is None or (isinstance(a, float) and math.isnan(a))
    b_missing = b is None or (isinstance(b, float) and math.isnan(b))
    if a_missing or b_missing:
        return a_missing and b_missing
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_tol)


class Results:
    """Collects named checks and prints a cargo-like closing line."""

    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"conformance {name} ... ok {detail}".rstrip())
        else:
            self.failed.append(name)
            print(f"conformance {name} ... FAILED {detail}".rstrip())
        sys.stdout.flush()

    def run(self, name, fn, *args):
        """Run one check function that raises on failure."""
        try:
            detail = fn(*args) or ""
            self.check(name, True, detail)
        except Exception as e:  # a failing check reports and the rest go on
            self.check(name, False, f"\n    {type(e).__name__}: {e}")
