//! Stage 4: files → procedures, without double counting, every input accounted for.
//!
//! Rules (DOMAIN.md section 9):
//! 1. identical SOP Instance UIDs are one object: later copies are duplicates;
//! 2. RDSRs that share Irradiation Event UIDs describe the same exposures: a report whose
//!    events contain every other's supersedes them; partial overlaps are merged by event UID
//!    and totalled from the union of events (flagged partial);
//! 3. disjoint RDSRs of one patient and study (one per performed procedure step) add up per
//!    plane;
//! 4. image headers add only the events no RDSR covers, one DAP per event, flagged partial;
//! 5. a vendor summary counts only when no RDSR covers the study.
//!
//! Procedures are keyed by (Patient ID, Study Instance UID): two patients sharing a study UID
//! give two procedures and a warning, never a merge.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;

use crate::codes::Code;
use crate::error::Error;
use crate::extract::{Extraction, Identity, ObjectKind, Outcome};
use crate::image::ImageDose;
use crate::rdsr::{DoseReport, EventCategory, IrradiationEvent, Plane, PlaneDose, Provenance};
use crate::report::error_chain;
use crate::units::{AirKerma, Dap};

/// Whether a procedure figure covers the whole procedure (DOMAIN.md 9.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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
#[derive(Debug, Clone, PartialEq)]
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

/// Event counts of a procedure after de-duplication.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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

/// The room (X-ray system) of a procedure.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Room {
    /// The key: Device Observer UID, else station name with serial, else manufacturer with model.
    pub key: String,
    /// True when only a station name or manufacturer/model identifies it.
    pub weak: bool,
}

/// One procedure: a patient's study, its dose figures and their provenance.
#[derive(Debug, Clone, PartialEq)]
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
    /// The room.
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
    pub warnings: Vec<String>,
}

/// What became of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Unreadable; the reason.
    Error(String),
}

/// One input and its fate.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// The result of grouping: procedures and the fate of every input.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureSet {
    /// Procedures in (date, patient, study) order.
    pub procedures: Vec<Procedure>,
    /// Every input, sorted by label.
    pub files: Vec<FileAccount>,
    /// Totals of the fates.
    pub accounting: Accounting,
}

#[derive(Debug)]
enum Payload {
    Report(Box<DoseReport>),
    Image(Box<ImageDose>),
    Fate(Fate),
}

#[derive(Debug)]
struct Record {
    label: String,
    kind: Option<ObjectKind>,
    identity: Identity,
    payload: Payload,
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
/// let bytes = include_bytes!("../testdata/rdsr_single_plane.dcm");
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
                payload: Payload::Fate(Fate::Error(error_chain(&e))),
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

    /// Moves every input of `other` into this grouping.
    pub fn merge(&mut self, other: Procedures) {
        self.records.extend(other.records);
    }

    /// Groups, de-duplicates and totals.
    pub fn finish(mut self) -> ProcedureSet {
        self.records.sort_by(|a, b| a.label.cmp(&b.label));
        let records = self.records;
        let n = records.len();
        let mut fates: Vec<Option<Fate>> = vec![None; n];
        let mut proc_of: Vec<Option<usize>> = vec![None; n]; // group index

        // 1. Exact duplicates by SOP Instance UID (first label wins).
        let mut first_by_sop: HashMap<&str, usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            if let Payload::Fate(f) = &r.payload {
                fates[i] = Some(f.clone());
                continue;
            }
            if let Some(sop) = r.identity.sop_instance_uid.as_deref() {
                match first_by_sop.get(sop) {
                    Some(&j) => fates[i] = Some(Fate::DuplicateOf(records[j].label.clone())),
                    None => {
                        first_by_sop.insert(sop, i);
                    }
                }
            }
        }
        let live = |i: usize, fates: &[Option<Fate>]| fates[i].is_none();

        // 2. Cluster RDSRs sharing event UIDs (union-find).
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        let mut owner: HashMap<&str, usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            if !live(i, &fates) {
                continue;
            }
            if let Payload::Report(rep) = &r.payload {
                for uid in rep.events.iter().filter_map(|e| e.uid.as_deref()) {
                    match owner.get(uid) {
                        Some(&j) => {
                            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                            if a != b {
                                parent[a.max(b)] = a.min(b);
                            }
                        }
                        None => {
                            owner.insert(uid, i);
                        }
                    }
                }
            }
        }
        let mut clusters: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            let rdsr = matches!(&r.payload, Payload::Report(rep) if rep.provenance != Provenance::VendorSummary);
            if live(i, &fates) && rdsr {
                let k = root(&mut parent, i);
                clusters.entry(k).or_default().push(i);
            }
        }

        // 3. Within a cluster: superset supersedes; partial overlap merges by event.
        struct Unit {
            members: Vec<usize>,
            representative: usize,
            merged: bool,
        }
        let mut units = Vec::new();
        for (_, members) in clusters {
            let uids = |i: usize| -> BTreeSet<&str> {
                match &records[i].payload {
                    Payload::Report(r) => {
                        r.events.iter().filter_map(|e| e.uid.as_deref()).collect()
                    }
                    _ => BTreeSet::new(),
                }
            };
            let sets: Vec<BTreeSet<&str>> = members.iter().map(|&i| uids(i)).collect();
            let biggest = (0..members.len())
                .max_by(|&a, &b| sets[a].len().cmp(&sets[b].len()).then(b.cmp(&a)))
                .unwrap_or(0);
            let is_superset = sets.iter().all(|s| s.is_subset(&sets[biggest]));
            if is_superset || members.len() == 1 {
                let rep = members[biggest];
                for &m in &members {
                    if m != rep {
                        fates[m] = Some(Fate::SupersededBy(records[rep].label.clone()));
                    }
                }
                units.push(Unit {
                    members: vec![rep],
                    representative: rep,
                    merged: false,
                });
            } else {
                units.push(Unit {
                    representative: members[biggest],
                    members,
                    merged: true,
                });
            }
        }

        // 4. Group units, vendor summaries and images by (patient, study).
        type Key = (Option<String>, Option<String>);
        let key_of = |i: usize| -> Key {
            (
                records[i].identity.patient_id.clone(),
                records[i].identity.study_instance_uid.clone(),
            )
        };
        #[derive(Default)]
        struct Group {
            units: Vec<usize>,
            images: Vec<usize>,
            summaries: Vec<usize>,
        }
        let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
        for (u, unit) in units.iter().enumerate() {
            groups
                .entry(key_of(unit.representative))
                .or_default()
                .units
                .push(u);
        }
        for (i, r) in records.iter().enumerate() {
            if !live(i, &fates) {
                continue;
            }
            match &r.payload {
                Payload::Image(_) => groups.entry(key_of(i)).or_default().images.push(i),
                Payload::Report(rep) if rep.provenance == Provenance::VendorSummary => {
                    groups.entry(key_of(i)).or_default().summaries.push(i)
                }
                _ => {}
            }
        }
        // Event UIDs covered by any RDSR (images of those events add nothing).
        let rdsr_events: HashMap<&str, usize> = owner
            .iter()
            .filter(|&(_, &i)| live(i, &fates) || matches!(fates[i], Some(Fate::SupersededBy(_))))
            .map(|(u, &i)| (*u, i))
            .collect();

        // Study UIDs whose groups differ by patient (a missing ID counts as one): the
        // procedures of a known patient among them say that they were not merged.
        let mut patient_of_study: HashMap<&str, &Option<String>> = HashMap::new();
        let mut shared_studies: HashSet<&str> = HashSet::new();
        for (patient, study) in groups.keys() {
            if let Some(study) = study.as_deref()
                && *patient_of_study.entry(study).or_insert(patient) != patient
            {
                shared_studies.insert(study);
            }
        }

        let mut procedures = Vec::new();
        for (key, group) in &groups {
            let g = procedures.len();
            let mut p = Builder::default();
            for &u in &group.units {
                let unit = &units[u];
                let reps: Vec<&DoseReport> = unit
                    .members
                    .iter()
                    .filter_map(|&i| match &records[i].payload {
                        Payload::Report(r) => Some(r.as_ref()),
                        _ => None,
                    })
                    .collect();
                if unit.merged {
                    p.add_merged(&reps);
                    p.note(format!(
                        "reports {} overlap partially: totals from the union of their events",
                        unit.members
                            .iter()
                            .map(|&i| records[i].label.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                } else if let Some(r) = reps.first() {
                    p.add_report(r);
                }
                for &m in &unit.members {
                    proc_of[m] = Some(g);
                    p.files.push(records[m].label.clone());
                    p.identity_from(&records[m].identity, records[m].kind);
                }
            }
            for &s in &group.summaries {
                proc_of[s] = Some(g);
                if group.units.is_empty() {
                    if let Payload::Report(r) = &records[s].payload {
                        p.add_report(r);
                    }
                    p.files.push(records[s].label.clone());
                    p.identity_from(&records[s].identity, records[s].kind);
                } else {
                    let by = group
                        .units
                        .first()
                        .map(|&u| records[units[u].representative].label.clone())
                        .unwrap_or_default();
                    fates[s] = Some(Fate::SupersededBy(by));
                }
            }
            let mut header_events: BTreeMap<String, Dap> = BTreeMap::new();
            for &im in &group.images {
                proc_of[im] = Some(g);
                p.files.push(records[im].label.clone());
                p.identity_from(&records[im].identity, records[im].kind);
                let Payload::Image(img) = &records[im].payload else {
                    continue;
                };
                let covered = !img.irradiation_event_uids.is_empty()
                    && img
                        .irradiation_event_uids
                        .iter()
                        .all(|u| rdsr_events.contains_key(u.as_str()));
                if covered {
                    continue;
                }
                let Some(dap) = img.dap else { continue };
                // One DAP per event: images of one event repeat it. Without an event UID,
                // one image is one (unknown) event.
                let key = img
                    .irradiation_event_uids
                    .first()
                    .cloned()
                    .or_else(|| records[im].identity.sop_instance_uid.clone())
                    .unwrap_or_else(|| records[im].label.clone());
                let entry = header_events.entry(key.clone()).or_insert(dap);
                if *entry != dap {
                    p.note(format!(
                        "images of event {key} disagree on (0018,115E): {} vs {}; the larger is kept",
                        entry, dap
                    ));
                    if dap > *entry {
                        *entry = dap;
                    }
                }
            }
            p.add_header_events(&header_events);
            if key.0.is_some()
                && key
                    .1
                    .as_deref()
                    .is_some_and(|study| shared_studies.contains(study))
            {
                p.note("another patient has the same Study Instance UID: not merged".to_owned());
            }
            procedures.push(p.build(key.clone()));
        }

        // 5. Flag possible re-anonymised copies: same room and first event with the same DAP.
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for i in 0..procedures.len() {
            if let (Some(fp), Some(dap)) = (&procedures[i].first_event, procedures[i].dap_total) {
                let k = (
                    procedures[i].room.key.clone(),
                    format!("{fp}|{}", dap.as_gy_m2()),
                );
                if let Some(&j) = seen.get(&k) {
                    let msg = "same room, first event time and DAP as another procedure: possibly a re-anonymised copy (not merged)".to_owned();
                    procedures[i].warnings.push(msg.clone());
                    procedures[j].warnings.push(msg);
                } else {
                    seen.insert(k, i);
                }
            }
        }

        // 6. Deterministic ids in date order.
        let mut order: Vec<usize> = (0..procedures.len()).collect();
        order.sort_by(|&a, &b| {
            let pa = &procedures[a];
            let pb = &procedures[b];
            (
                &pa.study_date,
                &pa.study_time,
                &pa.patient_id,
                &pa.study_instance_uid,
            )
                .cmp(&(
                    &pb.study_date,
                    &pb.study_time,
                    &pb.patient_id,
                    &pb.study_instance_uid,
                ))
        });
        let mut id_of_group = vec![String::new(); procedures.len()];
        for (rank, &g) in order.iter().enumerate() {
            id_of_group[g] = format!("P{:04}", rank + 1);
        }
        let mut sorted = Vec::with_capacity(procedures.len());
        let mut slots: Vec<Option<Procedure>> = procedures.into_iter().map(Some).collect();
        for &g in &order {
            if let Some(mut p) = slots[g].take() {
                p.id = id_of_group[g].clone();
                sorted.push(p);
            }
        }

        // 7. Accounting.
        let label_group: HashMap<&str, usize> = records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| proc_of[i].map(|g| (r.label.as_str(), g)))
            .collect();
        let mut accounting = Accounting {
            files: n,
            ..Accounting::default()
        };
        let mut files = Vec::with_capacity(n);
        for (i, r) in records.iter().enumerate() {
            let fate = match fates[i].clone() {
                Some(f) => f,
                None => match proc_of[i] {
                    Some(g) => Fate::InProcedure(id_of_group[g].clone()),
                    None => Fate::NoDose,
                },
            };
            let procedure = match &fate {
                Fate::InProcedure(id) => Some(id.clone()),
                Fate::DuplicateOf(l) | Fate::SupersededBy(l) => label_group
                    .get(l.as_str())
                    .or(proc_of[i].as_ref())
                    .map(|&g| id_of_group[g].clone()),
                _ => None,
            };
            match fate {
                Fate::InProcedure(_) => accounting.in_procedure += 1,
                Fate::DuplicateOf(_) => accounting.duplicate += 1,
                Fate::SupersededBy(_) => accounting.superseded += 1,
                Fate::NoDose => accounting.no_dose += 1,
                Fate::Unsupported => accounting.unsupported += 1,
                Fate::Error(_) => accounting.error += 1,
            }
            files.push(FileAccount {
                label: r.label.clone(),
                fate,
                procedure,
            });
        }
        ProcedureSet {
            procedures: sorted,
            files,
            accounting,
        }
    }
}

#[derive(Default)]
struct PlaneAcc {
    dap: Vec<Option<Dap>>,
    ka_r: Vec<Option<AirKerma>>,
    fluoro: Vec<Option<Duration>>,
    frames: Vec<Option<u64>>,
}

#[derive(Default)]
struct Builder {
    planes: BTreeMap<Plane, PlaneAcc>,
    events: EventCounts,
    sources: BTreeSet<u8>,
    partial: bool,
    rp_standard: bool,
    rp_seen: bool,
    first_event: Option<String>,
    protocols: BTreeSet<String>,
    tve: Vec<TotalVersusEvents>,
    files: Vec<String>,
    warnings: Vec<String>,
    identity: Option<Identity>,
    identity_rank: u8,
    room: Option<Room>,
}

fn all_some<T: Copy + std::iter::Sum<T>>(v: &[Option<T>]) -> Option<T> {
    if v.is_empty() || v.iter().any(Option::is_none) {
        None
    } else {
        Some(v.iter().flatten().copied().sum())
    }
}

impl Builder {
    fn note(&mut self, s: String) {
        self.warnings.push(s);
    }

    fn identity_from(&mut self, id: &Identity, kind: Option<ObjectKind>) {
        // RDSRs describe the procedure best; images next.
        let rank = match kind {
            Some(ObjectKind::Rdsr) => 3,
            Some(ObjectKind::VendorSummary) => 2,
            _ => 1,
        };
        if self.identity.is_none() || rank > self.identity_rank {
            self.identity = Some(id.clone());
            self.identity_rank = rank;
        }
        if self.room.is_none() {
            self.room = room_from_header(id);
        }
    }

    fn events_of(&mut self, events: &[&IrradiationEvent]) {
        for e in events {
            match e.category {
                EventCategory::Fluoroscopy => self.events.fluoro += 1,
                EventCategory::Acquisition => self.events.acquisition += 1,
                EventCategory::Other => self.events.other += 1,
            }
            if let Some(p) = &e.protocol {
                self.protocols.insert(p.clone());
            }
            if let Some(s) = &e.started
                && self.first_event.as_ref().is_none_or(|f| s < f)
            {
                self.first_event = Some(s.clone());
            }
        }
    }

    fn reference_point(&mut self, planes: &[PlaneDose]) {
        for p in planes {
            let std = p
                .reference_point
                .as_ref()
                .is_some_and(|r| r.is_interventional_reference_point());
            self.rp_standard = if self.rp_seen {
                self.rp_standard && std
            } else {
                std
            };
            self.rp_seen = true;
        }
    }

    fn room_from_report(&mut self, r: &DoseReport) {
        if let Some(uid) = &r.device.observer_uid {
            self.room = Some(Room {
                key: uid.clone(),
                weak: false,
            });
        } else if self.room.is_none() {
            let d = &r.device;
            if let (Some(m), Some(model), Some(s)) = (&d.manufacturer, &d.model, &d.serial_number) {
                self.room = Some(Room {
                    key: format!("{m} {model} #{s}"),
                    weak: false,
                });
            }
        }
    }

    fn add_report(&mut self, r: &DoseReport) {
        self.room_from_report(r);
        self.sources.insert(match r.provenance {
            Provenance::VendorSummary => 3,
            _ => 0,
        });
        if r.provenance == Provenance::VendorSummary {
            self.partial = true;
        }
        let events: Vec<&IrradiationEvent> = r.events.iter().collect();
        self.events_of(&events);
        self.reference_point(&r.planes);
        for p in &r.planes {
            let acc = self.planes.entry(p.plane).or_default();
            acc.dap.push(p.dap_total);
            acc.ka_r.push(p.ka_r_total);
            acc.fluoro.push(p.fluoro_time);
            acc.frames.push(p.acquisition_frames);
            let mine: Vec<&&IrradiationEvent> =
                events.iter().filter(|e| e.plane == Some(p.plane)).collect();
            let dsum =
                crate::rdsr::event_sum(mine.iter().map(|e| **e), |e| e.dap.map(Dap::as_gy_m2));
            let ksum =
                crate::rdsr::event_sum(mine.iter().map(|e| **e), |e| e.ka_r.map(AirKerma::as_gy));
            for (q, total, sum) in [
                ("dap", p.dap_total.map(Dap::as_gy_m2), dsum),
                ("ka_r", p.ka_r_total.map(AirKerma::as_gy), ksum),
            ] {
                if let (Some(total), Some(sum)) = (total, sum) {
                    self.tve.push(TotalVersusEvents {
                        quantity: q,
                        plane: p.plane,
                        total,
                        event_sum: sum,
                        relative_difference: (total - sum).abs()
                            / total.abs().max(sum.abs()).max(1e-30),
                    });
                }
            }
        }
        if r.planes.is_empty() && !r.events.is_empty() {
            // No accumulated container: fall back to event sums.
            self.add_event_sums(&events);
        }
    }

    fn add_event_sums(&mut self, events: &[&IrradiationEvent]) {
        self.sources.insert(1);
        self.partial = true;
        let mut by_plane: BTreeMap<Plane, Vec<&IrradiationEvent>> = BTreeMap::new();
        for e in events {
            by_plane
                .entry(e.plane.unwrap_or(Plane::Single))
                .or_default()
                .push(e);
        }
        for (plane, evs) in by_plane {
            let acc = self.planes.entry(plane).or_default();
            let d = crate::rdsr::event_sum(evs.iter().copied(), |e| e.dap.map(Dap::as_gy_m2));
            let k = crate::rdsr::event_sum(evs.iter().copied(), |e| e.ka_r.map(AirKerma::as_gy));
            acc.dap.push(d.and_then(|v| Dap::try_from_gy_m2(v).ok()));
            acc.ka_r.push(k.and_then(|v| AirKerma::try_from_gy(v).ok()));
            acc.fluoro.push(None);
            acc.frames.push(None);
        }
    }

    fn add_merged(&mut self, reports: &[&DoseReport]) {
        let mut seen: HashMap<&str, &IrradiationEvent> = HashMap::new();
        let mut union: Vec<&IrradiationEvent> = Vec::new();
        for r in reports {
            self.room_from_report(r);
            self.reference_point(&r.planes);
            for e in &r.events {
                match e.uid.as_deref() {
                    Some(u) => match seen.get(u) {
                        Some(prev) => {
                            if prev.dap != e.dap || prev.ka_r != e.ka_r {
                                self.warnings.push(format!(
                                    "event {u} has different values in two reports (DAP {:?} vs {:?}); the first is kept",
                                    prev.dap.map(Dap::as_gy_cm2),
                                    e.dap.map(Dap::as_gy_cm2)
                                ));
                            }
                        }
                        None => {
                            seen.insert(u, e);
                            union.push(e);
                        }
                    },
                    None => union.push(e),
                }
            }
        }
        self.events_of(&union);
        self.add_event_sums(&union);
    }

    fn add_header_events(&mut self, events: &BTreeMap<String, Dap>) {
        if events.is_empty() {
            return;
        }
        self.sources.insert(2);
        self.partial = true;
        self.events.from_images += events.len();
        let dap: Dap = events.values().sum();
        let acc = self.planes.entry(Plane::Single).or_default();
        // Header DAP adds to whatever the RDSRs gave for this procedure.
        acc.dap.push(Some(dap));
    }

    fn build(mut self, key: (Option<String>, Option<String>)) -> Procedure {
        let identity = self.identity.take().unwrap_or_default();
        let mut planes = Vec::new();
        for (plane, acc) in &self.planes {
            planes.push(ProcedurePlane {
                plane: *plane,
                dap: all_some(&acc.dap),
                ka_r: all_some(&acc.ka_r),
                fluoro_time: all_some(&acc.fluoro),
                acquisition_frames: if acc.frames.iter().any(Option::is_none) {
                    None
                } else {
                    Some(acc.frames.iter().flatten().sum())
                },
            });
        }
        let dap_total = all_some(&planes.iter().map(|p| p.dap).collect::<Vec<_>>());
        let ka_r_sum = all_some(&planes.iter().map(|p| p.ka_r).collect::<Vec<_>>());
        let fluoro_time = all_some(&planes.iter().map(|p| p.fluoro_time).collect::<Vec<_>>());
        let frames = if planes.iter().any(|p| p.acquisition_frames.is_none()) || planes.is_empty() {
            None
        } else {
            Some(planes.iter().filter_map(|p| p.acquisition_frames).sum())
        };
        let source = match self.sources.iter().next_back() {
            _ if self.sources.len() > 1 && self.sources.contains(&2) => Provenance::ImageHeaders,
            Some(0) => Provenance::RdsrTotal,
            Some(1) => Provenance::RdsrEventSum,
            Some(2) => Provenance::ImageHeaders,
            _ => Provenance::VendorSummary,
        };
        let completeness = if planes.is_empty() || dap_total.is_none() {
            Completeness::Unknown
        } else if self.partial {
            Completeness::Partial
        } else {
            Completeness::Complete
        };
        let room = self.room.take().unwrap_or(Room {
            key: "unknown".to_owned(),
            weak: true,
        });
        self.files.sort();
        self.files.dedup();
        Procedure {
            id: String::new(),
            patient_id: key.0,
            study_instance_uid: key.1,
            accession_number: identity.accession_number.clone(),
            study_date: identity.study_date.clone(),
            study_time: identity.study_time.clone(),
            first_event: self.first_event,
            room,
            protocols: self.protocols.into_iter().collect(),
            planes,
            dap_total,
            ka_r_sum_of_planes: ka_r_sum,
            fluoro_time,
            acquisition_frames: frames,
            events: self.events,
            source,
            completeness,
            reference_point_standard: self.rp_seen && self.rp_standard,
            total_versus_events: self.tve,
            files: self.files,
            warnings: self.warnings,
            identity,
        }
    }
}

fn room_from_header(id: &Identity) -> Option<Room> {
    match (
        &id.station_name,
        &id.serial_number,
        &id.manufacturer,
        &id.model,
    ) {
        (Some(st), Some(sn), _, _) => Some(Room {
            key: format!("{st} #{sn}"),
            weak: false,
        }),
        (Some(st), None, _, _) => Some(Room {
            key: st.clone(),
            weak: true,
        }),
        (None, _, Some(m), Some(model)) => Some(Room {
            key: format!("{m} {model}"),
            weak: true,
        }),
        _ => None,
    }
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
        for c in &id.procedure_codes {
            let c: &Code = c;
            v.push(("procedure_code", format!("{} {}", c.value(), c.meaning())));
        }
        for p in &self.protocols {
            v.push(("protocol", p.clone()));
        }
        v
    }
}
