//! The skin inputs of a set of files, kept per file while they are read, and assembled per
//! procedure once grouping has said which files make each procedure.

use std::collections::{HashMap, HashSet};

use super::SkinInput;
use crate::extract::{Extraction, Outcome};
use crate::procedure::Procedure;

/// Per input file (by its label), the skin input of its dose report; then, per procedure,
/// the union of its files' events.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut inputs = kerma::skin::SkinInputs::default();
/// let mut procedures = kerma::Procedures::new();
/// for name in ["rdsr_pps_part1.dcm", "rdsr_pps_part2.dcm", "rdsr_cumulative.dcm"] {
///     let x = kerma::extract_path(format!("testdata/{name}"))?;
///     inputs.add(name, &x);
///     procedures.add(name, Ok(x));
/// }
/// let set = procedures.finish();
/// let input = inputs.procedure(&set.procedures[0]).ok_or("no input")?;
/// // The cumulative report repeats the events of the two partial ones: each counts once.
/// let uids: std::collections::HashSet<_> = input.events.iter().map(|e| e.uid.clone()).collect();
/// assert_eq!(uids.len(), input.events.len());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct SkinInputs {
    parts: HashMap<String, SkinInput>,
}

impl SkinInputs {
    /// Keeps the skin input of one file read as `label`, when it is a dose report with
    /// events (anything else has nothing for the skin estimate).
    pub fn add(&mut self, label: &str, x: &Extraction) {
        if x.outcome != Outcome::Dose {
            return;
        }
        let Some(report) = x.report.as_ref().filter(|r| !r.events.is_empty()) else {
            return;
        };
        self.parts.insert(
            label.to_owned(),
            SkinInput::from_reports([(report, &x.identity)]),
        );
    }

    /// The input of procedure `p`: its files' events, each event once (by Irradiation Event
    /// UID, the first file's copy kept; events without a UID all kept), with the device of
    /// the first file and the patient's size and weight from the files, else from the
    /// procedure. `None` when no file of `p` has a dose report with events.
    pub fn procedure(&self, p: &Procedure) -> Option<SkinInput> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out: Option<SkinInput> = None;
        for part in p.files.iter().filter_map(|f| self.parts.get(f)) {
            let o = out.get_or_insert_with(|| part.clone_without_events());
            o.patient_size_m = o.patient_size_m.or(part.patient_size_m);
            o.patient_weight_kg = o.patient_weight_kg.or(part.patient_weight_kg);
            let fresh = part.events.iter().filter(|e| match e.uid.as_deref() {
                Some(u) => seen.insert(u),
                None => true,
            });
            o.events.extend(fresh.cloned());
        }
        let mut out = out?;
        out.patient_size_m = out.patient_size_m.or(p.identity.patient_size_m);
        out.patient_weight_kg = out.patient_weight_kg.or(p.identity.patient_weight_kg);
        Some(out)
    }
}

impl SkinInput {
    fn clone_without_events(&self) -> SkinInput {
        SkinInput {
            manufacturer: self.manufacturer.clone(),
            model: self.model.clone(),
            patient_size_m: self.patient_size_m,
            patient_weight_kg: self.patient_weight_kg,
            events: Vec::new(),
        }
    }
}
