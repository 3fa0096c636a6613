//! Flat, serializable rows: the JSON contract of `kerma-report` (documented in the README).
//!
//! Quantities leave their types here, as plain numbers whose field names carry the unit
//! (`dap_total_gy_cm2`, `ka_r_total_mgy`, `fluoro_time_s`). Field names are a contract: they
//! are extended, never renamed.

use serde::Serialize;

use crate::codes::Code;
use crate::error::Error;
use crate::extract::{Extraction, ObjectKind, Outcome};
use crate::geometry::PatientPosition;
use crate::image::ImageDose;
use crate::procedure::{Completeness, Fate, FileAccount, Procedure};
use crate::rdsr::{EventCategory, IrradiationEvent, PlaneDose, Provenance};
use crate::scan::Input;
use crate::units::{AirKerma, Angle, Dap, Length};

/// What became of one input file, as the JSON `files` list says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FileOutcome {
    /// Fluoroscopy/angiography dose data was extracted ([`Outcome::Dose`]).
    Dose,
    /// DICOM without fluoroscopy dose information ([`Outcome::NoDose`]).
    NoDose,
    /// A dose object kerma does not extract ([`Outcome::Unsupported`]).
    Unsupported,
    /// The file could not be read.
    Error,
    /// Found by walking a folder and not a file to report on: not DICOM, or a DICOMDIR (see
    /// [`Input::skip`]).
    Skipped,
}

impl FileOutcome {
    /// The JSON name (`dose`, `no_dose`, `unsupported`, `error`, `skipped`).
    pub fn as_str(self) -> &'static str {
        match self {
            FileOutcome::Dose => "dose",
            FileOutcome::NoDose => "no_dose",
            FileOutcome::Unsupported => "unsupported",
            FileOutcome::Error => "error",
            FileOutcome::Skipped => "skipped",
        }
    }
}

impl From<Outcome> for FileOutcome {
    fn from(o: Outcome) -> FileOutcome {
        match o {
            Outcome::Dose => FileOutcome::Dose,
            Outcome::NoDose => FileOutcome::NoDose,
            Outcome::Unsupported => FileOutcome::Unsupported,
        }
    }
}

/// One input file in the JSON `files` list.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FileEntry {
    /// The path as given or as walked.
    pub path: String,
    /// `dose`, `no_dose`, `unsupported`, `error` or `skipped`.
    pub outcome: FileOutcome,
    /// The object kind (`rdsr`, `xa_image`, `vendor_summary`, …); `null` when the file could not
    /// be read.
    pub kind: Option<ObjectKind>,
    /// SOP Class UID (0008,0016).
    pub sop_class_uid: Option<String>,
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: Option<String>,
    /// Patient ID (0010,0020).
    pub patient_id: Option<String>,
    /// Study Instance UID (0020,000D).
    pub study_instance_uid: Option<String>,
    /// Accession Number (0008,0050).
    pub accession_number: Option<String>,
    /// Study Date (0008,0020).
    pub study_date: Option<String>,
    /// Manufacturer (0008,0070), else the SR Device Observer Manufacturer.
    pub manufacturer: Option<String>,
    /// Model (0008,1090), else the SR Device Observer Model Name.
    pub model: Option<String>,
    /// Station Name (0008,1010).
    pub station_name: Option<String>,
    /// The error message, when the file could not be read.
    pub error: Option<String>,
    /// Warnings, one sentence each.
    pub warnings: Vec<String>,
    /// Where the planes' figures come from: `rdsr_total` or `vendor_summary`.
    pub source: Option<Provenance>,
    /// Whether a dose report shows fluoroscopy (false for a radiography-room report).
    pub fluoroscopy_system: Option<bool>,
    /// Accumulated dose per plane (dose reports only).
    pub planes: Option<Vec<PlaneRow>>,
    /// Irradiation events (dose reports only).
    pub events: Option<Vec<EventRow>>,
    /// Header dose (XA/RF images only).
    pub image: Option<ImageRow>,
    /// Bytes read from the file (reading stops at Pixel Data).
    pub bytes_read: Option<u64>,
    /// The procedure the file belongs to (also for duplicates and superseded reports).
    pub procedure: Option<String>,
    /// The file this one duplicates (same SOP Instance UID).
    pub duplicate_of: Option<String>,
    /// The cumulative report that supersedes this one.
    pub superseded_by: Option<String>,
    /// Why a file found by walking a folder was skipped (`not a DICOM file`, `a DICOMDIR`).
    pub skip_reason: Option<String>,
}

/// One plane's accumulated dose.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PlaneRow {
    /// `single`, `a`, `b` or `all`.
    pub plane: &'static str,
    /// Dose Area Product Total (113722), Gy·cm².
    pub dap_total_gy_cm2: Option<f64>,
    /// Fluoro Dose Area Product Total (113726), Gy·cm².
    pub dap_fluoro_gy_cm2: Option<f64>,
    /// Acquisition Dose Area Product Total (113727), Gy·cm².
    pub dap_acquisition_gy_cm2: Option<f64>,
    /// Dose (RP) Total (113725), mGy.
    pub ka_r_total_mgy: Option<f64>,
    /// Fluoro Dose (RP) Total (113728), mGy.
    pub ka_r_fluoro_mgy: Option<f64>,
    /// Acquisition Dose (RP) Total (113729), mGy.
    pub ka_r_acquisition_mgy: Option<f64>,
    /// Total Fluoro Time (113730), s.
    pub fluoro_time_s: Option<f64>,
    /// Total Acquisition Time (113855), s.
    pub acquisition_time_s: Option<f64>,
    /// Total Number of Radiographic Frames (113731).
    pub acquisition_frames: Option<u64>,
    /// Reference Point Definition: the code value, or the text.
    pub reference_point: Option<String>,
}

/// One irradiation event.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct EventRow {
    /// Irradiation Event UID (113769).
    pub uid: Option<String>,
    /// `fluoro`, `acquisition` or `other`.
    pub category: EventCategory,
    /// `single`, `a`, `b`, `all`, or null.
    pub plane: Option<&'static str>,
    /// Dose Area Product (122130), Gy·cm².
    pub dap_gy_cm2: Option<f64>,
    /// Dose (RP) (113738), mGy.
    pub ka_r_mgy: Option<f64>,
    /// Irradiation Duration (113742), s, as declared.
    pub duration_s: Option<f64>,
    /// DateTime Started (111526).
    pub started: Option<String>,
    /// Acquisition Protocol (125203).
    pub protocol: Option<String>,
    /// KVP (113733), kV (mean of the non-zero values when given per pulse).
    pub kvp: Option<f64>,
    /// X-Ray Tube Current (113734), mA (mean of the non-zero values when per pulse).
    pub tube_current_ma: Option<f64>,
    /// Number of Pulses (113768).
    pub pulses: Option<f64>,
    /// Positioner Primary Angle (112011), degrees: +90 = patient's left (LAO).
    pub primary_angle_deg: Option<f64>,
    /// Positioner Secondary Angle (112012), degrees: +90 = cranial.
    pub secondary_angle_deg: Option<f64>,
    /// Positioner Primary End Angle (113739), degrees.
    pub primary_angle_end_deg: Option<f64>,
    /// Positioner Secondary End Angle (113740), degrees.
    pub secondary_angle_end_deg: Option<f64>,
    /// Column Angulation (113770), degrees.
    pub column_angulation_deg: Option<f64>,
    /// Table Longitudinal Position (113751), mm from the equipment's own zero.
    pub table_longitudinal_mm: Option<f64>,
    /// Table Lateral Position (113752), mm from the equipment's own zero.
    pub table_lateral_mm: Option<f64>,
    /// Table Height Position (113753, or Philips' private item when absent), mm from the equipment's own zero, downward positive.
    pub table_height_mm: Option<f64>,
    /// Table Longitudinal End Position (113759), mm.
    pub table_longitudinal_end_mm: Option<f64>,
    /// Table Lateral End Position (113760), mm.
    pub table_lateral_end_mm: Option<f64>,
    /// Table Height End Position (113761), mm.
    pub table_height_end_mm: Option<f64>,
    /// Table Head Tilt Angle (113754), degrees: positive = head end up.
    pub table_head_tilt_deg: Option<f64>,
    /// Table Horizontal Rotation Angle (113755), degrees: clockwise seen from above.
    pub table_horizontal_rotation_deg: Option<f64>,
    /// Table Cradle Tilt Angle (113756), degrees: positive = the table's left side up.
    pub table_cradle_tilt_deg: Option<f64>,
    /// Distance Source to Isocenter (113748), mm.
    pub source_to_isocenter_mm: Option<f64>,
    /// Distance Source to Reference Point (113737), mm.
    pub source_to_reference_point_mm: Option<f64>,
    /// Distance Source to Detector (113750), mm.
    pub source_to_detector_mm: Option<f64>,
    /// Distance Source to Table Plane (113792), mm.
    pub source_to_table_plane_mm: Option<f64>,
    /// Collimated Field Area (113790) at the image receptor, cm².
    pub field_area_cm2: Option<f64>,
    /// Collimated Field Height (113788) at the detector plane, mm (null when zero or contradicting the area).
    pub field_height_mm: Option<f64>,
    /// Collimated Field Width (113789) at the detector plane, mm (null as the height).
    pub field_width_mm: Option<f64>,
    /// Patient Table Relationship (113745): the code meaning as written (`headfirst`, …).
    pub patient_table_relationship: Option<String>,
    /// Patient Orientation (113743): the code meaning as written (`recumbent`, …).
    pub patient_orientation: Option<String>,
    /// Patient Orientation Modifier (113744): the code meaning as written (`supine`, …).
    pub patient_orientation_modifier: Option<String>,
    /// Reference Point Definition (113780) of the event: the code value, or the text.
    pub reference_point: Option<String>,
    /// Patient position (`HFS`, `FFS`, `HFP`, …): from the event's codes, else from the
    /// report's Siemens comment.
    pub patient_position: Option<&'static str>,
}

/// Header dose of one XA/RF image.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ImageRow {
    /// Number of Frames (0028,0008).
    pub frames: Option<u32>,
    /// (0018,115E) converted from dGy·cm² to Gy·cm²: the DAP of the image's whole event.
    pub dap_gy_cm2: Option<f64>,
    /// Entrance dose, mGy ((0040,8302), else (0040,0302) ×100).
    pub entrance_dose_mgy: Option<f64>,
    /// Total Time of Fluoroscopy (0040,0300), s.
    pub fluoro_time_s: Option<f64>,
    /// Total Number of Exposures (0040,0301).
    pub exposures: Option<u32>,
    /// Irradiation Event UID (0008,3010) (the first, when several).
    pub irradiation_event_uid: Option<String>,
    /// KVP, kV.
    pub kvp: Option<f64>,
    /// X-Ray tube current, mA.
    pub tube_current_ma: Option<f64>,
    /// Exposure time, ms.
    pub exposure_time_ms: Option<f64>,
}

fn gy_cm2(d: Option<Dap>) -> Option<f64> {
    d.map(Dap::as_gy_cm2)
}
fn mgy(k: Option<AirKerma>) -> Option<f64> {
    k.map(AirKerma::as_mgy)
}

impl PlaneRow {
    /// The row of one plane.
    pub fn new(p: &PlaneDose) -> PlaneRow {
        PlaneRow {
            plane: p.plane.as_str(),
            dap_total_gy_cm2: gy_cm2(p.dap_total),
            dap_fluoro_gy_cm2: gy_cm2(p.dap_fluoro),
            dap_acquisition_gy_cm2: gy_cm2(p.dap_acquisition),
            ka_r_total_mgy: mgy(p.ka_r_total),
            ka_r_fluoro_mgy: mgy(p.ka_r_fluoro),
            ka_r_acquisition_mgy: mgy(p.ka_r_acquisition),
            fluoro_time_s: p.fluoro_time.map(|d| d.as_secs_f64()),
            acquisition_time_s: p.acquisition_time.map(|d| d.as_secs_f64()),
            acquisition_frames: p.acquisition_frames,
            reference_point: p.reference_point.as_ref().map(|r| r.label().to_owned()),
        }
    }
}

impl EventRow {
    /// The row of one event.
    pub fn new(e: &IrradiationEvent) -> EventRow {
        let g = &e.geometry;
        let deg = |a: Option<Angle>| a.map(Angle::as_deg);
        let mm = |l: Option<Length>| l.map(Length::as_mm);
        let meaning = |c: &Option<Code>| c.as_ref().map(|c| c.meaning().to_owned());
        EventRow {
            uid: e.uid.clone(),
            category: e.category,
            plane: e.plane.map(|p| p.as_str()),
            dap_gy_cm2: gy_cm2(e.dap),
            ka_r_mgy: mgy(e.ka_r),
            duration_s: e.duration.map(|d| d.as_secs_f64()),
            started: e.started.clone(),
            protocol: e.protocol.clone(),
            kvp: e.kvp.as_ref().and_then(|t| t.value()),
            tube_current_ma: e.tube_current.as_ref().and_then(|t| t.value()),
            pulses: e.pulses,
            primary_angle_deg: deg(g.primary_angle),
            secondary_angle_deg: deg(g.secondary_angle),
            primary_angle_end_deg: deg(g.primary_angle_end),
            secondary_angle_end_deg: deg(g.secondary_angle_end),
            column_angulation_deg: deg(g.column_angulation),
            table_longitudinal_mm: mm(g.table_longitudinal),
            table_lateral_mm: mm(g.table_lateral),
            table_height_mm: mm(g.table_height),
            table_longitudinal_end_mm: mm(g.table_longitudinal_end),
            table_lateral_end_mm: mm(g.table_lateral_end),
            table_height_end_mm: mm(g.table_height_end),
            table_head_tilt_deg: deg(g.table_head_tilt),
            table_horizontal_rotation_deg: deg(g.table_horizontal_rotation),
            table_cradle_tilt_deg: deg(g.table_cradle_tilt),
            source_to_isocenter_mm: mm(g.source_to_isocenter),
            source_to_reference_point_mm: mm(g.source_to_reference_point),
            source_to_detector_mm: mm(g.source_to_detector),
            source_to_table_plane_mm: mm(g.source_to_table_plane),
            field_area_cm2: e.field_area_m2.map(|a| a * 1e4 + 0.0),
            field_height_mm: mm(g.field_height),
            field_width_mm: mm(g.field_width),
            patient_table_relationship: meaning(&g.patient_table_relationship),
            patient_orientation: meaning(&g.patient_orientation),
            patient_orientation_modifier: meaning(&g.patient_orientation_modifier),
            reference_point: e.reference_point.as_ref().map(|r| r.label().to_owned()),
            patient_position: g.patient_position.map(PatientPosition::as_str),
        }
    }
}

impl ImageRow {
    /// The row of one image header.
    pub fn new(i: &ImageDose) -> ImageRow {
        ImageRow {
            frames: i.frames,
            dap_gy_cm2: gy_cm2(i.dap),
            entrance_dose_mgy: mgy(i.entrance_dose),
            fluoro_time_s: i.fluoro_time.map(|d| d.as_secs_f64()),
            exposures: i.exposures,
            irradiation_event_uid: i.irradiation_event_uids.first().cloned(),
            kvp: i.kvp,
            tube_current_ma: i.tube_current_ma,
            exposure_time_ms: i.exposure_time.map(|d| d.as_secs_f64() * 1e3),
        }
    }
}

impl FileEntry {
    /// Records what grouping made of the file.
    pub fn set_fate(&mut self, account: &FileAccount) {
        self.procedure = account.procedure.clone();
        match &account.fate {
            Fate::DuplicateOf(l) => self.duplicate_of = Some(l.clone()),
            Fate::SupersededBy(l) => self.superseded_by = Some(l.clone()),
            _ => {}
        }
    }

    /// An entry with `path` and `outcome` and nothing else.
    fn bare(path: &str, outcome: FileOutcome) -> FileEntry {
        FileEntry {
            path: path.to_owned(),
            outcome,
            kind: None,
            sop_class_uid: None,
            sop_instance_uid: None,
            patient_id: None,
            study_instance_uid: None,
            accession_number: None,
            study_date: None,
            manufacturer: None,
            model: None,
            station_name: None,
            error: None,
            warnings: Vec::new(),
            source: None,
            fluoroscopy_system: None,
            planes: None,
            events: None,
            image: None,
            bytes_read: None,
            procedure: None,
            duplicate_of: None,
            superseded_by: None,
            skip_reason: None,
        }
    }

    /// The entry of one input named by `path`, whatever became of it.
    pub fn new(path: &str, result: &Result<Extraction, Error>) -> FileEntry {
        match result {
            Ok(x) => FileEntry::of_extraction(path, x),
            Err(e) => FileEntry {
                error: Some(crate::error::chain(e)),
                ..FileEntry::bare(path, FileOutcome::Error)
            },
        }
    }

    /// The entry of one input of a [`scan`](crate::scan), named by its path: `skipped` when
    /// [`Input::skip`] skips it (with what was read of it, if anything), else as [`new`].
    ///
    /// [`new`]: FileEntry::new
    pub fn scanned(input: &Input, result: &Result<Extraction, Error>) -> FileEntry {
        let path = input.path.display().to_string();
        let Some(skip) = input.skip(result) else {
            return FileEntry::new(&path, result);
        };
        let entry = match result {
            Ok(x) => FileEntry::of_extraction(&path, x),
            Err(_) => FileEntry::bare(&path, FileOutcome::Skipped),
        };
        FileEntry {
            outcome: FileOutcome::Skipped,
            skip_reason: Some(skip.to_string()),
            ..entry
        }
    }

    fn of_extraction(path: &str, x: &Extraction) -> FileEntry {
        let mut entry = FileEntry::bare(path, x.outcome.into());
        let id = &x.identity;
        entry.kind = Some(x.kind);
        entry.sop_class_uid = id.sop_class_uid.clone();
        entry.sop_instance_uid = id.sop_instance_uid.clone();
        entry.patient_id = id.patient_id.clone();
        entry.study_instance_uid = id.study_instance_uid.clone();
        entry.accession_number = id.accession_number.clone();
        entry.study_date = id.study_date.clone();
        entry.station_name = id.station_name.clone();
        let device = x.report.as_ref().map(|r| &r.device);
        entry.manufacturer = id
            .manufacturer
            .clone()
            .or_else(|| device.and_then(|d| d.manufacturer.clone()));
        entry.model = id
            .model
            .clone()
            .or_else(|| device.and_then(|d| d.model.clone()));
        entry.warnings = x.warnings.iter().map(ToString::to_string).collect();
        entry.bytes_read = Some(x.bytes_read);
        if let Some(r) = &x.report {
            entry.source = Some(r.provenance);
            entry.fluoroscopy_system = Some(r.fluoroscopy_system);
            entry.planes = Some(r.planes.iter().map(PlaneRow::new).collect());
            entry.events = Some(r.events.iter().map(EventRow::new).collect());
        }
        entry.image = x.image.as_ref().map(ImageRow::new);
        entry
    }
}

/// One procedure's plane in the JSON `procedures` list.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ProcedurePlaneRow {
    /// `single`, `a`, `b` or `all`.
    pub plane: &'static str,
    /// Dose-area product of the plane, Gy·cm².
    pub dap_gy_cm2: Option<f64>,
    /// K_a,r of the plane, mGy.
    pub ka_r_mgy: Option<f64>,
    /// Fluoroscopy time of the plane, s.
    pub fluoro_time_s: Option<f64>,
    /// Acquisition frames of the plane.
    pub acquisition_frames: Option<u64>,
}

/// One procedure in the JSON `procedures` list.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ProcedureRow {
    /// `P0001`…
    pub id: String,
    /// Patient ID (0010,0020).
    pub patient_id: Option<String>,
    /// Study Instance UID (0020,000D).
    pub study_instance_uid: Option<String>,
    /// Accession Number (0008,0050).
    pub accession_number: Option<String>,
    /// Study Date (0008,0020).
    pub study_date: Option<String>,
    /// Key of the device that recorded the procedure (Device Observer UID, else
    /// `Manufacturer Model #serial`, else Station Name…; see [`Room`](crate::Room)).
    pub device: String,
    /// The room's name: Station Name, else Device Observer Name, else
    /// `Manufacturer Model (serial)`, or the name a room table gives.
    pub room: String,
    /// The room's key: `device`, unless a room table groups the device into another room.
    pub room_key: String,
    /// Study Description (0008,1030).
    pub study_description: Option<String>,
    /// Per-plane figures.
    pub planes: Vec<ProcedurePlaneRow>,
    /// Procedure P_KA (planes summed), Gy·cm².
    pub dap_total_gy_cm2: Option<f64>,
    /// Sum of the planes' K_a,r, mGy (two planes are two points: not one skin dose).
    pub ka_r_total_mgy: Option<f64>,
    /// Fluoroscopy time, s.
    pub fluoro_time_s: Option<f64>,
    /// Acquisition frames.
    pub acquisition_frames: Option<u64>,
    /// Events after de-duplication.
    pub event_count: usize,
    /// Fluoroscopy events.
    pub fluoro_events: usize,
    /// Acquisition events.
    pub acquisition_events: usize,
    /// Events known only from image headers.
    pub image_only_events: usize,
    /// `rdsr_total`, `rdsr_event_sum`, `image_headers` or `vendor_summary`.
    pub source: Provenance,
    /// True when the figures come from accumulated RDSR totals covering the procedure.
    pub complete: bool,
    /// `complete`, `partial` or `unknown`.
    pub completeness: Completeness,
    /// Whether K_a,r refers to the IEC interventional reference point on every plane.
    pub reference_point_standard: bool,
    /// Largest relative difference between an accumulated total and its event sum.
    pub max_total_vs_event_sum: Option<f64>,
    /// Files of the procedure.
    pub files: Vec<String>,
    /// Procedure-level warnings.
    pub warnings: Vec<String>,
    /// Peak skin dose and where it is ([`crate::skin::estimate`]); `None` when the caller
    /// computed none.
    pub skin: Option<crate::skin::SkinDose>,
}

impl ProcedureRow {
    /// The row of one procedure.
    pub fn new(p: &Procedure) -> ProcedureRow {
        ProcedureRow {
            id: p.id.clone(),
            patient_id: p.patient_id.clone(),
            study_instance_uid: p.study_instance_uid.clone(),
            accession_number: p.accession_number.clone(),
            study_date: p.study_date.clone(),
            device: p.room.device_key.clone(),
            room: p.room.name.clone(),
            room_key: p.room.key.clone(),
            study_description: p.identity.study_description.clone(),
            planes: p
                .planes
                .iter()
                .map(|x| ProcedurePlaneRow {
                    plane: x.plane.as_str(),
                    dap_gy_cm2: gy_cm2(x.dap),
                    ka_r_mgy: mgy(x.ka_r),
                    fluoro_time_s: x.fluoro_time.map(|d| d.as_secs_f64()),
                    acquisition_frames: x.acquisition_frames,
                })
                .collect(),
            dap_total_gy_cm2: gy_cm2(p.dap_total),
            ka_r_total_mgy: mgy(p.ka_r_sum_of_planes),
            fluoro_time_s: p.fluoro_time.map(|d| d.as_secs_f64()),
            acquisition_frames: p.acquisition_frames,
            event_count: p.events.total(),
            fluoro_events: p.events.fluoro,
            acquisition_events: p.events.acquisition,
            image_only_events: p.events.from_images,
            source: p.source,
            complete: p.completeness == Completeness::Complete,
            completeness: p.completeness,
            reference_point_standard: p.reference_point_standard,
            max_total_vs_event_sum: p
                .total_versus_events
                .iter()
                .map(|t| t.relative_difference)
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v)))),
            files: p.files.clone(),
            warnings: p.warnings.iter().map(ToString::to_string).collect(),
            skin: None,
        }
    }
}
