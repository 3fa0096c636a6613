"""kerma.extract against kerma-report --format json, and its exceptions."""

from __future__ import annotations

import dataclasses
import os

import pytest

import kerma
from conftest import ROOT, TESTDATA, corpus_dir

# Set by grouping, which extract does not do.
GROUPING_FIELDS = ("procedure", "duplicate_of", "superseded_by")


def check_extract_matches(doc: dict) -> int:
    """Every file of a kerma-report document, extracted alone; returns the files compared."""
    compared = 0
    for entry in doc["files"]:
        if entry["outcome"] == "skipped":
            continue
        if entry["outcome"] == "error":
            with pytest.raises(kerma.KermaError) as e:
                kerma.extract(entry["path"])
            assert str(e.value) == entry["error"], entry["path"]
            compared += 1
            continue
        got = dataclasses.asdict(kerma.extract(entry["path"]))
        expected = {**entry, **{f: None for f in GROUPING_FIELDS}}
        assert got == expected, entry["path"]
        compared += 1
    return compared


def test_testdata_matches_json(report_json, in_root):
    doc = report_json(TESTDATA)
    assert check_extract_matches(doc) >= 60
    assert any(f["outcome"] == "error" for f in doc["files"])


def test_corpus_matches_json(report_json, in_root):
    corpus = corpus_dir()
    if corpus is None:
        pytest.skip("KERMA_CORPUS is not set")
    doc = report_json(os.path.relpath(corpus, ROOT))
    assert check_extract_matches(doc) >= 22


def test_bytes_equal_path(in_root):
    path = "testdata/rdsr_biplane.dcm"
    with open(path, "rb") as f:
        data = f.read()
    from_bytes = kerma.extract(data, label=path)
    assert from_bytes == kerma.extract(path)
    assert kerma.extract(bytearray(data), label=path) == from_bytes
    assert kerma.extract(ROOT / path, label=path) == from_bytes
    assert kerma.extract(data).path == "<bytes>"


def test_typed_objects(in_root):
    r = kerma.extract("testdata/rdsr_canon_dgycm2_mgy.dcm")
    assert isinstance(r.planes[0], kerma.Plane)
    assert isinstance(r.events[0], kerma.Event)
    assert abs(r.planes[0].dap_total_gy_cm2 - 50.0) < 1e-9
    assert abs(r.planes[0].ka_r_total_mgy - 8.0) < 1e-9
    image = kerma.extract("testdata/xa_event1_img1.dcm").image
    assert isinstance(image, kerma.Image) and image.dap_gy_cm2 is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.path = "x"  # type: ignore[misc]


def test_exceptions_on_bad_input(report_json, in_root, tmp_path):
    with pytest.raises(kerma.KermaError, match="^not a DICOM file$"):
        kerma.extract(b"not DICOM at all")
    with pytest.raises(kerma.KermaError):
        kerma.extract(b"")
    # A truncated file: the message is the JSON's.
    doc = report_json(TESTDATA)
    truncated = next(f for f in doc["files"] if f["path"].endswith("rdsr_truncated.dcm"))
    with pytest.raises(kerma.KermaError) as e:
        kerma.extract(truncated["path"])
    assert str(e.value) == truncated["error"] and truncated["error"]
    # A missing file names the OS error.
    with pytest.raises(kerma.KermaError, match="No such file"):
        kerma.extract(tmp_path / "missing.dcm")
    with pytest.raises(TypeError, match="path .* or bytes"):
        kerma.extract(42)  # type: ignore[arg-type]
    assert issubclass(kerma.KermaError, Exception)


def test_docstring_examples(in_root):
    import doctest

    import kerma.archive

    for module in (kerma, kerma.archive):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__
