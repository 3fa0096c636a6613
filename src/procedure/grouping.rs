//! The steps of [`Procedures::finish`](super::Procedures::finish), in order: duplicates,
//! clusters of reports sharing events, supersession, grouping by patient and study, each
//! procedure's totals, warnings across procedures, ids, room names, accounting.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::builder::Builder;
use super::room::name_rooms;
use super::{
    Accounting, Fate, FileAccount, Payload, Procedure, ProcedureSet, ProcedureWarning, Record,
};
use crate::rdsr::DoseReport;
use crate::units::Dap;

/// A record's place in the label-sorted list.
type RecordIx = usize;

/// A procedure's place in build order (the order of its key).
type ProcedureIx = usize;

/// (Patient ID, Study Instance UID).
type Key = (Option<String>, Option<String>);

/// What grouping has decided about one record so far.
#[derive(Default)]
struct Decision {
    /// Set once the record no longer counts by itself (a duplicate, superseded, or known
    /// without grouping); `None` while it counts.
    fate: Option<Fate>,
    /// The procedure it belongs to.
    procedure: Option<ProcedureIx>,
}

/// RDSRs that count as one.
enum Unit {
    /// One report (the reports it supersedes are marked so).
    Report(RecordIx),
    /// Reports that overlap partially, counted from the union of their events.
    Merged {
        /// The reports, in label order.
        members: Vec<RecordIx>,
        /// The one with the most events.
        representative: RecordIx,
    },
}

impl Unit {
    fn members(&self) -> &[RecordIx] {
        match self {
            Unit::Report(r) => std::slice::from_ref(r),
            Unit::Merged { members, .. } => members,
        }
    }

    fn representative(&self) -> RecordIx {
        match self {
            Unit::Report(r)
            | Unit::Merged {
                representative: r, ..
            } => *r,
        }
    }
}

/// What one (patient, study) brings together.
#[derive(Default)]
struct Group {
    /// Indices into the units.
    units: Vec<usize>,
    images: Vec<RecordIx>,
    summaries: Vec<RecordIx>,
}

/// The records and what has been decided about each.
struct Grouping<'r> {
    records: &'r [Record],
    decisions: Vec<Decision>,
}

/// Groups `records` (sorted by label) into procedures.
pub(super) fn run(records: &[Record]) -> ProcedureSet {
    let mut g = Grouping {
        records,
        decisions: records.iter().map(|_| Decision::default()).collect(),
    };
    g.mark_duplicates();
    let (clusters, covered_events) = g.clusters_by_event();
    let units: Vec<Unit> = clusters.into_iter().map(|c| g.supersede(c)).collect();
    let groups = g.group_by_study(&units);
    let mut procedures: Vec<Procedure> = Vec::with_capacity(groups.len());
    let shared = shared_studies(&groups);
    for (key, group) in &groups {
        let ix = procedures.len();
        let mut p = g.totals(ix, &units, group, &covered_events);
        if key.0.is_some() && key.1.as_deref().is_some_and(|s| shared.contains(s)) {
            p.warn(ProcedureWarning::SharedStudyUid);
        }
        procedures.push(p.build(key.clone()));
    }
    flag_possible_copies(&mut procedures);
    let (mut procedures, ids) = number_by_date(procedures);
    name_rooms(procedures.iter_mut().map(|p| &mut p.room), &HashMap::new());
    g.account(procedures, &ids)
}

impl<'r> Grouping<'r> {
    fn live(&self, i: RecordIx) -> bool {
        self.decisions[i].fate.is_none()
    }

    fn label(&self, i: RecordIx) -> &'r str {
        &self.records[i].label
    }

    fn key(&self, i: RecordIx) -> Key {
        let id = &self.records[i].identity;
        (id.patient_id.clone(), id.study_instance_uid.clone())
    }

    /// Records whose fate is known without grouping get it; a record with the SOP Instance
    /// UID of an earlier one is its duplicate (the first label wins).
    fn mark_duplicates(&mut self) {
        let mut first_by_sop: HashMap<&str, RecordIx> = HashMap::new();
        for (i, r) in self.records.iter().enumerate() {
            if let Payload::Fate(f) = &r.payload {
                self.decisions[i].fate = Some(f.clone());
                continue;
            }
            if let Some(sop) = r.identity.sop_instance_uid.as_deref() {
                match first_by_sop.get(sop) {
                    Some(&j) => {
                        self.decisions[i].fate = Some(Fate::DuplicateOf(self.label(j).to_owned()))
                    }
                    None => {
                        first_by_sop.insert(sop, i);
                    }
                }
            }
        }
    }

    /// The RDSRs that share Irradiation Event UIDs, directly or through others (each cluster
    /// in label order, clusters in the order of their first label), and the event UIDs of every
    /// report still counted (vendor summaries included), which image headers need not add.
    fn clusters_by_event(&self) -> (Vec<Vec<RecordIx>>, HashSet<&'r str>) {
        let mut parent: Vec<RecordIx> = (0..self.records.len()).collect();
        fn root(p: &mut [RecordIx], mut i: RecordIx) -> RecordIx {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        let mut owner: HashMap<&'r str, RecordIx> = HashMap::new();
        for (i, r) in self.records.iter().enumerate() {
            let Some(report) = r.report().filter(|_| self.live(i)) else {
                continue;
            };
            for uid in report.events.iter().filter_map(|e| e.uid.as_deref()) {
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
        let mut clusters: BTreeMap<RecordIx, Vec<RecordIx>> = BTreeMap::new();
        for (i, r) in self.records.iter().enumerate() {
            if self.live(i) && r.rdsr().is_some() {
                clusters.entry(root(&mut parent, i)).or_default().push(i);
            }
        }
        (
            clusters.into_values().collect(),
            owner.into_keys().collect(),
        )
    }

    /// One cluster as a unit: when the report with the most events (the first such) holds
    /// every other's events, it supersedes them; otherwise they merge.
    fn supersede(&mut self, members: Vec<RecordIx>) -> Unit {
        let records = self.records;
        let uids = |i: RecordIx| -> BTreeSet<&str> {
            records[i]
                .report()
                .map(|r| r.events.iter().filter_map(|e| e.uid.as_deref()).collect())
                .unwrap_or_default()
        };
        let sets: Vec<BTreeSet<&str>> = members.iter().map(|&i| uids(i)).collect();
        let biggest = (0..members.len())
            .max_by(|&a, &b| sets[a].len().cmp(&sets[b].len()).then(b.cmp(&a)))
            .unwrap_or(0);
        let representative = members[biggest];
        if members.len() == 1 || sets.iter().all(|s| s.is_subset(&sets[biggest])) {
            for &m in &members {
                if m != representative {
                    let by = self.label(representative).to_owned();
                    self.decisions[m].fate = Some(Fate::SupersededBy(by));
                }
            }
            Unit::Report(representative)
        } else {
            Unit::Merged {
                members,
                representative,
            }
        }
    }

    /// Units, images and vendor summaries still counted, by (patient, study).
    fn group_by_study(&self, units: &[Unit]) -> BTreeMap<Key, Group> {
        let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
        for (u, unit) in units.iter().enumerate() {
            let key = self.key(unit.representative());
            groups.entry(key).or_default().units.push(u);
        }
        for (i, r) in self.records.iter().enumerate() {
            if !self.live(i) {
                continue;
            }
            if matches!(r.payload, Payload::Image(_)) {
                groups.entry(self.key(i)).or_default().images.push(i);
            } else if r.vendor_summary().is_some() {
                groups.entry(self.key(i)).or_default().summaries.push(i);
            }
        }
        groups
    }

    /// The figures of procedure `ix` from its group: the units' reports, vendor summaries only
    /// when the study has no RDSR (else they are superseded by its first unit), and the header
    /// DAP of image events that no report covers.
    fn totals(
        &mut self,
        ix: ProcedureIx,
        units: &[Unit],
        group: &Group,
        covered_events: &HashSet<&str>,
    ) -> Builder {
        let records = self.records;
        let mut p = Builder::default();
        for unit in group.units.iter().map(|&u| &units[u]) {
            let reports: Vec<&DoseReport> = unit
                .members()
                .iter()
                .filter_map(|&i| records[i].report())
                .collect();
            match unit {
                Unit::Merged { members, .. } => {
                    p.add_merged(&reports);
                    p.warn(ProcedureWarning::PartialOverlap {
                        reports: members.iter().map(|&i| self.label(i).to_owned()).collect(),
                    });
                }
                Unit::Report(_) => {
                    if let Some(r) = reports.first() {
                        p.add_report(r);
                    }
                }
            }
            for &m in unit.members() {
                self.decisions[m].procedure = Some(ix);
                p.file(&records[m].label, &records[m].identity, records[m].kind);
            }
        }
        for &s in &group.summaries {
            self.decisions[s].procedure = Some(ix);
            match group.units.first() {
                None => {
                    if let Some(r) = records[s].report() {
                        p.add_report(r);
                    }
                    p.file(&records[s].label, &records[s].identity, records[s].kind);
                }
                Some(&u) => {
                    let by = self.label(units[u].representative()).to_owned();
                    self.decisions[s].fate = Some(Fate::SupersededBy(by));
                }
            }
        }
        let mut header_events: BTreeMap<String, Dap> = BTreeMap::new();
        for &im in &group.images {
            self.decisions[im].procedure = Some(ix);
            let record = &records[im];
            p.file(&record.label, &record.identity, record.kind);
            let Payload::Image(img) = &record.payload else {
                continue;
            };
            let uids = &img.irradiation_event_uids;
            if !uids.is_empty() && uids.iter().all(|u| covered_events.contains(u.as_str())) {
                continue;
            }
            let Some(dap) = img.dap else { continue };
            // One DAP per event: images of one event repeat it. Without an event UID, one
            // image is one (unknown) event.
            let event = uids
                .first()
                .cloned()
                .or_else(|| record.identity.sop_instance_uid.clone())
                .unwrap_or_else(|| record.label.clone());
            let kept = header_events.entry(event.clone()).or_insert(dap);
            if *kept != dap {
                p.warn(ProcedureWarning::ImagesDisagree {
                    event,
                    kept: *kept,
                    other: dap,
                });
                if dap > *kept {
                    *kept = dap;
                }
            }
        }
        p.add_header_events(&header_events);
        p
    }

    /// Every record's fate and procedure id, and their totals.
    fn account(self, procedures: Vec<Procedure>, ids: &[String]) -> ProcedureSet {
        let label_procedure: HashMap<&str, ProcedureIx> = self
            .records
            .iter()
            .zip(&self.decisions)
            .filter_map(|(r, d)| d.procedure.map(|g| (r.label.as_str(), g)))
            .collect();
        let mut accounting = Accounting {
            files: self.records.len(),
            ..Accounting::default()
        };
        let mut files = Vec::with_capacity(self.records.len());
        for (r, d) in self.records.iter().zip(self.decisions) {
            let fate = match d.fate {
                Some(f) => f,
                None => match d.procedure {
                    Some(g) => Fate::InProcedure(ids[g].clone()),
                    None => Fate::NoDose,
                },
            };
            let procedure = match &fate {
                Fate::InProcedure(id) => Some(id.clone()),
                Fate::DuplicateOf(l) | Fate::SupersededBy(l) => label_procedure
                    .get(l.as_str())
                    .or(d.procedure.as_ref())
                    .map(|&g| ids[g].clone()),
                _ => None,
            };
            accounting.count(&fate);
            files.push(FileAccount {
                label: r.label.clone(),
                fate,
                procedure,
            });
        }
        ProcedureSet {
            procedures,
            files,
            accounting,
        }
    }
}

/// Study UIDs found with more than one patient (a missing Patient ID counts as one).
fn shared_studies(groups: &BTreeMap<Key, Group>) -> HashSet<&str> {
    let mut patient_of_study: HashMap<&str, &Option<String>> = HashMap::new();
    let mut shared = HashSet::new();
    for (patient, study) in groups.keys() {
        if let Some(study) = study.as_deref()
            && *patient_of_study.entry(study).or_insert(patient) != patient
        {
            shared.insert(study);
        }
    }
    shared
}

/// Warns on procedures with the same room, first event time and DAP: possibly a
/// re-anonymised copy of one exam (PS3.15 Annex E de-identification replaces the UIDs).
pub(super) fn flag_possible_copies(procedures: &mut [Procedure]) {
    let mut first: HashMap<(&str, &str, u64), usize> = HashMap::new();
    let mut pairs = Vec::new();
    for (i, p) in procedures.iter().enumerate() {
        if let (Some(start), Some(dap)) = (&p.first_event, p.dap_total) {
            let key = (
                p.room.key.as_str(),
                start.as_str(),
                dap.as_gy_m2().to_bits(),
            );
            match first.get(&key) {
                Some(&j) => pairs.push((i, j)),
                None => {
                    first.insert(key, i);
                }
            }
        }
    }
    for i in pairs.into_iter().flat_map(|(i, j)| [i, j]) {
        if !procedures[i]
            .warnings
            .contains(&ProcedureWarning::PossibleCopy)
        {
            procedures[i].warnings.push(ProcedureWarning::PossibleCopy);
        }
    }
}

/// The procedures in (study date, study time, patient, study) order with their ids `P0001`…,
/// and the id of each procedure by its build-order index.
pub(super) fn number_by_date(procedures: Vec<Procedure>) -> (Vec<Procedure>, Vec<String>) {
    type DateKey<'p> = (
        &'p Option<String>,
        &'p Option<String>,
        &'p Option<String>,
        &'p Option<String>,
    );
    fn date_key(p: &Procedure) -> DateKey<'_> {
        (
            &p.study_date,
            &p.study_time,
            &p.patient_id,
            &p.study_instance_uid,
        )
    }
    let mut order: Vec<ProcedureIx> = (0..procedures.len()).collect();
    order.sort_by(|&a, &b| date_key(&procedures[a]).cmp(&date_key(&procedures[b])));
    let mut ids = vec![String::new(); procedures.len()];
    for (rank, &g) in order.iter().enumerate() {
        ids[g] = format!("P{:04}", rank + 1);
    }
    let mut slots: Vec<Option<Procedure>> = procedures.into_iter().map(Some).collect();
    let sorted = order
        .iter()
        .filter_map(|&g| {
            let mut p = slots[g].take()?;
            p.id = ids[g].clone();
            Some(p)
        })
        .collect();
    (sorted, ids)
}
