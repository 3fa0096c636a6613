//! Reference levels: DRL statistics and comparison, trigger-level alerts, procedure typing.
//!
//! The flow is: [`SurveyRecord`]s (one per de-duplicated procedure) → [`Survey`], which types
//! each procedure with a [`ProcedureMapping`], groups them by procedure type and room,
//! computes statistics of P_KA (Gy·cm²), K_a,r (mGy), fluoroscopy time (min) and number of
//! acquisition images, compares group medians with the reference levels of
//! [`ReferenceTables`], and checks every procedure and every patient's rolling sums against
//! trigger levels → [`SurveyReport`], whose rows ([`DrlRow`], [`AlertRow`],
//! [`TriggerProportionRow`], [`PatientCumulativeRow`], [`ProcedureTypeRow`]) are flat and
//! serialize to JSON and CSV.
//!
//! Rules kept throughout:
//!
//! * every reference or trigger value comes from a table with a source id: the bundled
//!   copies of `data/reference-levels/` (described in `SOURCES.md` there) or a user file;
//!   kerma has no value of its own;
//! * a DRL is compared with the median of a sample, never with one patient; an exceedance is
//!   median > DRL;
//! * incomplete totals, and K_a,r at a non-standard reference point, are left out of the
//!   statistics and counted; unmatched and multi-type procedures are listed, never dropped,
//!   and their texts counted ([`UnmatchedDescriptionRow`]) for the user's mapping file;
//! * a K_a,r not at the interventional reference point raises no trigger-level alert and
//!   enters no cumulative K_a,r sum, and a possible re-anonymised copy of a procedure already
//!   counted enters no cumulative sum: a note says so each time ([`AlertReport::notes`]).

mod alerts;
mod catalog;
mod check;
mod config;
mod csvfile;
mod cumulative;
mod date;
mod drl;
mod error;
mod mapping;
mod pattern;
mod quantity;
mod record;
mod stats;
mod survey;
mod tables;
mod unmatched;

pub use alerts::{AlertReport, AlertRow, TriggerProportionRow};
pub use catalog::{Jurisdiction, ProcedureType};
pub use check::{TableKind, TableRemark, check_table};
pub use config::{MinSampleSize, SurveyConfig};
pub use cumulative::PatientCumulativeRow;
pub use drl::{DrlRow, GroupScope, Verdict};
pub use error::ReferenceError;
pub use mapping::{Classification, MatchStatus, ProcedureMapping, ProcedureText, TextField};
pub use quantity::{DrlQuantity, LevelValue};
pub use record::SurveyRecord;
pub use survey::{Exclusion, ExclusionCounts, ProcedureTypeRow, Survey, SurveyReport};
pub use tables::{ReferenceLevel, ReferenceTables, TriggerLevel};
pub use unmatched::UnmatchedDescriptionRow;
