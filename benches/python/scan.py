"""kerma.scan from Python against the Rust folder scan, and against pydicom, on the same
generated small RDSRs, timed alternately in one run (fastest of the rounds for each).

    pip install ./python pydicom==3.0.2        # kerma built in release, as pip builds it
    python benches/python/scan.py [FILES] [ROUNDS]

- `kerma.scan`: walk, read, group, and the files/procedures/events tables handed to
  pyarrow (threads=1 and threads=2);
- Rust folder scan: `kerma._kerma.rust_scan`, the same walk, read and grouping in Rust with no
  table built (what `kerma.scan` adds is the tables and their hand-over);
- pydicom 3.0.2 (single thread): `dcmread` of every file and a walk of its SR content tree
  reading every numeric content item's concept, value and unit, the least a Python dose
  extractor does.

Target: kerma.scan within 1.2x of the Rust folder scan; pydicom at least 100x slower.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pydicom

import kerma
from kerma import _kerma
from generate import generate_folder

PYDICOM_VERSION = "3.0.2"


def pydicom_walk(paths: list[Path]) -> int:
    """Reads every file with pydicom and walks its content tree; returns the NUM items read."""
    n = 0
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        stack = list(ds.get("ContentSequence", []))
        while stack:
            item = stack.pop()
            if item.get("ValueType") == "NUM":
                concept = item.ConceptNameCodeSequence[0].CodeValue
                measured = item.get("MeasuredValueSequence")
                if measured:
                    value = float(measured[0].NumericValue)
                    unit = measured[0].MeasurementUnitsCodeSequence[0].CodeValue
                    n += bool(concept) + bool(unit) + (value == value)
            stack.extend(item.get("ContentSequence", []))
    return n


def timed(f) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if pydicom.__version__ != PYDICOM_VERSION:
        sys.exit(f"pydicom {PYDICOM_VERSION} is the pinned version, not {pydicom.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = generate_folder(folder, files)
        size = sum(p.stat().st_size for p in paths)
        print(f"{len(paths)} files, {size / 1e6:.1f} MB in {folder}")
        # Warm the page cache and check that every route reads every file.
        scan = kerma.scan(folder)
        assert scan.accounting["files"] == len(paths) and scan.accounting["error"] == 0
        assert _kerma.rust_scan([str(folder)]) == scan.procedures.num_rows
        nums = pydicom_walk(paths[:10])
        assert nums > 0
        runs = {
            "kerma.scan, 1 thread": lambda: kerma.scan(folder, threads=1),
            "Rust folder scan, 1 thread": lambda: _kerma.rust_scan([str(folder)], 1),
            "kerma.scan, 2 threads": lambda: kerma.scan(folder, threads=2),
            "Rust folder scan, 2 threads": lambda: _kerma.rust_scan([str(folder)], 2),
            "pydicom read + content tree walk, 1 thread": lambda: pydicom_walk(paths),
        }
        best = {name: float("inf") for name in runs}
        for r in range(rounds):
            for name, run in runs.items():
                # pydicom takes minutes on 10,000 files: timed in the first round only.
                if name.startswith("pydicom") and r >= 1:
                    continue
                best[name] = min(best[name], timed(run))
            print(f"round {r + 1}: " + ", ".join(f"{best[n]:.3f}" for n in runs))
    print(f"\nfastest of {rounds} alternating rounds (pydicom: one run), {len(paths)} files:")
    for name, t in best.items():
        print(f"  {name:45} {t:8.3f} s  {len(paths) / t:10.0f} files/s")
    for t in ("1 thread", "2 threads"):
        ratio = best[f"kerma.scan, {t}"] / best[f"Rust folder scan, {t}"]
        print(f"kerma.scan / Rust folder scan, {t}: {ratio:.3f} (target <= 1.2)")
    ratio = best["pydicom read + content tree walk, 1 thread"] / best["kerma.scan, 1 thread"]
    print(f"pydicom / kerma.scan, 1 thread each: {ratio:.0f}x (target >= 100)")


if __name__ == "__main__":
    main()
