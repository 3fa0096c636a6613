"""The archive route: Dask's distributed scheduler maps kerma.scan over partitions of the
generated 10,000-file folder and writes Parquet; DuckDB reads it back; every procedure and
file equals a single-process scan."""

from __future__ import annotations

import pytest

import kerma
from kerma.archive import folder_partitions, scan_to_parquet


def without(row: dict, *keys: str) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


def test_dask_local_cluster_equals_single_process(generated_folder, tmp_path):
    import duckdb
    from dask.distributed import Client, LocalCluster

    partitions = folder_partitions(generated_folder)
    assert len(partitions) == 100
    out = tmp_path / "tables"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    ) as cluster, Client(cluster) as client:
        accounting = scan_to_parquet(client, partitions, out)

    single = kerma.scan(generated_folder)
    assert accounting == single.accounting
    assert single.accounting["files"] == 10_200 and single.accounting["duplicate"] == 200
    assert not any(single.procedures.column("warnings").to_pylist()), "procedures look alike"

    def read(table: str) -> list[dict]:
        rel = duckdb.sql(f"select * from read_parquet('{out}/{table}/*.parquet')")
        return [dict(zip(rel.columns, r)) for r in rel.fetchall()]

    # Procedures: keyed by study, equal but for the id (prefixed with the partition).
    by_study = {p["study_instance_uid"]: p for p in single.procedures.to_pylist()}
    distributed = read("procedures")
    assert len(distributed) == len(by_study) == 10_000
    ids = {p["id"]: p["study_instance_uid"] for p in single.procedures.to_pylist()}
    for p in distributed:
        want = by_study[p["study_instance_uid"]]
        assert without(p, "id") == without(want, "id")
        assert p["id"].split("/")[0] in partitions
    # Files and events: keyed by path, equal but for the procedure id.
    files = {f["path"]: f for f in single.files.to_pylist()}
    got_files = read("files")
    assert len(got_files) == len(files)
    for f in got_files:
        want = files[f["path"]]
        assert without(f, "procedure") == without(want, "procedure")
        assert (f["procedure"] is None) == (want["procedure"] is None)
    got_events = sorted(read("events"), key=lambda e: (e["path"], e["uid"]))
    want_events = sorted(single.events.to_pylist(), key=lambda e: (e["path"], e["uid"]))
    assert [without(e, "procedure") for e in got_events] == [
        without(e, "procedure") for e in want_events
    ]
    # A query over the whole archive, as DuckDB answers it.
    total = duckdb.sql(
        f"select sum(dap_total_gy_cm2) from read_parquet('{out}/procedures/*.parquet')"
    ).fetchall()[0][0]
    assert total == pytest.approx(sum(p["dap_total_gy_cm2"] for p in by_study.values()))
    assert len(ids) == 10_000
