//! What grouping says about a procedure besides its figures.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::units::Dap;

/// A procedure-level warning: a conflict between its files, or a doubt about its identity.
/// Its [`Display`](fmt::Display) is one sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProcedureWarning {
    /// Reports that share some events but not all: totals come from the union of their events.
    PartialOverlap {
        /// The reports' labels.
        reports: Vec<String>,
    },
    /// One Irradiation Event UID with different DAP or K_a,r in two reports.
    EventValuesDiffer {
        /// The Irradiation Event UID.
        event: String,
        /// The DAP of the report kept.
        kept: Option<Dap>,
        /// The DAP of the other report.
        other: Option<Dap>,
    },
    /// Images of one irradiation event with different header DAP (0018,115E).
    ImagesDisagree {
        /// The Irradiation Event UID (0008,3010), else the image's SOP Instance UID or label.
        event: String,
        /// The DAP kept so far.
        kept: Dap,
        /// The image's DAP.
        other: Dap,
    },
    /// Another patient has a procedure with the same Study Instance UID; they are not merged.
    SharedStudyUid,
    /// Another procedure has the same room, first event time and DAP: perhaps a re-anonymised
    /// copy of the same exam; they are not merged.
    PossibleCopy,
}

impl fmt::Display for ProcedureWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcedureWarning::PartialOverlap { reports } => write!(
                f,
                "reports {} overlap partially: totals from the union of their events",
                reports.join(", ")
            ),
            ProcedureWarning::EventValuesDiffer { event, kept, other } => write!(
                f,
                "event {event} has different values in two reports (DAP {:?} vs {:?}); the first is kept",
                kept.map(Dap::as_gy_cm2),
                other.map(Dap::as_gy_cm2)
            ),
            ProcedureWarning::ImagesDisagree { event, kept, other } => write!(
                f,
                "images of event {event} disagree on (0018,115E): {kept} vs {other}; the larger is kept"
            ),
            ProcedureWarning::SharedStudyUid => {
                f.write_str("another patient has the same Study Instance UID: not merged")
            }
            ProcedureWarning::PossibleCopy => f.write_str(
                "same room, first event time and DAP as another procedure: possibly a re-anonymised copy (not merged)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences() -> Result<(), crate::units::QuantityError> {
        let w = ProcedureWarning::PartialOverlap {
            reports: vec!["a.dcm".into(), "b.dcm".into()],
        };
        assert_eq!(
            w.to_string(),
            "reports a.dcm, b.dcm overlap partially: totals from the union of their events"
        );
        let w = ProcedureWarning::EventValuesDiffer {
            event: "1.2.3".into(),
            kept: Some(Dap::try_from_gy_m2(0.5)?),
            other: None,
        };
        assert_eq!(
            w.to_string(),
            "event 1.2.3 has different values in two reports (DAP Some(5000.0) vs None); the first is kept"
        );
        let w = ProcedureWarning::ImagesDisagree {
            event: "1.2.4".into(),
            kept: Dap::try_from_gy_m2(0.25)?,
            other: Dap::try_from_gy_m2(0.5)?,
        };
        assert_eq!(
            w.to_string(),
            "images of event 1.2.4 disagree on (0018,115E): 2500 Gy·cm² vs 5000 Gy·cm²; the larger is kept"
        );
        Ok(())
    }
}
