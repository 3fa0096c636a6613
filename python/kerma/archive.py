"""Archive scale on Dask: ``kerma.scan`` mapped over partitions of a file list by Dask's
distributed scheduler, the tables written as Parquet, DuckDB to query them.

The result equals a single-process ``kerma.scan`` of all the partitions' files, whatever
the partitioning: a study filed in two folders, or a copy of a file in another folder, is one
procedure, counted once. Three rounds of tasks get there:

1. **Map.** Each partition is scanned on a worker; its tables stay there (Dask futures). The
   task returns to the driver only the grouping links of each of its procedures (and of each
   file that grouping placed in none, such as the copy of a superseded report), each hashed
   to 8 bytes (:func:`link`), with the files' paths: their SOP Instance UIDs (exact copies,
   PS3.3 C.12.1.1.1), Study Instance UIDs (Patient ID when a file has none), the Irradiation
   Event UIDs of their reports (events table ``uid``, TID 10003) and of their image headers
   (files table ``image.irradiation_event_uid``). These are every link kerma's grouping
   follows between two files: duplicates by SOP Instance UID, reports clustered by shared
   event UIDs (supersession and partial overlaps), grouping by (Patient ID, Study Instance
   UID), the shared-study-UID warning (two patients, one study UID: linking by study UID
   alone covers it), vendor summaries superseded by an RDSR of the study, and image events
   left out when a report covers them. It also returns, per procedure, what the
   possible-copy warning compares (room key, first event start, DAP).
2. **Reconcile.** The driver joins the procedures of all partitions that share a link
   (union-find) into components. A component within one partition is final as scanned. Each
   component that spans partitions is re-scanned whole, from the union of its files, by one
   task (components are batched, about ``reconcile_files`` files a task), whose tables also
   stay on the worker. The possible-copy warning (same room key, first event start and DAP as
   another procedure, possibly a re-anonymised copy) compares procedures across the whole
   archive: the driver finds the keys that two procedures anywhere share.
3. **Write.** Each partition writes its tables without the files, events and procedures of
   spanning components; each re-scan writes its own; a procedure carries the possible-copy
   warning when another procedure of the archive shares its key, and only then.
   Each writes ``<out_dir>/<table>/<name>.parquet`` for ``procedures``, ``files`` and
   ``events`` and returns the accounting of the rows it wrote; their sum is the accounting
   of a single-process scan.

Procedure ids are unique across the archive: a partition's procedures are prefixed with the
partition's name (``00/P0001``), a re-scan's with ``~`` and its number (``~0/P0001``); a
partition whose name starts with ``~`` is refused. The numbers after the prefix are in date
order within their partition or re-scan, not across the archive.

What remains different from a single-process scan:

- Room names. The room key is the same, but the name shown for a room is chosen among all
  the procedures of a scan, and rooms whose names coincide are told apart by serial number or
  key only when both are in one scan (one partition or one re-scan); the tables do not carry
  what naming reads (device observer name, serial number), so the driver cannot redo it.
- An image header with several Irradiation Event UIDs (0008,3010) links by its first only
  (the files table holds the first): an image whose other events an unrelated report of
  another partition covers, with no study in common, is counted by its header DAP.
- The possible-copy comparison reads the DAP in Gy·cm² from the tables, where kerma compares
  it in Gy·m²: two DAPs that differ in the last bit may compare equal here.
- Files are given to ``kerma.scan`` as lists, so a non-DICOM file is an ``error``; a scan
  that walks a folder (``kerma.scan("/export")``) accounts it as ``skipped``.

Partitions are disjoint lists of files. Every worker must see each file under the same path
(shared storage on a real cluster), and ``out_dir`` too.

Example (the test suite runs this on a generated 10,000-file folder)::

    from dask.distributed import Client, LocalCluster
    import duckdb
    from kerma.archive import folder_partitions, scan_to_parquet

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        accounting = scan_to_parquet(client, folder_partitions("/export"), "/tables")
    duckdb.sql("select count(*) from read_parquet('/tables/procedures/*.parquet')")
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Hashable, Iterable, Mapping, Optional, Sequence, Union

import pyarrow
import pyarrow.compute
import pyarrow.parquet

import kerma

TABLES = ("procedures", "files", "events")
"""The tables written per partition and per re-scan, each into a subfolder of that name."""

RESCAN_PREFIX = "~"
"""Names of re-scans of the components that span partitions: ``~0``, ``~1``…"""

POSSIBLE_COPY = (
    "same room, first event time and DAP as another procedure: possibly a re-anonymised "
    "copy (not merged)"
)
"""The text of the possible-copy warning in the procedures table's ``warnings``."""

FATES = (
    "files",
    "in_procedure",
    "duplicate",
    "superseded",
    "no_dose",
    "unsupported",
    "error",
    "skipped",
)

# A link: 8 bytes of the BLAKE2b digest of its kind ("sop", "study", "nostudy" for the
# Patient ID of a file without Study Instance UID, "event") and value, as an int.
Link = int
# What one copy-key names: (room key, first event start, DAP in Gy·cm²).
CopyKey = tuple[str, str, float]


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


def file_accounting(files: pyarrow.Table) -> dict[str, int]:
    """The accounting of a files table: each row's fate read from its ``procedure``,
    ``duplicate_of``, ``superseded_by`` and ``outcome`` (a file with dose that grouping
    placed in no procedure has no dose to count: ``no_dose``).

    >>> import kerma, kerma.archive
    >>> s = kerma.scan("testdata")
    >>> kerma.archive.file_accounting(s.files) == s.accounting
    True
    """
    counts = dict.fromkeys(FATES, 0)
    counts["files"] = files.num_rows
    cols = files.select(["outcome", "procedure", "duplicate_of", "superseded_by"]).to_pydict()
    for outcome, procedure, duplicate_of, superseded_by in zip(
        cols["outcome"], cols["procedure"], cols["duplicate_of"], cols["superseded_by"]
    ):
        if duplicate_of is not None:
            counts["duplicate"] += 1
        elif superseded_by is not None:
            counts["superseded"] += 1
        elif procedure is not None:
            counts["in_procedure"] += 1
        elif outcome in ("unsupported", "error", "skipped"):
            counts[outcome] += 1
        else:
            counts["no_dose"] += 1
    return counts


def _scan(paths: Sequence[str], threads: int) -> kerma.Scan:
    """A scan whose tables are to stay on the worker; its accounting is checked against the
    accounting read from its files table, which the write step relies on."""
    scan = kerma.scan(list(paths), threads=threads)
    if file_accounting(scan.files) != dict(scan.accounting):
        raise RuntimeError(
            f"fates read from the files table {file_accounting(scan.files)} differ from "
            f"the scan's accounting {dict(scan.accounting)}"
        )
    return scan


def _copy_keys(scan: kerma.Scan) -> dict[str, CopyKey]:
    """Per procedure id, what the possible-copy warning compares: the room key, the first
    start of the events of the reports counted in the procedure (files neither duplicates nor
    superseded), and the DAP. Procedures without a first event or a DAP are left out."""
    counted = {
        f["path"]
        for f in scan.files.select(
            ["path", "procedure", "duplicate_of", "superseded_by"]
        ).to_pylist()
        if f["procedure"] is not None and f["duplicate_of"] is None and f["superseded_by"] is None
    }
    first: dict[str, str] = {}
    events = scan.events.select(["path", "procedure", "started"]).to_pydict()
    for path, procedure, started in zip(events["path"], events["procedure"], events["started"]):
        if procedure is None or started is None or path not in counted:
            continue
        if procedure not in first or started < first[procedure]:
            first[procedure] = started
    keys: dict[str, CopyKey] = {}
    procedures = scan.procedures.select(["id", "room_key", "dap_total_gy_cm2"]).to_pydict()
    for pid, room, dap in zip(
        procedures["id"], procedures["room_key"], procedures["dap_total_gy_cm2"]
    ):
        if dap is not None and pid in first:
            keys[pid] = (room, first[pid], dap)
    return keys


def link(kind: str, value: Optional[str]) -> Link:
    """A grouping link as the driver handles it: 8 bytes of a BLAKE2b digest of its kind and
    value (the same in every process, unlike ``hash``). Two links that collide join two
    procedures that need not be: they are re-scanned together, which costs time and changes
    no figure.

    >>> link("study", "1.2.3") == link("study", "1.2.3") != link("sop", "1.2.3")
    True
    """
    text = kind if value is None else f"{kind}\0{value}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _links(scan: kerma.Scan) -> tuple[list[tuple[Optional[str], list[str], set[Link]]], dict]:
    """The grouping links of a partition: one node per procedure, and one per file with dose
    that grouping placed in no procedure, each as (procedure id or None, its files' paths,
    its links); and the copy keys of the procedures (see :func:`_copy_keys`)."""
    files = scan.files.select(
        ["path", "outcome", "sop_instance_uid", "patient_id", "study_instance_uid", "image",
         "procedure"]
    ).to_pylist()
    events: dict[str, list[str]] = {}
    ev = scan.events.select(["path", "uid"]).to_pydict()
    for path, uid in zip(ev["path"], ev["uid"]):
        if uid is not None:
            events.setdefault(path, []).append(uid)
    nodes: dict[str, tuple[Optional[str], list[str], set[Link]]] = {}
    for f in files:
        if f["procedure"] is None and f["outcome"] != "dose":
            continue  # nothing that grouping reads: no link to follow
        key = f["procedure"] if f["procedure"] is not None else "\0" + f["path"]
        node = nodes.setdefault(key, (f["procedure"], [], set()))
        node[1].append(f["path"])
        links = node[2]
        if f["sop_instance_uid"] is not None:
            links.add(link("sop", f["sop_instance_uid"]))
        if f["study_instance_uid"] is not None:
            links.add(link("study", f["study_instance_uid"]))
        else:
            links.add(link("nostudy", f["patient_id"]))
        for uid in events.get(f["path"], ()):
            links.add(link("event", uid))
        image = f["image"]
        if image is not None and image.get("irradiation_event_uid") is not None:
            links.add(link("event", image["irradiation_event_uid"]))
    return list(nodes.values()), _copy_keys(scan)


def _set_possible_copies(procedures: pyarrow.Table, copies: set[str]) -> pyarrow.Table:
    """The possible-copy warning on the procedures whose id is in `copies` and on no other,
    last of their warnings (kerma flags possible copies after every other warning)."""
    i = procedures.schema.get_field_index("warnings")
    warned = []
    for pid, w in zip(
        procedures.column("id").to_pylist(), procedures.column("warnings").to_pylist()
    ):
        w = [x for x in w if x != POSSIBLE_COPY]
        warned.append(w + [POSSIBLE_COPY] if pid in copies else w)
    field = procedures.schema.field(i)
    return procedures.set_column(i, field, pyarrow.array(warned, field.type))


def _write(
    scan: kerma.Scan,
    name: str,
    out_dir: str,
    drop: Iterable[str] = (),
    possible_copies: Optional[Iterable[str]] = None,
) -> dict[str, int]:
    """Writes `scan`'s tables as ``<out_dir>/<table>/<name>.parquet`` without the files in
    `drop` (and their events and procedures), procedure ids prefixed with ``name/``, the
    possible-copy warning, when `possible_copies` is given, on those procedures and on no
    other; returns the accounting of the files written."""
    drop = set(drop)
    files, events, procedures = scan.files, scan.events, scan.procedures
    if drop:
        dropped = pyarrow.array(sorted(drop), pyarrow.string())
        gone = pyarrow.compute.is_in(files.column("path"), value_set=dropped)
        gone_ids = {p for p in files.filter(gone).column("procedure").to_pylist() if p}
        files = files.filter(pyarrow.compute.invert(gone))
        kept_events = pyarrow.compute.invert(
            pyarrow.compute.is_in(events.column("path"), value_set=dropped)
        )
        events = events.filter(kept_events)
        if gone_ids:
            ids = pyarrow.array(sorted(gone_ids), pyarrow.string())
            kept = pyarrow.compute.invert(
                pyarrow.compute.is_in(procedures.column("id"), value_set=ids)
            )
            procedures = procedures.filter(kept)
    if possible_copies is not None:
        procedures = _set_possible_copies(procedures, set(possible_copies))
    prefix = f"{name}/"
    tables = {
        "procedures": _prefixed(procedures, "id", prefix),
        "files": _prefixed(files, "procedure", prefix),
        "events": _prefixed(events, "procedure", prefix),
    }
    stem = name.replace("/", "__")
    for table_name, table in tables.items():
        folder = Path(out_dir) / table_name
        folder.mkdir(parents=True, exist_ok=True)
        pyarrow.parquet.write_table(table, folder / f"{stem}.parquet")
    return file_accounting(files)


def scan_partition(
    name: str, paths: Sequence[str], out_dir: Union[str, os.PathLike[str]], threads: int = 1
) -> dict[str, int]:
    """Scans one partition's files alone and writes ``<out_dir>/<table>/<name>.parquet`` for
    the procedures, files and events tables (procedure ids prefixed with ``name/``); returns
    the partition's accounting. Without the reconcile of :func:`scan_to_parquet`, a study
    whose files are also in another partition is counted in each."""
    return _write(_scan(paths, threads), name, os.fspath(out_dir))


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def root(self, i: int) -> int:
        p = self.parent
        while p[i] != i:
            p[i] = p[p[i]]
            i = p[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def spanning_components(
    links: Mapping[str, Sequence[tuple[Optional[str], Sequence[str], Iterable[Hashable]]]],
) -> list[list[tuple[str, int]]]:
    """The components of nodes joined by a shared link that span more than one partition,
    each as its (partition, node index) pairs, in the order of their first node.

    >>> spanning_components({
    ...     "a": [("P0001", ["a/1"], [("study", "1.2")]), ("P0002", ["a/2"], [("study", "9")])],
    ...     "b": [("P0001", ["b/1"], [("sop", "7"), ("study", "1.2")])],
    ... })
    [[('a', 0), ('b', 0)]]
    """
    nodes = [(part, i) for part, ns in links.items() for i in range(len(ns))]
    uf = _UnionFind(len(nodes))
    owner: dict[Hashable, int] = {}
    for g, (part, i) in enumerate(nodes):
        for shared in links[part][i][2]:
            j = owner.setdefault(shared, g)
            if j != g:
                uf.join(g, j)
    members: dict[int, list[int]] = {}
    for g in range(len(nodes)):
        members.setdefault(uf.root(g), []).append(g)
    return [
        [nodes[g] for g in gs]
        for gs in members.values()
        if len({nodes[g][0] for g in gs}) > 1
    ]


def scan_to_parquet(
    client: Any,
    partitions: Mapping[str, Sequence[str]],
    out_dir: Union[str, os.PathLike[str]],
    threads_per_task: int = 1,
    *,
    reconcile_files: int = 2000,
) -> dict[str, int]:
    """Scans `partitions` (name → files) on a ``dask.distributed.Client``, reconciles the
    procedures that span partitions (see the module documentation) and writes the tables as
    Parquet under `out_dir`; returns the accounting, that of a single-process
    ``kerma.scan`` of all the files. `out_dir` and the files must be reachable by every worker
    under the same paths (shared storage on a real cluster). ``reconcile_files`` is about how
    many files one re-scan task reads (a component is never split)."""
    out = os.fspath(out_dir)
    names = list(partitions)
    refused = [n for n in names if n.startswith(RESCAN_PREFIX)]
    if refused:
        raise ValueError(
            f"partition names starting with {RESCAN_PREFIX!r} are reserved: {refused}"
        )
    # 1. Map: scans stay on the workers; only their links come back.
    scans = {
        name: client.submit(_scan, list(partitions[name]), threads_per_task, pure=False)
        for name in names
    }
    gathered = client.gather([client.submit(_links, scans[n], pure=False) for n in names])
    links = {n: nodes for n, (nodes, _keys) in zip(names, gathered)}
    copy_keys = {n: keys for n, (_nodes, keys) in zip(names, gathered)}
    # 2. Reconcile: components across partitions are re-scanned whole.
    drop: dict[str, set[str]] = {n: set() for n in names}
    batches: list[list[str]] = []
    batch: list[str] = []
    for component in spanning_components(links):
        for part, i in component:
            procedure, paths, _ = links[part][i]
            drop[part].update(paths)
            if procedure is not None:
                copy_keys[part].pop(procedure, None)
            batch.extend(paths)
        if len(batch) >= reconcile_files:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    rescan_names = [f"{RESCAN_PREFIX}{b}" for b in range(len(batches))]
    rescans = {
        name: client.submit(_scan, sorted(paths), threads_per_task, pure=False)
        for name, paths in zip(rescan_names, batches)
    }
    for name, keys in zip(
        rescan_names,
        client.gather([client.submit(_copy_keys, rescans[n], pure=False) for n in rescan_names]),
    ):
        copy_keys[name] = keys
    # Possible copies across the archive: a key that two procedures anywhere share.
    seen: dict[CopyKey, int] = {}
    for keys in copy_keys.values():
        for key in keys.values():
            seen[key] = seen.get(key, 0) + 1
    copies = {
        name: [pid for pid, key in keys.items() if seen[key] > 1]
        for name, keys in copy_keys.items()
    }
    # 3. Write.
    writes = [
        client.submit(_write, scans[n], n, out, sorted(drop[n]), copies[n], pure=False)
        for n in names
    ] + [
        client.submit(_write, rescans[n], n, out, (), copies[n], pure=False)
        for n in rescan_names
    ]
    total = dict.fromkeys(FATES, 0)
    for accounting in client.gather(writes):
        for k, v in accounting.items():
            total[k] += v
    return total
