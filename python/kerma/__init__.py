"""kerma: patient radiation-dose figures of fluoroscopy and angiography DICOM files.

Reads X-Ray Radiation Dose Structured Reports (RDSR, TID 10001) and XA/RF image headers,
never pixel data, and gives per plane and per irradiation event the dose-area product
(P_KA, in Gy·cm²), the air kerma at the reference point (K_a,r, in mGy), fluoroscopy time
(s) and acquisition counts. Every field has the name and unit of the JSON contract of
``kerma-report --format json`` (see the project README); ``None`` means absent, never zero.

>>> import kerma
>>> f = kerma.extract("testdata/rdsr_canon_dgycm2_mgy.dcm")
>>> f.outcome, f.kind
('dose', 'rdsr')
>>> round(f.planes[0].dap_total_gy_cm2, 6), round(f.planes[0].ka_r_total_mgy, 6)
(50.0, 8.0)
>>> s = kerma.scan(["testdata"])
>>> s.procedures.num_rows > 0 and s.files.num_rows == s.accounting["files"]
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple, Optional, Union

import pyarrow

from ._kerma import KermaError, __version__, extract_json, scan_tables
from ._kerma import schemas as _schemas

__all__ = [
    "Event",
    "FileResult",
    "Image",
    "KermaError",
    "Plane",
    "Scan",
    "__version__",
    "extract",
    "extract_json",
    "scan",
    "schemas",
]


@dataclass(frozen=True)
class Plane:
    """One plane's accumulated dose (TID 10002), as ``files[].planes[]`` of the JSON."""

    plane: str
    """``single``, ``a``, ``b`` or ``all``."""
    dap_total_gy_cm2: Optional[float]
    """Dose Area Product Total (113722), Gy·cm²."""
    dap_fluoro_gy_cm2: Optional[float]
    """Fluoro Dose Area Product Total (113726), Gy·cm²."""
    dap_acquisition_gy_cm2: Optional[float]
    """Acquisition Dose Area Product Total (113727), Gy·cm²."""
    ka_r_total_mgy: Optional[float]
    """Dose (RP) Total (113725), mGy."""
    ka_r_fluoro_mgy: Optional[float]
    """Fluoro Dose (RP) Total (113728), mGy."""
    ka_r_acquisition_mgy: Optional[float]
    """Acquisition Dose (RP) Total (113729), mGy."""
    fluoro_time_s: Optional[float]
    """Total Fluoro Time (113730), s."""
    acquisition_time_s: Optional[float]
    """Total Acquisition Time (113855), s."""
    acquisition_frames: Optional[int]
    """Total Number of Radiographic Frames (113731)."""
    reference_point: Optional[str]
    """Reference Point Definition: the code value, or the text."""


@dataclass(frozen=True)
class Event:
    """One irradiation event (TID 10003), as ``files[].events[]`` of the JSON."""

    uid: Optional[str]
    """Irradiation Event UID (113769)."""
    category: str
    """``fluoro``, ``acquisition`` or ``other``."""
    plane: Optional[str]
    """``single``, ``a``, ``b``, ``all``, or None."""
    dap_gy_cm2: Optional[float]
    """Dose Area Product (122130), Gy·cm²."""
    ka_r_mgy: Optional[float]
    """Dose (RP) (113738), mGy."""
    duration_s: Optional[float]
    """Irradiation Duration (113742), s, as declared."""
    started: Optional[str]
    """DateTime Started (111526), as written (DT)."""
    protocol: Optional[str]
    """Acquisition Protocol (125203)."""
    kvp: Optional[float]
    """KVP (113733), kV (mean of the non-zero values when given per pulse)."""
    tube_current_ma: Optional[float]
    """X-Ray Tube Current (113734), mA (mean of the non-zero values when per pulse)."""
    pulses: Optional[float]
    """Number of Pulses (113768)."""
    primary_angle_deg: Optional[float]
    """Positioner Primary Angle (112011), degrees."""
    secondary_angle_deg: Optional[float]
    """Positioner Secondary Angle (112012), degrees."""
    primary_angle_end_deg: Optional[float]
    """Positioner Primary End Angle (113739), degrees (rotational runs)."""
    secondary_angle_end_deg: Optional[float]
    """Positioner Secondary End Angle (113740), degrees."""
    column_angulation_deg: Optional[float]
    """Column Angulation (113770), degrees."""
    table_longitudinal_mm: Optional[float]
    """Table Longitudinal Position (113751), mm from the equipment's zero."""
    table_lateral_mm: Optional[float]
    """Table Lateral Position (113752), mm."""
    table_height_mm: Optional[float]
    """Table Height Position (113753), mm."""
    table_longitudinal_end_mm: Optional[float]
    """Table Longitudinal End Position, mm."""
    table_lateral_end_mm: Optional[float]
    """Table Lateral End Position, mm."""
    table_height_end_mm: Optional[float]
    """Table Height End Position, mm."""
    table_head_tilt_deg: Optional[float]
    """Table Head Tilt Angle (113754), degrees."""
    table_horizontal_rotation_deg: Optional[float]
    """Table Horizontal Rotation Angle (113755), degrees."""
    table_cradle_tilt_deg: Optional[float]
    """Table Cradle Tilt Angle (113756), degrees."""
    source_to_isocenter_mm: Optional[float]
    """Distance Source to Isocenter (113748), mm."""
    source_to_reference_point_mm: Optional[float]
    """Distance Source to Reference Point (113737), mm."""
    source_to_detector_mm: Optional[float]
    """Distance Source to Detector (113750), mm."""
    source_to_table_plane_mm: Optional[float]
    """Distance Source to Table Plane (113792), mm."""
    field_area_cm2: Optional[float]
    """Collimated Field Area (113790), cm²."""
    field_height_mm: Optional[float]
    """Collimated Field Height (113788), mm."""
    field_width_mm: Optional[float]
    """Collimated Field Width (113789), mm."""
    patient_table_relationship: Optional[str]
    """Patient Table Relationship (113745)."""
    patient_orientation: Optional[str]
    """Patient Orientation (113743)."""
    patient_orientation_modifier: Optional[str]
    """Patient Orientation Modifier (113744)."""
    reference_point: Optional[str]
    """Reference Point Definition (113780): the code value or the text."""
    patient_position: Optional[str]
    """Patient position (HFS, FFS, HFP, …, PS3.3), coded or from a vendor comment."""


@dataclass(frozen=True)
class Image:
    """Header dose of one XA/RF image, as ``files[].image`` of the JSON."""

    frames: Optional[int]
    """Number of Frames (0028,0008)."""
    dap_gy_cm2: Optional[float]
    """(0018,115E) converted from dGy·cm² to Gy·cm²: the DAP of the image's whole event."""
    entrance_dose_mgy: Optional[float]
    """Entrance dose, mGy ((0040,8302), else (0040,0302) × 100)."""
    fluoro_time_s: Optional[float]
    """Total Time of Fluoroscopy (0040,0300), s."""
    exposures: Optional[int]
    """Total Number of Exposures (0040,0301)."""
    irradiation_event_uid: Optional[str]
    """Irradiation Event UID (0008,3010) (the first, when several)."""
    kvp: Optional[float]
    """KVP, kV."""
    tube_current_ma: Optional[float]
    """X-Ray tube current, mA."""
    exposure_time_ms: Optional[float]
    """Exposure time, ms."""


@dataclass(frozen=True)
class FileResult:
    """What kerma read in one file, as ``files[]`` of the JSON (see the README's contract).

    ``procedure``, ``duplicate_of`` and ``superseded_by`` are set by :func:`scan` only (they
    say what grouping made of the file); :func:`extract` leaves them None.
    """

    path: str
    outcome: str
    """``dose``, ``no_dose``, ``unsupported``, ``skipped`` or ``error``."""
    kind: Optional[str]
    """``rdsr``, ``vendor_summary``, ``xa_image``, ``rf_image``, … ."""
    sop_class_uid: Optional[str]
    sop_instance_uid: Optional[str]
    patient_id: Optional[str]
    study_instance_uid: Optional[str]
    accession_number: Optional[str]
    study_date: Optional[str]
    manufacturer: Optional[str]
    model: Optional[str]
    station_name: Optional[str]
    error: Optional[str]
    warnings: list[str]
    """Every deviation tolerated, one sentence each."""
    source: Optional[str]
    """``rdsr_total`` or ``vendor_summary`` for dose reports."""
    fluoroscopy_system: Optional[bool]
    planes: Optional[list[Plane]]
    events: Optional[list[Event]]
    image: Optional[Image]
    bytes_read: Optional[int]
    """Bytes read from the file (reading stops at Pixel Data)."""
    procedure: Optional[str]
    duplicate_of: Optional[str]
    superseded_by: Optional[str]
    skip_reason: Optional[str]

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> FileResult:
        """The result of a ``files[]`` object of the JSON document (``kerma-report --format
        json``); a field the JSON lacks or this class lacks is a TypeError.

        >>> import json, kerma
        >>> doc = json.loads(kerma.extract_json("testdata/rdsr_single_plane.dcm"))
        >>> kerma.FileResult.from_json(doc) == kerma.extract("testdata/rdsr_single_plane.dcm")
        True
        """
        d = dict(obj)
        if d.get("planes") is not None:
            d["planes"] = [Plane(**p) for p in d["planes"]]
        if d.get("events") is not None:
            d["events"] = [Event(**e) for e in d["events"]]
        if d.get("image") is not None:
            d["image"] = Image(**d["image"])
        return cls(**d)


PathLike = Union[str, "os.PathLike[str]"]


def extract(path_or_bytes: Union[PathLike, bytes, bytearray], label: Optional[str] = None) -> FileResult:
    """Reads one file, from a path or from its bytes; the GIL is released while it reads.

    ``label`` is the result's ``path`` (default: the path given, or ``<bytes>``). Raises
    :class:`KermaError`, whose message is the ``error`` the JSON would give, when the file
    cannot be read; :class:`TypeError` for anything but a path or bytes.

    >>> import kerma
    >>> with open("testdata/rdsr_biplane.dcm", "rb") as f:
    ...     r = kerma.extract(f.read(), label="biplane")
    >>> r.path, [p.plane for p in r.planes]
    ('biplane', ['a', 'b'])
    >>> kerma.extract(b"not DICOM")
    Traceback (most recent call last):
    ...
    kerma.KermaError: not a DICOM file
    """
    import json

    return FileResult.from_json(json.loads(extract_json(path_or_bytes, label)))


class Scan(NamedTuple):
    """The tables of a scan, as ``pyarrow.Table`` with the schemas of :func:`schemas`."""

    procedures: pyarrow.Table
    """One row per procedure (``procedures[]`` of the JSON)."""
    files: pyarrow.Table
    """One row per input file (``files[]`` without ``events``)."""
    events: pyarrow.Table
    """One row per irradiation event, with the file's ``path``, ``sop_instance_uid`` and ``procedure``."""
    accounting: dict[str, int]
    """``files``, ``in_procedure``, ``duplicate``, ``superseded``, ``no_dose``, ``unsupported``, ``error``, ``skipped``."""


def scan(
    paths: Union[PathLike, Iterable[PathLike]],
    threads: Optional[int] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
    skin_settings: Optional[PathLike] = None,
) -> Scan:
    """Reads files and folders (walked sorted by name) and groups them into procedures.

    Each procedure with dose-report events gets its skin-dose estimate (the ``skin`` column,
    as ``kerma-report``'s JSON ``skin``): with the settings file ``skin_settings`` (kerma's
    room-geometry JSON or PySkinDose's settings JSON), else kerma's defaults; a settings file
    kerma cannot use raises ``ValueError``.

    The files are read on ``threads`` worker threads (default: one per core) with the GIL
    released, so other Python threads run meanwhile. ``progress(done, total)`` is called
    about 200 times and at the end; if it raises, the scan finishes without calling it again
    and the exception is raised. The tables come through the Arrow C data interface, without
    a copy: ``polars.from_arrow(s.procedures)`` uses them directly, and so does DuckDB
    (``procedures = s.procedures; duckdb.sql("select count(*) from procedures")``).

    >>> import kerma
    >>> s = kerma.scan("testdata", threads=2)
    >>> s.files.num_rows == s.accounting["files"]
    True
    >>> sorted(set(s.events.column("category").to_pylist()))
    ['acquisition', 'fluoro']
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    settings_json = None
    if skin_settings is not None:
        with open(os.fspath(skin_settings), encoding="utf-8") as f:
            settings_json = f.read()
    files, procedures, events, accounting = scan_tables(
        [os.fspath(p) for p in paths], threads, progress, settings_json
    )
    return Scan(procedures, files, events, accounting)


def schemas() -> dict[str, pyarrow.Schema]:
    """The schema of each table: ``files``, ``procedures``, ``events``, ``drl``, ``alerts``.

    These are the schemas of :func:`scan`'s tables and of the Parquet files that
    ``kerma-report --format parquet`` writes.

    >>> import kerma
    >>> kerma.schemas()["procedures"].field("dap_total_gy_cm2").type
    DataType(double)
    """
    return dict(_schemas())
