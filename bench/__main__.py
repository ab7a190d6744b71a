"""Run every benchmark module (bench/*_bench.py) in turn; each has a main()."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(p.stem for p in Path(__file__).parent.glob("*_bench.py"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    failed = 0
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.monotonic()
        module = importlib.import_module(f"bench.{name}")
        try:
            rc = module.main() or 0
        except Exception as exc:  # one broken benchmark must not hide the others
            print(f"{name} failed: {type(exc).__name__}: {exc}")
            rc = 1
        failed += bool(rc)
        print(f"=== {name}: {time.monotonic() - t0:.1f}s ===", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
