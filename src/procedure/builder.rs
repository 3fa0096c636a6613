//! One procedure's figures, summed from the reports and images grouping gives it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use super::room::RoomFacts;
use super::{
    Completeness, EventCounts, Procedure, ProcedurePlane, ProcedureWarning, TotalVersusEvents,
};
use crate::extract::{Identity, ObjectKind};
use crate::rdsr::{DoseReport, EventCategory, IrradiationEvent, Plane, PlaneDose, Provenance};
use crate::units::{AirKerma, Dap};

/// The values one plane receives, one per contributing report or image set; a plane's figure
/// exists only when every contribution has it.
#[derive(Default)]
struct PlaneInputs {
    dap: Vec<Option<Dap>>,
    ka_r: Vec<Option<AirKerma>>,
    fluoro: Vec<Option<Duration>>,
    frames: Vec<Option<u64>>,
}

/// Which kinds of source gave a procedure figures.
#[derive(Default)]
struct Sources {
    rdsr_total: bool,
    rdsr_event_sum: bool,
    image_headers: bool,
    vendor_summary: bool,
}

impl Sources {
    fn add(&mut self, source: Provenance) {
        match source {
            Provenance::RdsrTotal => self.rdsr_total = true,
            Provenance::RdsrEventSum => self.rdsr_event_sum = true,
            Provenance::ImageHeaders => self.image_headers = true,
            Provenance::VendorSummary => self.vendor_summary = true,
        }
    }

    /// The procedure's provenance: image headers whenever they add to another source, else
    /// the least precise source (vendor summary, image headers, event sums, totals). A
    /// procedure that no source gave a figure is labelled a vendor summary (its completeness
    /// is unknown).
    fn provenance(&self) -> Provenance {
        let kinds = [
            self.rdsr_total,
            self.rdsr_event_sum,
            self.image_headers,
            self.vendor_summary,
        ];
        let mixed = kinds.iter().filter(|&&k| k).count() > 1;
        if mixed && self.image_headers {
            Provenance::ImageHeaders
        } else if self.vendor_summary {
            Provenance::VendorSummary
        } else if self.image_headers {
            Provenance::ImageHeaders
        } else if self.rdsr_event_sum {
            Provenance::RdsrEventSum
        } else if self.rdsr_total {
            Provenance::RdsrTotal
        } else {
            Provenance::VendorSummary
        }
    }
}

/// How well a file's header describes the procedure: RDSRs best, then vendor summaries, then
/// images.
fn identity_rank(kind: Option<ObjectKind>) -> u8 {
    match kind {
        Some(ObjectKind::Rdsr) => 3,
        Some(ObjectKind::VendorSummary) => 2,
        _ => 1,
    }
}

/// Collects one procedure's reports, images, files and warnings, then [`build`]s it.
///
/// [`build`]: Builder::build
#[derive(Default)]
pub(super) struct Builder {
    planes: BTreeMap<Plane, PlaneInputs>,
    events: EventCounts,
    sources: Sources,
    partial: bool,
    rp_standard: bool,
    rp_seen: bool,
    first_event: Option<String>,
    protocols: BTreeSet<String>,
    tve: Vec<TotalVersusEvents>,
    files: Vec<String>,
    warnings: Vec<ProcedureWarning>,
    identity: Option<Identity>,
    identity_rank: u8,
    room: RoomFacts,
}

/// The sum of `values` when every one is known.
fn all_some<T: Copy + std::iter::Sum<T>>(values: &[Option<T>]) -> Option<T> {
    if values.is_empty() || values.iter().any(Option::is_none) {
        None
    } else {
        Some(values.iter().flatten().copied().sum())
    }
}

impl Builder {
    pub(super) fn warn(&mut self, w: ProcedureWarning) {
        self.warnings.push(w);
    }

    /// Records a contributing file: its label, and its header if it describes the procedure
    /// better than the one kept so far.
    pub(super) fn file(&mut self, label: &str, id: &Identity, kind: Option<ObjectKind>) {
        self.files.push(label.to_owned());
        let rank = identity_rank(kind);
        if self.identity.is_none() || rank > self.identity_rank {
            self.identity = Some(id.clone());
            self.identity_rank = rank;
        }
        self.room.header(id);
    }

    fn count_events(&mut self, events: &[&IrradiationEvent]) {
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

    /// One report (an RDSR or a vendor summary) counted by its accumulated totals, or by its
    /// events when it has no accumulated data.
    pub(super) fn add_report(&mut self, r: &DoseReport) {
        self.room.report(&r.device);
        if r.provenance == Provenance::VendorSummary {
            self.sources.add(Provenance::VendorSummary);
            self.partial = true;
        } else {
            self.sources.add(Provenance::RdsrTotal);
        }
        let events: Vec<&IrradiationEvent> = r.events.iter().collect();
        self.count_events(&events);
        self.reference_point(&r.planes);
        for p in &r.planes {
            let inputs = self.planes.entry(p.plane).or_default();
            inputs.dap.push(p.dap_total);
            inputs.ka_r.push(p.ka_r_total);
            inputs.fluoro.push(p.fluoro_time);
            inputs.frames.push(p.acquisition_frames);
            let mine = || events.iter().filter(|e| e.plane == Some(p.plane));
            let dap_sum = Dap::compensated_sum(mine().filter_map(|e| e.dap));
            let ka_r_sum = AirKerma::compensated_sum(mine().filter_map(|e| e.ka_r));
            for (quantity, total, sum) in [
                (
                    "dap",
                    p.dap_total.map(Dap::as_gy_m2),
                    dap_sum.map(Dap::as_gy_m2),
                ),
                (
                    "ka_r",
                    p.ka_r_total.map(AirKerma::as_gy),
                    ka_r_sum.map(AirKerma::as_gy),
                ),
            ] {
                if let (Some(total), Some(sum)) = (total, sum) {
                    self.tve.push(TotalVersusEvents {
                        quantity,
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

    /// Events counted by their sums, per plane (events without a plane on the single plane).
    fn add_event_sums(&mut self, events: &[&IrradiationEvent]) {
        self.sources.add(Provenance::RdsrEventSum);
        self.partial = true;
        let mut by_plane: BTreeMap<Plane, Vec<&IrradiationEvent>> = BTreeMap::new();
        for e in events {
            by_plane
                .entry(e.plane.unwrap_or(Plane::Single))
                .or_default()
                .push(e);
        }
        for (plane, events) in by_plane {
            let inputs = self.planes.entry(plane).or_default();
            inputs
                .dap
                .push(Dap::compensated_sum(events.iter().filter_map(|e| e.dap)));
            inputs.ka_r.push(AirKerma::compensated_sum(
                events.iter().filter_map(|e| e.ka_r),
            ));
            inputs.fluoro.push(None);
            inputs.frames.push(None);
        }
    }

    /// Reports that overlap partially: counted from the union of their events by event UID,
    /// the first report's values kept when two disagree.
    pub(super) fn add_merged(&mut self, reports: &[&DoseReport]) {
        let mut seen: HashMap<&str, &IrradiationEvent> = HashMap::new();
        let mut union: Vec<&IrradiationEvent> = Vec::new();
        for r in reports {
            self.room.report(&r.device);
            self.reference_point(&r.planes);
            for e in &r.events {
                match e.uid.as_deref() {
                    Some(u) => match seen.get(u) {
                        Some(prev) => {
                            if prev.dap != e.dap || prev.ka_r != e.ka_r {
                                self.warn(ProcedureWarning::EventValuesDiffer {
                                    event: u.to_owned(),
                                    kept: prev.dap,
                                    other: e.dap,
                                });
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
        self.count_events(&union);
        self.add_event_sums(&union);
    }

    /// The header DAP of events no RDSR covers, one value per event, on the single plane.
    pub(super) fn add_header_events(&mut self, events: &BTreeMap<String, Dap>) {
        if events.is_empty() {
            return;
        }
        self.sources.add(Provenance::ImageHeaders);
        self.partial = true;
        self.events.from_images += events.len();
        let dap: Dap = events.values().sum();
        let inputs = self.planes.entry(Plane::Single).or_default();
        // Header DAP adds to whatever the RDSRs gave for this procedure.
        inputs.dap.push(Some(dap));
    }

    /// The procedure of (Patient ID, Study Instance UID) `key`, without its id.
    pub(super) fn build(mut self, key: (Option<String>, Option<String>)) -> Procedure {
        let identity = self.identity.take().unwrap_or_default();
        let planes: Vec<ProcedurePlane> = self
            .planes
            .iter()
            .map(|(plane, inputs)| ProcedurePlane {
                plane: *plane,
                dap: all_some(&inputs.dap),
                ka_r: all_some(&inputs.ka_r),
                fluoro_time: all_some(&inputs.fluoro),
                acquisition_frames: if inputs.frames.iter().any(Option::is_none) {
                    None
                } else {
                    Some(inputs.frames.iter().flatten().sum())
                },
            })
            .collect();
        let dap_total = all_some(&planes.iter().map(|p| p.dap).collect::<Vec<_>>());
        let ka_r_sum = all_some(&planes.iter().map(|p| p.ka_r).collect::<Vec<_>>());
        let fluoro_time = all_some(&planes.iter().map(|p| p.fluoro_time).collect::<Vec<_>>());
        let frames = if planes.iter().any(|p| p.acquisition_frames.is_none()) || planes.is_empty() {
            None
        } else {
            Some(planes.iter().filter_map(|p| p.acquisition_frames).sum())
        };
        let completeness = if planes.is_empty() || dap_total.is_none() {
            Completeness::Unknown
        } else if self.partial {
            Completeness::Partial
        } else {
            Completeness::Complete
        };
        let room = self.room.room();
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
            source: self.sources.provenance(),
            completeness,
            reference_point_standard: self.rp_seen && self.rp_standard,
            total_versus_events: self.tve,
            files: self.files,
            warnings: self.warnings,
            identity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(kinds: &[Provenance]) -> Provenance {
        let mut s = Sources::default();
        for &k in kinds {
            s.add(k);
        }
        s.provenance()
    }

    #[test]
    fn provenance_of_mixed_sources() {
        use Provenance::*;
        assert_eq!(sources(&[RdsrTotal]), RdsrTotal);
        assert_eq!(sources(&[RdsrTotal, RdsrEventSum]), RdsrEventSum);
        assert_eq!(sources(&[RdsrTotal, ImageHeaders]), ImageHeaders);
        assert_eq!(sources(&[VendorSummary, ImageHeaders]), ImageHeaders);
        assert_eq!(sources(&[VendorSummary, RdsrEventSum]), VendorSummary);
        assert_eq!(sources(&[ImageHeaders]), ImageHeaders);
        assert_eq!(sources(&[]), VendorSummary);
    }

    #[test]
    fn a_plane_figure_needs_every_contribution() {
        let a = Dap::try_from_gy_m2(1.0).ok();
        let b = Dap::try_from_gy_m2(2.0).ok();
        assert_eq!(all_some(&[a, b]).map(Dap::as_gy_m2), Some(3.0));
        assert_eq!(all_some(&[a, None]), None);
        assert_eq!(all_some::<Dap>(&[]), None);
    }
}
