"""kerma-report --format parquet read back by DuckDB and polars; the README's schemas."""

from __future__ import annotations

import json
import re

import pyarrow
import pytest

import kerma
from conftest import ROOT, TESTDATA, run_report
from test_scan import expected_tables

TABLES = ("files", "procedures", "events", "drl", "alerts")


@pytest.fixture(scope="module")
def parquet_out(report_program, tmp_path_factory):
    out = tmp_path_factory.mktemp("parquet")
    done = run_report(report_program, "--format", "parquet", "--out", str(out), TESTDATA)
    assert done.stdout == ""
    doc = json.loads((out / "report.json").read_text())
    want = expected_tables(doc)
    want["drl"] = doc["drl"]
    want["alerts"] = doc["alerts"]["procedures"]
    return out, want


@pytest.mark.parametrize("table", TABLES)
def test_duckdb_reads_the_json_values(parquet_out, table):
    import duckdb

    out, want = parquet_out
    rel = duckdb.sql(f"select * from read_parquet('{out / (table + '.parquet')}')")
    rows = [dict(zip(rel.columns, r)) for r in rel.fetchall()]
    assert rows == want[table]
    assert len(rows) > 0


@pytest.mark.parametrize("table", TABLES)
def test_polars_reads_the_json_values(parquet_out, table):
    import polars

    out, want = parquet_out
    frame = polars.read_parquet(out / f"{table}.parquet")
    assert frame.to_dicts() == want[table]


@pytest.mark.parametrize("table", TABLES)
def test_parquet_has_the_documented_schema(parquet_out, table):
    import pyarrow.parquet

    out, _ = parquet_out
    assert pyarrow.parquet.read_schema(out / f"{table}.parquet").remove_metadata() == kerma.schemas()[table]


def test_parquet_needs_out(report_program):
    done = run_report(report_program, "--format", "parquet", TESTDATA)
    assert done.returncode == 2 and "--out" in done.stderr


def type_name(t: pyarrow.DataType) -> str:
    """A column type as the README writes it."""
    if pyarrow.types.is_list(t):
        return f"list<{type_name(t.value_type)}>"
    if pyarrow.types.is_struct(t):
        return "struct<" + ", ".join(column(t.field(i)) for i in range(t.num_fields)) + ">"
    return {"string": "utf8", "double": "float64"}.get(str(t), str(t))


def column(f: pyarrow.Field) -> str:
    return f"{f.name} {type_name(f.type)}{'' if f.nullable else '!'}"


def documented_schemas() -> dict[str, str]:
    """The schema lines of the README's Parquet section: ``- `table`: col type, …``."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Parquet", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^- `(\w+)`: (.+)$", section, flags=re.M))


def test_readme_documents_the_schemas():
    doc = documented_schemas()
    actual = {
        name: ", ".join(column(s.field(i)) for i in range(len(s.names)))
        for name, s in kerma.schemas().items()
    }
    assert doc == actual
