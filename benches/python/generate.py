"""Generates a folder of small RDSRs from one bundled RDSR: the pytest suite's 10,000-file
folder and the benches' input.

    python benches/python/generate.py DEST [FILES]
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Files of the generated folder, and the RDSR they are made from.
GENERATED_FILES = 10_000
TEMPLATE = ROOT / "testdata" / "survey_coro_01.dcm"


def generate_folder(
    dest: Path, files: int = GENERATED_FILES, copies_elsewhere: bool = False
) -> list[Path]:
    """Writes `files` RDSRs made from the template into 100 subfolders of `dest`, each its own
    study, patient and events: every UID of the study and the patient ID are rewritten in
    place (same length), and the events start 20 minutes later per file (the study date
    follows), so that no two procedures look like re-anonymised copies of each other. An
    exact copy of every 50th file is written beside it (a duplicate for grouping to find), or,
    with `copies_elsewhere`, into the subfolder 37 places on (a duplicate in another folder).
    Returns the paths written, sorted."""
    template = TEMPLATE.read_bytes()
    study_part = b"3680043.10.1234.200."
    patient = b"PAT-0200"
    first, second = b"20260301102000", b"20260301103000"
    assert template.count(patient) == 1 and template.count(study_part) >= 5
    assert template.count(first) == 1 and template.count(second) == 1
    start = datetime(2026, 3, 1, 10, 20)
    paths = []
    for i in range(files):
        # 8 characters, no component with a leading zero, unique for i < 100,000.
        tag = f"{1000 + i // 100:04d}.{100 + i % 100:03d}".encode()
        assert len(tag) == 8
        t = start + timedelta(minutes=20 * i)
        data = (
            template.replace(study_part, b"3680043.10." + tag + b".")
            .replace(patient, f"P{i:07d}".encode())
            .replace(first, t.strftime("%Y%m%d%H%M%S").encode())
            .replace(second, (t + timedelta(minutes=10)).strftime("%Y%m%d%H%M%S").encode())
            .replace(b"20260301", t.strftime("%Y%m%d").encode())
        )
        sub = dest / f"{i % 100:02d}"
        if i < 100:
            sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"{i:05d}.dcm"
        path.write_bytes(data)
        paths.append(path)
        if i % 50 == 0:
            copy_sub = dest / f"{(i + 37) % 100:02d}" if copies_elsewhere else sub
            copy_sub.mkdir(parents=True, exist_ok=True)
            copy = copy_sub / f"{i:05d}_copy.dcm"
            copy.write_bytes(data)
            paths.append(copy)
    return sorted(paths)


if __name__ == "__main__":
    dest = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else GENERATED_FILES
    print(f"{len(generate_folder(dest, n))} files in {dest}")
