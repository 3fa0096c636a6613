"""Shared fixtures: the checkout, kerma-report's JSON, and a generated 10,000-file folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = "testdata"

sys.path.insert(0, str(ROOT / "benches" / "python"))
from generate import generate_folder  # noqa: E402 (the benches' generator, on the path above)


def corpus_dir() -> Path | None:
    """The real corpus from KERMA_CORPUS (relative to the checkout); None when unset, a
    failure under CI=true, as for the Rust tests."""
    value = os.environ.get("KERMA_CORPUS")
    if not value:
        if os.environ.get("CI") == "true":
            pytest.fail("KERMA_CORPUS is not set under CI: the real-corpus tests must run")
        return None
    path = Path(value)
    if not path.is_absolute():
        path = (ROOT / path).resolve()
    if not (path / "golden.json").is_file():
        pytest.fail(f"KERMA_CORPUS={value} has no golden.json")
    return path


def kerma_report() -> Path:
    """The kerma-report program, built (debug) if needed in the checkout's target dir."""
    given = os.environ.get("KERMA_REPORT")
    if given:
        return Path(given)
    subprocess.run(
        ["cargo", "build", "--quiet", "--example", "kerma-report"], cwd=ROOT, check=True
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "debug" / "examples" / "kerma-report"


@pytest.fixture(scope="session")
def report_program() -> Path:
    return kerma_report()


def run_report(program: Path, *args: str) -> subprocess.CompletedProcess:
    """Runs kerma-report in the checkout (paths relative to it); exit codes 0-2 are results."""
    done = subprocess.run(
        [str(program), *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode in (0, 1, 2), done.stderr
    return done


@pytest.fixture(scope="session")
def report_json(report_program):
    """kerma-report --format json of a path (relative to the checkout), cached."""
    cache: dict[str, dict] = {}

    def get(path: str) -> dict:
        if path not in cache:
            done = run_report(report_program, "--format", "json", path)
            cache[path] = json.loads(done.stdout)
        return cache[path]

    return get


@pytest.fixture
def in_root(monkeypatch):
    """Runs the test in the checkout, so that relative paths are the program's."""
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture(scope="session")
def generated_folder(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("generated")
    generate_folder(dest)
    yield dest
    shutil.rmtree(dest, ignore_errors=True)


# Files of testdata/ placed in subfolders of the generated folder so that one study, one
# event or one object lies in several folders: subfolder → files.
SPLIT_ACROSS_FOLDERS = {
    # One study in three reports: two per-PPS parts and the cumulative report that holds
    # both (it supersedes them), each in its own folder, and a re-sent copy of a part.
    "03": ["rdsr_pps_part1.dcm"],
    "57": ["rdsr_pps_part2.dcm"],
    "88": ["rdsr_cumulative.dcm"],
    "41": [("rdsr_pps_part1.dcm", "pps_part1_resent.dcm")],
    # A report, an image of one of its events, and a byte-identical re-send, in three folders.
    "10": ["rdsr_single_plane.dcm"],
    "20": ["xa_matching_rdsr.dcm"],
    "30": ["rdsr_duplicate_copy.dcm"],
    # The same exposures under other UIDs: a possible re-anonymised copy of the report above.
    "60": ["rdsr_implicit_undefined.dcm"],
    # Two images of one event (one DAP, counted once).
    "70": ["xa_event1_img1.dcm"],
    "71": ["xa_event1_img2.dcm"],
    # Files in no procedure.
    "05": ["not_dicom.bin", "empty.dcm", "ct_rdsr.dcm"],
}


def add_split_studies(dest: Path) -> list[Path]:
    """Copies the files of SPLIT_ACROSS_FOLDERS from testdata/ into `dest`'s subfolders;
    returns the paths written."""
    written = []
    for sub, names in SPLIT_ACROSS_FOLDERS.items():
        for name in names:
            source, target = name if isinstance(name, tuple) else (name, name)
            path = dest / sub / target
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / TESTDATA / source, path)
            written.append(path)
    return written


@pytest.fixture(scope="session")
def split_folder(tmp_path_factory) -> Path:
    """The generated folder with its exact copies in other subfolders than their originals,
    and studies of testdata/ split across subfolders (SPLIT_ACROSS_FOLDERS)."""
    dest = tmp_path_factory.mktemp("split")
    generate_folder(dest, copies_elsewhere=True)
    add_split_studies(dest)
    yield dest
    shutil.rmtree(dest, ignore_errors=True)
