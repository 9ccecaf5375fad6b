"""The long fuzz run: the properties of ``tests/fuzz`` with many more examples.

CI runs each property with 100 examples; this runs them with ``--examples`` (default 20,000) and
prints, per property, the examples run and the time taken. A failure prints hypothesis's minimal
failing example and exits non-zero.

    .venv/bin/python benchmarks/fuzz.py [--examples 20000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    args = parser.parse_args()
    env = {**os.environ, "IMAGEBOT_FUZZ_EXAMPLES": str(args.examples)}
    tests = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/fuzz"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    failed = 0
    print(f"{'property':64} {'examples':>9} {'seconds':>8}  result")
    for test in [t for t in tests if "::" in t]:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
                                cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        verdict = "ok" if result.returncode == 0 else "FAILED"
        failed += result.returncode != 0
        print(f"{test.split('::')[-1]:64} {args.examples:>9} {seconds:8.1f}  {verdict}")
        if result.returncode:
            print(result.stdout[-3000:])
    print(f"load average while measuring: {os.getloadavg()[0]:.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
