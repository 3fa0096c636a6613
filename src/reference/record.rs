//! One procedure as the survey sees it, and its value for each surveyed quantity.

use std::time::Duration;

use super::mapping::{ProcedureText, TextField};
use super::quantity::{DrlQuantity, minutes};
use crate::procedure::{Completeness, Procedure, ProcedureWarning};
use crate::units::{AirKerma, Dap};

/// One de-duplicated procedure, as the survey sees it.
///
/// The caller (procedure grouping) builds one record per procedure after de-duplication;
/// the survey itself de-duplicates again by `procedure_id`, keeping the first record added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SurveyRecord {
    /// Unique identifier of the procedure (the de-duplication key).
    pub procedure_id: String,
    /// Patient ID (0010,0020); needed for per-patient cumulative sums.
    pub patient_id: Option<String>,
    /// Room: a key of the recording device (Device Observer UID (121012, PS3.16 TID 1004),
    /// else Manufacturer (0008,0070), Manufacturer's Model Name (0008,1090) and Device
    /// Serial Number (0018,1000), else Station Name (0008,1010)).
    pub room: String,
    /// The room's name as outputs show it (Station Name, Device Observer Name…); empty
    /// when the caller has none, and then `room` is shown.
    pub room_name: String,
    /// Study date, DICOM DA `YYYYMMDD`.
    pub date: Option<String>,
    /// Patient age in years, for the adult filter.
    pub patient_age_years: Option<f64>,
    /// Study description, requested and performed procedure descriptions, procedure codes
    /// and protocol names, each with its field. Used for procedure typing and reported
    /// verbatim.
    pub texts: Vec<ProcedureText>,
    /// Procedure total kerma-area product P_KA (planes summed).
    pub dap: Option<Dap>,
    /// Sum of the planes' K_a,r (named as such: for a biplane procedure it describes no
    /// single point).
    pub ka_r: Option<AirKerma>,
    /// Total fluoroscopy time.
    pub fluoro_time: Option<Duration>,
    /// Number of acquisition images (frames).
    pub acquisition_frames: Option<u64>,
    /// Whether the totals come from RDSR accumulated data (PS3.16 TID 10002) that cover the
    /// whole procedure, with every plane present. Incomplete procedures are left out of the
    /// DRL statistics and counted.
    pub complete: bool,
    /// Whether K_a,r refers to the interventional reference point (IEC 60601-2-43); if not,
    /// K_a,r is left out of the DRL statistics (and counted), raises no trigger-level alert
    /// (a note says so) and is left out of the patient's cumulative K_a,r sums.
    pub ka_r_comparable: bool,
    /// Start (DT) of the first irradiation event, when known.
    pub first_event: Option<String>,
    /// Whether procedure grouping flags this procedure as a possible re-anonymised copy of
    /// another: the same room, first event time and P_KA under another study. Of a
    /// patient's flagged procedures with equal `room`, `first_event` and `dap`, the
    /// cumulative sums count only the first (by date, then id), and a note names the others.
    pub possible_copy: bool,
    /// Peak skin dose, mGy, from the skin-dose estimate ([`crate::skin`]), when the caller
    /// computed one.
    pub peak_skin_dose_mgy: Option<f64>,
    /// Whether `peak_skin_dose_mgy` is the conservative upper bound (every field on the same
    /// skin) rather than the maximum of a dose map.
    pub peak_skin_dose_is_bound: bool,
}

impl SurveyRecord {
    /// The record of a grouped procedure: its id, patient, room key, study date, age,
    /// texts (study and series descriptions as study descriptions, requested and performed
    /// procedure descriptions, procedure codes, protocol names), totals, completeness,
    /// reference point, first event and whether grouping flags it as a possible
    /// re-anonymised copy.
    pub fn from_procedure(p: &Procedure) -> SurveyRecord {
        let texts = p
            .descriptions()
            .into_iter()
            .filter_map(|(field, text)| {
                let field = match field {
                    "study_description" | "series_description" => TextField::StudyDescription,
                    "requested_procedure" => TextField::RequestedProcedureDescription,
                    "performed_procedure" => TextField::PerformedProcedureStepDescription,
                    "procedure_code" => TextField::ProcedureCode,
                    "protocol" => TextField::ProtocolName,
                    _ => return None,
                };
                Some(ProcedureText::new(field, text))
            })
            .collect();
        SurveyRecord {
            procedure_id: p.id.clone(),
            patient_id: p.patient_id.clone(),
            room: p.room.key.clone(),
            room_name: p.room.name.clone(),
            date: p.study_date.clone(),
            patient_age_years: p.identity.patient_age.as_deref().and_then(age_years),
            texts,
            dap: p.dap_total,
            ka_r: p.ka_r_sum_of_planes,
            fluoro_time: p.fluoro_time,
            acquisition_frames: p.acquisition_frames,
            complete: p.completeness == Completeness::Complete,
            ka_r_comparable: p.reference_point_standard,
            first_event: p.first_event.clone(),
            possible_copy: p.warnings.contains(&ProcedureWarning::PossibleCopy),
            peak_skin_dose_mgy: None,
            peak_skin_dose_is_bound: false,
        }
    }

    /// The room's name, else its key.
    pub(super) fn shown_room_name(&self) -> String {
        if self.room_name.is_empty() {
            self.room.clone()
        } else {
            self.room_name.clone()
        }
    }

    /// The record's value of `q` in the reporting unit of `q` ([`DrlQuantity::report_unit`]);
    /// `None` when the record has none (peak skin dose: when the caller gave none).
    pub(super) fn value(&self, q: DrlQuantity) -> Option<f64> {
        match q {
            DrlQuantity::Pka => self.dap.map(Dap::as_gy_cm2),
            DrlQuantity::KaR => self.ka_r.map(AirKerma::as_mgy),
            DrlQuantity::FluoroTime => self.fluoro_time.map(minutes),
            DrlQuantity::Images => self.acquisition_frames.map(|n| n as f64),
            DrlQuantity::PeakSkinDose => self.peak_skin_dose_mgy,
        }
    }
}

/// Patient's Age (0010,1010), AS `nnnD`, `nnnW`, `nnnM` or `nnnY`, in years.
fn age_years(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "Y" | "y" => n,
        "M" | "m" => n / 12.0,
        "W" | "w" => n * 7.0 / 365.25,
        "D" | "d" => n / 365.25,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(age_years("064Y"), Some(64.0));
        assert_eq!(age_years("006M"), Some(0.5));
        assert!((age_years("014D").unwrap() - 14.0 / 365.25).abs() < 1e-12);
        assert!((age_years("002W").unwrap() - 14.0 / 365.25).abs() < 1e-12);
        assert_eq!(age_years("Y"), None);
        assert_eq!(age_years(""), None);
        assert_eq!(age_years("12X"), None);
        assert_eq!(age_years("-1Y"), None);
    }

    #[test]
    fn values_are_in_the_reporting_units() {
        let r = SurveyRecord {
            dap: Some(Dap::try_from_mgy_cm2(2500.0).unwrap()),
            ka_r: Some(AirKerma::try_from_gy(1.5).unwrap()),
            fluoro_time: Some(Duration::from_secs(90)),
            acquisition_frames: Some(12),
            ..SurveyRecord::default()
        };
        let close = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < 1e-9 * want);
        // 2500 mGy·cm² = 2.5 Gy·cm²; 1.5 Gy = 1500 mGy; 90 s = 1.5 min
        assert!(close(r.value(DrlQuantity::Pka), 2.5));
        assert!(close(r.value(DrlQuantity::KaR), 1500.0));
        assert_eq!(r.value(DrlQuantity::FluoroTime), Some(1.5));
        assert_eq!(r.value(DrlQuantity::Images), Some(12.0));
        assert_eq!(r.value(DrlQuantity::PeakSkinDose), None);
        assert_eq!(SurveyRecord::default().value(DrlQuantity::Pka), None);
    }
}
