"""The archive route: Dask's distributed scheduler maps kerma.scan over partitions of a file
list and writes Parquet; DuckDB reads it back; procedures, files, events and accounting equal
a single-process scan of the same files, also when a study, an event or an object lies in
several partitions."""

from __future__ import annotations

import re

import pytest

import kerma
from conftest import ROOT, TESTDATA
from kerma.archive import folder_partitions, scan_to_parquet, spanning_components


def without(row: dict, *keys: str) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


@pytest.fixture(scope="module")
def client():
    """Two worker processes on the loopback interface."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster, Client(cluster) as client:
        yield client


def read(out, table: str) -> list[dict]:
    import duckdb

    rel = duckdb.sql(f"select * from read_parquet('{out}/{table}/*.parquet')")
    return [dict(zip(rel.columns, r)) for r in rel.fetchall()]


def all_files(partitions: dict[str, list[str]]) -> list[str]:
    return [p for paths in partitions.values() for p in paths]


def assert_equals_single(out, single: kerma.Scan) -> list[dict]:
    """The Parquet tables under `out` hold the procedures, files and events of `single`, but
    for procedure ids: procedures keyed by (patient, study), files by path, events by path
    and event; each row's procedure is the one of the same key; room names may lack the
    suffix that tells apart rooms of the same name. Returns the procedures read."""
    key = lambda p: (p["patient_id"], p["study_instance_uid"])  # noqa: E731
    want = {key(p): p for p in single.procedures.to_pylist()}
    assert len(want) == single.procedures.num_rows
    want_key = {p["id"]: key(p) for p in want.values()}
    procedures = read(out, "procedures")
    got = {key(p): p for p in procedures}
    assert len(procedures) == len(got), "a procedure written twice"
    assert len({p["id"] for p in procedures}) == len(procedures), "ids not unique"
    assert sorted(got, key=repr) == sorted(want, key=repr)
    for k, p in got.items():
        assert without(p, "id", "room") == without(want[k], "id", "room"), k
        # Room names are chosen per scan (archive.py's module doc): rooms whose names
        # coincide are told apart, "NAME (key)", only when one scan holds both.
        w = want[k]["room"]
        assert p["room"] == w or w.startswith(p["room"] + " ("), (k, p["room"], w)
    got_key = {p["id"]: key(p) for p in procedures}

    files = {f["path"]: f for f in single.files.to_pylist()}
    got_files = read(out, "files")
    assert sorted(f["path"] for f in got_files) == sorted(files), "files lost or repeated"
    for f in got_files:
        w = files[f["path"]]
        assert without(f, "procedure") == without(w, "procedure"), f["path"]
        assert got_key.get(f["procedure"]) == want_key.get(w["procedure"]), f["path"]

    def order(e: dict) -> tuple:
        return (e["path"], e["uid"] or "", e["started"] or "")

    got_events = sorted(read(out, "events"), key=order)
    want_events = sorted(single.events.to_pylist(), key=order)
    assert [without(e, "procedure") for e in got_events] == [
        without(e, "procedure") for e in want_events
    ]
    assert [got_key.get(e["procedure"]) for e in got_events] == [
        want_key.get(e["procedure"]) for e in want_events
    ]
    return procedures


def test_dask_local_cluster_equals_single_process(split_folder, client, tmp_path):
    """The generated 10,000-file folder, its exact copies in other folders than their
    originals, and testdata's multi-file studies split across folders (conftest's
    SPLIT_ACROSS_FOLDERS), one partition per folder."""
    import duckdb

    partitions = folder_partitions(split_folder)
    assert len(partitions) == 100
    out = tmp_path / "tables"
    accounting = scan_to_parquet(client, partitions, out)

    single = kerma.scan(all_files(partitions))
    assert accounting == single.accounting
    # What makes the data adversarial, as a single scan sees it: 200 generated copies and 2
    # re-sent reports in other folders than the first, 2 per-PPS parts superseded by a
    # cumulative report in a third folder, a possible copy across folders.
    assert single.accounting["files"] == 10_200 + 13
    assert single.accounting["duplicate"] == 202 and single.accounting["superseded"] == 2
    procedures = single.procedures.to_pylist()
    assert len(procedures) == 10_000 + 4
    pps = [p for p in procedures if p["study_instance_uid"] == "1.2.826.0.1.3680043.10.1234.12.1"]
    assert [p["dap_total_gy_cm2"] for p in pps] == [pytest.approx(14.0)]
    copies = [p for p in procedures if any("re-anonymised" in w for w in p["warnings"])]
    assert len(copies) == 2

    got = assert_equals_single(out, single)
    # A query over the whole archive, as DuckDB answers it.
    total = duckdb.sql(
        f"select sum(dap_total_gy_cm2) from read_parquet('{out}/procedures/*.parquet')"
    ).fetchall()[0][0]
    assert total == pytest.approx(sum(p["dap_total_gy_cm2"] or 0 for p in procedures))
    prefixes = {p["id"].split("/")[0] for p in got}
    assert prefixes - set(partitions) == {"~0"}, "spanning components: one re-scan batch"


@pytest.mark.parametrize("parts", [1, 2, 7, 1000])
def test_reconcile_whatever_the_partitioning(client, tmp_path, parts):
    """testdata/ dealt round-robin into `parts` partitions (1000: one file each), so that
    reports, images and copies of one study land in different partitions in different ways."""
    files = sorted(str(p) for p in (ROOT / TESTDATA).iterdir() if p.is_file())
    partitions: dict[str, list[str]] = {}
    for i, path in enumerate(files):
        partitions.setdefault(f"p{i % parts:04d}", []).append(path)
    out = tmp_path / "tables"
    accounting = scan_to_parquet(client, partitions, out, reconcile_files=10)
    single = kerma.scan(files)
    assert accounting == single.accounting
    assert_equals_single(out, single)


def rewritten(name: str, dest, values: dict[bytes, bytes]) -> str:
    """testdata's `name` written to `dest` with each whole value (a UID not followed by a
    digit or dot) of `values` replaced by its new one of the same length, NUL padding
    included, so that the file stays well formed."""
    data = (ROOT / TESTDATA / name).read_bytes()
    for old, new in values.items():
        assert len(old) == len(new)
        pattern = re.escape(old) + rb"(?![0-9.])"
        assert re.search(pattern, data), (name, old)
        data = re.sub(pattern, new, data)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return str(dest)


def restudied(name: str, dest, study: str, last: str) -> str:
    """testdata's `name` written to `dest` with the last character of its Study Instance UID
    `study` replaced by `last`: the same objects and events filed under another study."""
    return rewritten(name, dest, {study.encode(): (study[:-1] + last).encode()})


PPS_STUDY = "1.2.826.0.1.3680043.10.1234.12.1"
SINGLE_STUDY = "1.2.826.0.1.3680043.10.1234.1.1"
NO_EVENT_STUDY = "1.2.826.0.1.3680043.10.1234.21.1"


def without_study(name: str, dest) -> str:
    """testdata's `name` written to `dest` with its Study Instance UID (0020,000D) filed under
    the unassigned tag (0020,000C): a file without Study Instance UID."""
    data = (ROOT / TESTDATA / name).read_bytes()
    tag = b"\x20\x00\x0d\x00UI"  # explicit VR little endian
    assert data.count(tag) == 1, name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data.replace(tag, b"\x20\x00\x0c\x00UI"))
    assert kerma.extract(str(dest)).study_instance_uid is None
    return str(dest)


@pytest.mark.parametrize("case", ["study", "no_study", "event", "sop", "image_event"])
def test_links_one_at_a_time(client, tmp_path, case):
    """Two partitions whose files share one link only, the case's: a study (two disjoint
    per-PPS reports add up), a patient without study (the same two reports without Study
    Instance UID are one procedure of the patient), the events of reports (a cumulative report filed under another
    study supersedes the per-PPS parts), a SOP Instance UID (an image without event UID
    re-sent under another study is a duplicate), an image's event (an image under another
    study whose event a report covers adds nothing)."""
    td = ROOT / TESTDATA
    if case == "study":
        a = [str(td / "rdsr_pps_part1.dcm")]
        b = [str(td / "rdsr_pps_part2.dcm")]
    elif case == "no_study":
        a = [without_study("rdsr_pps_part1.dcm", tmp_path / "a" / "p1.dcm")]
        b = [without_study("rdsr_pps_part2.dcm", tmp_path / "b" / "p2.dcm")]
    elif case == "event":
        a = [str(td / "rdsr_pps_part1.dcm"), str(td / "rdsr_pps_part2.dcm")]
        b = [restudied("rdsr_cumulative.dcm", tmp_path / "b" / "c.dcm", PPS_STUDY, "7")]
    elif case == "sop":
        a = [str(td / "xa_no_event_uid.dcm")]
        b = [restudied("xa_no_event_uid.dcm", tmp_path / "b" / "x.dcm", NO_EVENT_STUDY, "7")]
    else:
        a = [str(td / "rdsr_single_plane.dcm")]
        b = [restudied("xa_matching_rdsr.dcm", tmp_path / "b" / "x.dcm", SINGLE_STUDY, "7")]
    single = kerma.scan(a + b)
    alone = [kerma.scan(a), kerma.scan(b)]
    # Scanned apart, the two partitions count differently from one scan.
    assert sum(s.procedures.num_rows for s in alone) > single.procedures.num_rows or sum(
        p or 0 for s in alone for p in s.procedures.column("dap_total_gy_cm2").to_pylist()
    ) > sum(p or 0 for p in single.procedures.column("dap_total_gy_cm2").to_pylist())
    out = tmp_path / "tables"
    assert scan_to_parquet(client, {"a": a, "b": b}, out) == single.accounting
    got = assert_equals_single(out, single)
    assert {p["id"].split("/")[0] for p in got} == {"~0"}


def test_possible_copies_across_the_archive(client, tmp_path):
    """A report and a copy of its exposures under other UIDs (a possible re-anonymised copy)
    in one partition; in another, an image of the first report's study, without event UID,
    whose DAP the reconciled procedure adds: the two no longer look alike, and neither keeps
    the warning its partition's scan gave it. The copy is also warned of when in another
    partition than the report."""
    td = ROOT / TESTDATA
    report, copy = str(td / "rdsr_single_plane.dcm"), str(td / "rdsr_implicit_undefined.dcm")
    image = rewritten(
        "xa_no_event_uid.dcm",
        tmp_path / "b" / "x.dcm",
        {NO_EVENT_STUDY.encode(): SINGLE_STUDY.encode() + b"\0", b"PAT-0021": b"PAT-0001"},
    )
    assert kerma.extract(image).study_instance_uid == SINGLE_STUDY
    alone = kerma.scan([report, copy]).procedures.column("warnings").to_pylist()
    assert ["re-anonymised" in w for ws in alone for w in ws] == [True, True]
    for partitions, warned in [
        ({"a": [report, copy], "b": [image]}, 0),
        ({"a": [report], "b": [copy]}, 2),
    ]:
        single = kerma.scan(all_files(partitions))
        copies = [w for ws in single.procedures.column("warnings").to_pylist() for w in ws]
        assert len([w for w in copies if "re-anonymised" in w]) == warned
        out = tmp_path / f"tables{warned}"
        assert scan_to_parquet(client, partitions, out) == single.accounting
        assert_equals_single(out, single)


def test_spanning_components_follow_every_link():
    """Nodes join through chains of links of any kind; a component within one partition is
    not spanning."""
    links = {
        "a": [
            ("P0001", ["a/1"], [("study", "S1"), ("event", "E1")]),
            ("P0002", ["a/2"], [("study", "S2")]),
            (None, ["a/3"], [("sop", "X")]),
        ],
        "b": [
            ("P0001", ["b/1"], [("event", "E1"), ("study", "S3")]),
            ("P0002", ["b/2"], [("sop", "X"), ("study", "S4")]),
        ],
        "c": [
            ("P0001", ["c/1"], [("study", "S3")]),
            ("P0002", ["c/2"], [("nostudy", None)]),
            ("P0003", ["c/3"], [("nostudy", None)]),
        ],
    }
    assert spanning_components(links) == [
        [("a", 0), ("b", 0), ("c", 0)],
        [("a", 2), ("b", 1)],
    ]


def test_partition_names_of_rescans_are_refused(client, tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        scan_to_parquet(client, {"~0": [f"{ROOT / TESTDATA}/rdsr_single_plane.dcm"]}, tmp_path)
