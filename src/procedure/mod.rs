//! Stage 4: files → procedures, without double counting, every input accounted for.
//!
//! Rules:
//! 1. identical SOP Instance UIDs (0008,0018) are one object (PS3.3 C.12.1.1.1): later copies
//!    are duplicates;
//! 2. RDSRs that share Irradiation Event UIDs (113769, PS3.16 TID 10003) describe the same
//!    exposures: a report whose events contain every other's supersedes them; partial overlaps
//!    are merged by event UID and totalled from the union of events (flagged partial);
//! 3. disjoint RDSRs of one patient and study (one per performed procedure step, PS3.17 AA.2)
//!    add up per plane;
//! 4. image headers add only the events no RDSR covers (Irradiation Event UID (0008,3010)),
//!    one DAP per event, flagged partial;
//! 5. a vendor summary counts only when no RDSR covers the study.
//!
//! Procedures are keyed by (Patient ID, Study Instance UID): two patients sharing a study UID
//! give two procedures and a warning, never a merge.
//!
//! [`Procedures::finish`] runs these rules as named steps (`grouping`); one procedure's
//! figures are summed from its reports and images by a `builder`. Each procedure has a
//! [`Room`], keyed and named from its files; a [`RoomTable`] renames and groups rooms.

mod builder;
mod grouping;
mod room;
mod room_table;
mod warning;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::codes::Code;
use crate::error::Error;
use crate::extract::{Extraction, Identity, ObjectKind, Outcome};
use crate::image::ImageDose;
use crate::rdsr::{DoseReport, Plane, Provenance};
use crate::scan::{Input, Skip};
use crate::units::{AirKerma, Dap};

pub use room::{Room, RoomList, RoomSummary};
pub use room_table::{RoomTable, RoomTableError};
pub use warning::ProcedureWarning;

/// Whether a procedure figure covers the whole procedure.
///
/// kerma's definition, not a DICOM flag: complete when the figures come from RDSR accumulated
/// totals (PS3.16 TID 10002) covering the procedure, with every plane present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completeness {
    /// From RDSR accumulated totals covering the procedure, every plane present.
    Complete,
    /// From event sums or image headers: a lower bound.
    Partial,
    /// No figure, or nothing to judge by.
    Unknown,
}

/// Accumulated dose of one plane of a procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcedurePlane {
    /// The plane.
    pub plane: Plane,
    /// Dose-area product of this plane.
    pub dap: Option<Dap>,
    /// Air kerma at this plane's reference point.
    pub ka_r: Option<AirKerma>,
    /// Fluoroscopy time of this plane.
    pub fluoro_time: Option<Duration>,
    /// Acquisition frames of this plane.
    pub acquisition_frames: Option<u64>,
}

/// Accumulated total versus sum of events, where both exist (SI: Gy·m² or Gy).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TotalVersusEvents {
    /// `dap` or `ka_r`.
    pub quantity: &'static str,
    /// The plane.
    pub plane: Plane,
    /// The accumulated total.
    pub total: f64,
    /// The sum of the events.
    pub event_sum: f64,
    /// |total − sum| / max(|total|, |sum|).
    pub relative_difference: f64,
}

/// The serialized form of a [`TotalVersusEvents`], whose quantity name is checked when read.
#[derive(Deserialize)]
struct TotalVersusEventsRepr {
    quantity: String,
    plane: Plane,
    total: f64,
    event_sum: f64,
    relative_difference: f64,
}

impl<'de> Deserialize<'de> for TotalVersusEvents {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TotalVersusEvents, D::Error> {
        let r = TotalVersusEventsRepr::deserialize(d)?;
        let quantity = ["dap", "ka_r"]
            .into_iter()
            .find(|q| *q == r.quantity)
            .ok_or_else(|| serde::de::Error::unknown_variant(&r.quantity, &["dap", "ka_r"]))?;
        Ok(TotalVersusEvents {
            quantity,
            plane: r.plane,
            total: r.total,
            event_sum: r.event_sum,
            relative_difference: r.relative_difference,
        })
    }
}

/// Event counts of a procedure after de-duplication.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventCounts {
    /// Fluoroscopy events (RDSR).
    pub fluoro: usize,
    /// Acquisition events (RDSR).
    pub acquisition: usize,
    /// Other or untyped events (RDSR).
    pub other: usize,
    /// Events known only from image headers (not covered by any RDSR).
    pub from_images: usize,
}

impl EventCounts {
    /// All events.
    pub fn total(&self) -> usize {
        self.fluoro + self.acquisition + self.other + self.from_images
    }
}

/// One procedure: a patient's study, its dose figures and their provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Procedure {
    /// Stable id within one run (`P0001`…), in date order.
    pub id: String,
    /// Patient ID (0010,0020).
    pub patient_id: Option<String>,
    /// Study Instance UID (0020,000D).
    pub study_instance_uid: Option<String>,
    /// Accession Number (0008,0050).
    pub accession_number: Option<String>,
    /// Study Date (0008,0020).
    pub study_date: Option<String>,
    /// Study Time (0008,0030).
    pub study_time: Option<String>,
    /// First irradiation event start (DT), when known.
    pub first_event: Option<String>,
    /// The room: its key, its name and the device that recorded the procedure.
    pub room: Room,
    /// Header identity of the representative file (descriptions, patient age, sex…).
    pub identity: Identity,
    /// Distinct acquisition protocol names of the events.
    pub protocols: Vec<String>,
    /// Per-plane figures.
    pub planes: Vec<ProcedurePlane>,
    /// Procedure dose-area product: the planes summed.
    pub dap_total: Option<Dap>,
    /// The sum of the planes' K_a,r. K_a,r of two planes is two points: not one skin dose.
    pub ka_r_sum_of_planes: Option<AirKerma>,
    /// Fluoroscopy time (planes summed).
    pub fluoro_time: Option<Duration>,
    /// Acquisition frames (planes summed).
    pub acquisition_frames: Option<u64>,
    /// Events after de-duplication.
    pub events: EventCounts,
    /// Where the figures come from.
    pub source: Provenance,
    /// Whether they cover the whole procedure.
    pub completeness: Completeness,
    /// Whether every plane's reference point is the IEC interventional reference point.
    pub reference_point_standard: bool,
    /// Accumulated totals versus event sums, where both exist.
    pub total_versus_events: Vec<TotalVersusEvents>,
    /// Files contributing to the procedure (labels).
    pub files: Vec<String>,
    /// Procedure-level warnings (conflicts, shared study UID, possible copies).
    pub warnings: Vec<ProcedureWarning>,
}

/// What became of one input.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Fate {
    /// Counted in the procedure with this id.
    InProcedure(String),
    /// Same SOP Instance UID as the file with this label.
    DuplicateOf(String),
    /// Its events are all in the report with this label, which is used instead.
    SupersededBy(String),
    /// No fluoroscopy dose information.
    NoDose,
    /// A dose object kerma does not extract (CT, mammography…).
    Unsupported,
    /// Unreadable; why.
    Error(Arc<Error>),
    /// Found by walking a folder, and not a file to report on (see [`Input::skip`]).
    Skipped(Skip),
}

impl Fate {
    /// The fate's code in tables and CSV files (`in_procedure`, `duplicate`, `superseded`,
    /// `no_dose`, `unsupported`, `error`, `skipped`).
    pub fn code(&self) -> &'static str {
        match self {
            Fate::InProcedure(_) => "in_procedure",
            Fate::DuplicateOf(_) => "duplicate",
            Fate::SupersededBy(_) => "superseded",
            Fate::NoDose => "no_dose",
            Fate::Unsupported => "unsupported",
            Fate::Error(_) => "error",
            Fate::Skipped(_) => "skipped",
        }
    }
}

/// Two errors are equal when they are the same error or print alike with the same structure.
impl PartialEq for Fate {
    fn eq(&self, other: &Fate) -> bool {
        match (self, other) {
            (Fate::InProcedure(a), Fate::InProcedure(b))
            | (Fate::DuplicateOf(a), Fate::DuplicateOf(b))
            | (Fate::SupersededBy(a), Fate::SupersededBy(b)) => a == b,
            (Fate::NoDose, Fate::NoDose) | (Fate::Unsupported, Fate::Unsupported) => true,
            (Fate::Error(a), Fate::Error(b)) => {
                Arc::ptr_eq(a, b) || format!("{a:?}") == format!("{b:?}")
            }
            (Fate::Skipped(a), Fate::Skipped(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Fate {}

/// One input and its fate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileAccount {
    /// The label given when the file was added (usually its path).
    pub label: String,
    /// What became of it.
    pub fate: Fate,
    /// The procedure it belongs to, also for duplicates and superseded reports.
    pub procedure: Option<String>,
}

/// Totals of the fates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Accounting {
    /// Inputs added.
    pub files: usize,
    /// Counted in a procedure.
    pub in_procedure: usize,
    /// Exact duplicates.
    pub duplicate: usize,
    /// Superseded by a cumulative report.
    pub superseded: usize,
    /// Without dose information.
    pub no_dose: usize,
    /// Unsupported dose objects.
    pub unsupported: usize,
    /// Unreadable.
    pub error: usize,
    /// Found by walking a folder and skipped: not DICOM, or a DICOMDIR.
    pub skipped: usize,
}

impl Accounting {
    pub(crate) fn count(&mut self, fate: &Fate) {
        let n = match fate {
            Fate::InProcedure(_) => &mut self.in_procedure,
            Fate::DuplicateOf(_) => &mut self.duplicate,
            Fate::SupersededBy(_) => &mut self.superseded,
            Fate::NoDose => &mut self.no_dose,
            Fate::Unsupported => &mut self.unsupported,
            Fate::Error(_) => &mut self.error,
            Fate::Skipped(_) => &mut self.skipped,
        };
        *n += 1;
    }
}

/// The result of grouping: procedures and the fate of every input.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProcedureSet {
    /// Procedures in (date, patient, study) order.
    pub procedures: Vec<Procedure>,
    /// Every input, sorted by label.
    pub files: Vec<FileAccount>,
    /// Totals of the fates.
    pub accounting: Accounting,
}

/// What an input brings to grouping.
#[derive(Debug)]
enum Payload {
    Report(Box<DoseReport>),
    Image(Box<ImageDose>),
    /// Nothing to group: its fate is already known.
    Fate(Fate),
}

/// One input as grouping keeps it.
#[derive(Debug)]
struct Record {
    label: String,
    kind: Option<ObjectKind>,
    identity: Identity,
    payload: Payload,
}

impl Record {
    /// The report it carries, vendor summaries included.
    fn report(&self) -> Option<&DoseReport> {
        match &self.payload {
            Payload::Report(r) => Some(r),
            _ => None,
        }
    }

    /// The RDSR it carries (not a vendor summary).
    fn rdsr(&self) -> Option<&DoseReport> {
        self.report()
            .filter(|r| r.provenance != Provenance::VendorSummary)
    }

    /// The vendor summary it carries.
    fn vendor_summary(&self) -> Option<&DoseReport> {
        self.report()
            .filter(|r| r.provenance == Provenance::VendorSummary)
    }
}

/// Groups extraction results into procedures, incrementally.
///
/// Feed results as files arrive (from one thread, or build one `Procedures` per thread and
/// [`merge`](Procedures::merge) them), then [`finish`](Procedures::finish). The output does
/// not depend on the order of feeding.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = kerma::Procedures::new();
/// let bytes = include_bytes!("../../testdata/rdsr_single_plane.dcm");
/// p.add("a.dcm", kerma::extract_bytes(bytes));
/// p.add("copy-of-a.dcm", kerma::extract_bytes(bytes));
/// p.add("junk.bin", kerma::extract_bytes(b"junk"));
/// let set = p.finish();
/// assert_eq!(set.procedures.len(), 1);
/// assert_eq!(set.accounting.duplicate, 1);
/// assert_eq!(set.accounting.error, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Procedures {
    records: Vec<Record>,
}

impl Procedures {
    /// An empty grouping.
    pub fn new() -> Procedures {
        Procedures::default()
    }

    /// Adds one input's result under a label (its path).
    pub fn add(&mut self, label: impl Into<String>, result: Result<Extraction, Error>) {
        let label = label.into();
        let record = match result {
            Err(e) => Record {
                label,
                kind: None,
                identity: Identity::default(),
                payload: Payload::Fate(Fate::Error(Arc::new(e))),
            },
            Ok(x) => {
                let payload = match (x.outcome, x.report, x.image) {
                    (Outcome::Dose, Some(r), _) => Payload::Report(Box::new(r)),
                    (Outcome::Dose, None, Some(i)) => Payload::Image(Box::new(i)),
                    (Outcome::Unsupported, _, _) => Payload::Fate(Fate::Unsupported),
                    _ => Payload::Fate(Fate::NoDose),
                };
                Record {
                    label,
                    kind: Some(x.kind),
                    identity: x.identity,
                    payload,
                }
            }
        };
        self.records.push(record);
    }

    /// Adds the result of one input of a [`scan`](crate::scan), labelled by its path: a file
    /// that [`Input::skip`] skips is accounted as skipped, whatever it holds.
    pub fn add_scanned(&mut self, input: &Input, result: Result<Extraction, Error>) {
        let label = input.path.display().to_string();
        match input.skip(&result) {
            Some(skip) => self.records.push(Record {
                label,
                kind: None,
                identity: Identity::default(),
                payload: Payload::Fate(Fate::Skipped(skip)),
            }),
            None => self.add(label, result),
        }
    }

    /// Moves every input of `other` into this grouping.
    pub fn merge(&mut self, other: Procedures) {
        self.records.extend(other.records);
    }

    /// Groups, de-duplicates and totals.
    pub fn finish(mut self) -> ProcedureSet {
        self.records.sort_by(|a, b| a.label.cmp(&b.label));
        grouping::run(&self.records)
    }
}

/// Procedures read back from storage, each built from its own files, made into one set as
/// [`Procedures::finish`] makes it: stored [`ProcedureWarning::PossibleCopy`] warnings are
/// dropped and flagged anew among these procedures, ids are given by date, rooms named.
/// Returns the procedures in date order and the id given to each, by its place in `procedures`.
#[cfg(feature = "registry")]
pub(crate) fn finish_loaded(mut procedures: Vec<Procedure>) -> (Vec<Procedure>, Vec<String>) {
    for p in &mut procedures {
        p.warnings.retain(|w| *w != ProcedureWarning::PossibleCopy);
    }
    grouping::flag_possible_copies(&mut procedures);
    let (mut procedures, ids) = grouping::number_by_date(procedures);
    room::name_rooms(
        procedures.iter_mut().map(|p| &mut p.room),
        &std::collections::HashMap::new(),
    );
    (procedures, ids)
}

/// The codes and texts that procedure typing reads, in one place.
impl Procedure {
    /// Study, requested and performed descriptions, procedure code meanings and protocol names.
    pub fn descriptions(&self) -> Vec<(&'static str, String)> {
        let id = &self.identity;
        let mut v = Vec::new();
        for (field, s) in [
            ("study_description", &id.study_description),
            ("requested_procedure", &id.requested_procedure_description),
            ("performed_procedure", &id.performed_procedure_description),
            ("series_description", &id.series_description),
        ] {
            if let Some(s) = s {
                v.push((field, s.clone()));
            }
        }
        for c in id
            .procedure_codes
            .iter()
            .chain(&id.requested_procedure_codes)
        {
            let c: &Code = c;
            v.push(("procedure_code", format!("{} {}", c.value(), c.meaning())));
        }
        for p in &self.protocols {
            v.push(("protocol", p.clone()));
        }
        v
    }
}
