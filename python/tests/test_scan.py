"""kerma.scan: tables equal kerma-report's JSON, documented schemas, GIL released."""

from __future__ import annotations

import os
import threading
import time

import pytest

import kerma
from conftest import ROOT, TESTDATA, corpus_dir


def expected_tables(doc: dict) -> dict[str, list[dict]]:
    """The JSON document's rows as the scan's tables hold them."""
    files = [{k: v for k, v in f.items() if k != "events"} for f in doc["files"]]
    events = [
        {"path": f["path"], "sop_instance_uid": f["sop_instance_uid"], "procedure": f["procedure"], **e}
        for f in doc["files"]
        for e in (f["events"] or [])
    ]
    return {"files": files, "procedures": doc["procedures"], "events": events}


def check_scan_matches(doc: dict, path: str, threads=None, skin_settings=None) -> kerma.Scan:
    s = kerma.scan(path, threads=threads, skin_settings=skin_settings)
    want = expected_tables(doc)
    for name in ("files", "procedures", "events"):
        table = getattr(s, name)
        assert table.schema == kerma.schemas()[name], name
        assert table.to_pylist() == want[name], name
    assert s.accounting == doc["accounting"]
    return s


def test_testdata_matches_json(report_json, in_root):
    doc = report_json(TESTDATA)
    s = check_scan_matches(doc, TESTDATA)
    assert s.procedures.num_rows > 5 and s.events.num_rows > 100
    # One thread gives the same tables.
    check_scan_matches(doc, TESTDATA, threads=1)


def test_corpus_matches_json(report_json, in_root):
    corpus = corpus_dir()
    if corpus is None:
        pytest.skip("KERMA_CORPUS is not set")
    rel = os.path.relpath(corpus, ROOT)
    s = check_scan_matches(report_json(rel), rel)
    assert s.events.num_rows >= 600


def test_skin_settings_as_kerma_report(report_program, in_root, tmp_path):
    corpus = corpus_dir()
    if corpus is None:
        pytest.skip("KERMA_CORPUS is not set")
    rel = os.path.relpath(corpus, ROOT)
    # PySkinDose's own settings (its plane phantom): the estimates change, as the program's.
    import json
    from conftest import run_report

    doc = json.loads((corpus / "skin" / "pyskindose.json").read_text())
    plane = dict(doc["settings_by_phantom"]["plane"])
    plane["normalization_settings"] = doc["normalization_settings"]["normalization_settings"]
    settings = tmp_path / "pyskindose-plane.json"
    settings.write_text(json.dumps(plane))

    done = run_report(report_program, "--format", "json", "--skin-settings", str(settings), rel)
    s = check_scan_matches(json.loads(done.stdout), rel, skin_settings=settings)
    phantoms = {
        p["skin"]["phantom"]["model"]
        for p in s.procedures.to_pylist()
        if p["skin"] and p["skin"]["phantom"]
    }
    assert phantoms == {"plane"}, phantoms
    bad = tmp_path / "bad.json"
    bad.write_text('{"kerma_skin_settings": 1, "phantom": {"model": "sphere"}}')
    with pytest.raises(ValueError, match="skin settings"):
        kerma.scan(TESTDATA, skin_settings=bad)


def test_tables_feed_polars_and_duckdb(in_root):
    import duckdb
    import polars

    s = kerma.scan(TESTDATA)
    frame = polars.from_arrow(s.procedures)
    assert frame.height == s.procedures.num_rows
    assert frame["dap_total_gy_cm2"].to_list() == s.procedures.column("dap_total_gy_cm2").to_pylist()
    procedures = s.procedures  # noqa: F841 (DuckDB finds the local variable)
    total = duckdb.sql("select sum(dap_total_gy_cm2) from procedures").fetchall()[0][0]
    assert total == pytest.approx(sum(x for x in frame["dap_total_gy_cm2"].to_list() if x is not None))


def test_progress_and_threads(in_root):
    calls = []
    s = kerma.scan([TESTDATA], threads=2, progress=lambda done, total: calls.append((done, total)))
    total = s.accounting["files"]
    assert calls and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    with pytest.raises(ValueError, match="threads"):
        kerma.scan(TESTDATA, threads=0)

    def fails(done, total):
        raise RuntimeError(f"stop at {done}")

    with pytest.raises(RuntimeError, match="stop at"):
        kerma.scan(TESTDATA, progress=fails)


def test_missing_path_is_an_error_row(tmp_path):
    s = kerma.scan([tmp_path / "nowhere"])
    row = s.files.to_pylist()[0]
    assert row["outcome"] == "error" and row["error"]
    assert s.accounting["error"] == 1


def test_gil_released_during_scan(generated_folder):
    """A second Python thread keeps counting while a scan runs."""
    count = 0
    stop = threading.Event()

    def counter():
        nonlocal count
        while not stop.is_set():
            count += 1

    thread = threading.Thread(target=counter)
    thread.start()
    try:
        # The counter's speed when this thread only sleeps (GIL free).
        before = count
        time.sleep(0.3)
        free_rate = (count - before) / 0.3
        before = count
        start = time.perf_counter()
        s = kerma.scan(generated_folder, threads=1)
        elapsed = time.perf_counter() - start
        during = count - before
    finally:
        stop.set()
        thread.join()
    assert s.accounting["files"] > 10_000
    assert elapsed > 0.1, "the scan is too short to tell"
    # Holding the GIL, the counter would get at most a switch interval or two (5 ms each).
    assert during > 0.25 * free_rate * elapsed, (during, free_rate, elapsed)
