"""Archive scale on Dask: ``kerma.scan`` mapped over partitions of a file list by Dask's
distributed scheduler, each partition's tables written as Parquet, DuckDB to query them.

A partition must hold every file of its procedures (one partition per folder of an export
that files a study in one folder): grouping, de-duplication and cumulative reports are
resolved inside a partition, never across two. Procedure ids are made unique across the
archive by prefixing them with the partition's name (``00/P0001``).

Example (the test suite runs this on a generated 10,000-file folder)::

    from dask.distributed import Client, LocalCluster
    import duckdb
    from kerma.archive import folder_partitions, scan_to_parquet

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        accounting = scan_to_parquet(client, folder_partitions("/export"), "/tables")
    duckdb.sql("select count(*) from read_parquet('/tables/procedures/*.parquet')")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

import pyarrow
import pyarrow.compute
import pyarrow.parquet

import kerma

TABLES = ("procedures", "files", "events")
"""The tables written per partition, each into a subfolder of the output of that name."""


def folder_partitions(root: Union[str, os.PathLike[str]]) -> dict[str, list[str]]:
    """One partition per folder holding files under `root`: its path relative to `root`
    (``.`` for `root` itself) → its files, sorted. Hidden files are kept (kerma skips what is
    not DICOM).

    >>> import kerma.archive
    >>> parts = kerma.archive.folder_partitions("testdata")
    >>> list(parts), len(parts["."]) > 60
    (['.'], True)
    """
    root = Path(root)
    parts: dict[str, list[str]] = {}
    for folder, _dirs, files in os.walk(root):
        if files:
            name = Path(folder).relative_to(root).as_posix()
            parts[name] = sorted(str(Path(folder) / f) for f in files)
    return dict(sorted(parts.items()))


def _prefixed(table: pyarrow.Table, column: str, prefix: str) -> pyarrow.Table:
    i = table.schema.get_field_index(column)
    joined = pyarrow.compute.binary_join_element_wise(
        pyarrow.scalar(prefix), table.column(column), ""
    )
    return table.set_column(i, table.schema.field(i), joined)


def scan_partition(
    name: str, paths: Sequence[str], out_dir: Union[str, os.PathLike[str]], threads: int = 1
) -> dict[str, int]:
    """Scans one partition's files and writes ``<out_dir>/<table>/<name>.parquet`` for the
    procedures, files and events tables (procedure ids prefixed with ``name/``); returns the
    partition's accounting. This is the function the workers run."""
    scan = kerma.scan(list(paths), threads=threads)
    prefix = f"{name}/"
    tables = {
        "procedures": _prefixed(scan.procedures, "id", prefix),
        "files": _prefixed(scan.files, "procedure", prefix),
        "events": _prefixed(scan.events, "procedure", prefix),
    }
    stem = name.replace("/", "__")
    for table_name, table in tables.items():
        folder = Path(out_dir) / table_name
        folder.mkdir(parents=True, exist_ok=True)
        pyarrow.parquet.write_table(table, folder / f"{stem}.parquet")
    return dict(scan.accounting)


def scan_to_parquet(
    client: Any,
    partitions: Mapping[str, Sequence[str]],
    out_dir: Union[str, os.PathLike[str]],
    threads_per_task: int = 1,
) -> dict[str, int]:
    """Maps :func:`scan_partition` over `partitions` on a ``dask.distributed.Client`` and
    waits for every task; returns the accounting summed over the partitions. `out_dir` must
    be reachable by every worker under the same path (shared storage on a real cluster)."""
    out = os.fspath(out_dir)
    futures = [
        client.submit(scan_partition, name, list(paths), out, threads_per_task, pure=False)
        for name, paths in partitions.items()
    ]
    total: dict[str, int] = {}
    for accounting in client.gather(futures):
        for k, v in accounting.items():
            total[k] = total.get(k, 0) + v
    return total
