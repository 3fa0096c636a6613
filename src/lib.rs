//! # kerma
//!
//! Patient radiation-dose tracking for fluoroscopy and angiography: reads X-Ray Radiation
//! Dose Structured Reports (RDSR, TID 10001) and XA/RF image headers, extracts dose-area
//! product, air kerma at the reference point, fluoroscopy time and acquisition counts per
//! plane and per irradiation event, with units that cannot be confused.
//!
//! The data flows through one module per stage:
//!
//! 1. bytes → DICOM elements: a bounded, zero-copy scanner that stops at Pixel Data
//!    (deflated data sets are inflated as they are read, within [`Limits`]);
//! 2. elements → SR content items (matched by code value and scheme, never by meaning);
//! 3. content items / header attributes → typed dose records ([`DoseReport`], [`ImageDose`]),
//!    one [`Extraction`] per file ([`extract_path`], [`extract_bytes`], [`extract_reader`],
//!    [`extract_object`]; a folder through [`walk_inputs`] and [`scan`]);
//! 4. records → procedures, without double counting ([`Procedures`] → [`ProcedureSet`]);
//! 5. procedures → reference levels, statistics and alerts (the [`reference`](mod@reference) module);
//! 6. everything → flat rows for JSON and CSV (the [`report`] module).
//! 7. rows → Arrow record batches and Parquet files (the `columnar` module, feature `parquet`).
//!
//! The crate root holds the entry points and the types they return; quantities are
//! [`Dap`] and [`AirKerma`], whose units cannot be confused. What kerma tolerated in a file
//! is a [`Warning`]; why it could not read one is an [`Error`].
//!
//! Memory: a file's bytes and its element index live only while it is extracted; results own
//! their data. Each thread keeps the index storage of the largest file it has read (at most
//! 4 MiB per table) for its next file, so that scanning a folder allocates it once per
//! thread; it is freed when the thread ends.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bytes = include_bytes!("../testdata/rdsr_canon_dgycm2_mgy.dcm");
//! let x = kerma::extract_bytes(bytes)?;
//! assert_eq!(x.outcome, kerma::Outcome::Dose);
//! let report = x.report.ok_or("not an RDSR")?;
//! for plane in &report.planes {
//!     // DAP was written in dGy.cm2 and Dose (RP) in mGy: converted by their unit codes.
//!     if let (Some(dap), Some(ka_r)) = (plane.dap_total, plane.ka_r_total) {
//!         println!("{:?}: {:.2} and {:.2}", plane.plane, dap, ka_r);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(missing_debug_implementations)]

mod codes;
#[cfg(feature = "parquet")]
pub mod columnar;
mod csvfile;
mod dataset;
mod deflate;
mod error;
mod extract;
mod geometry;
mod image;
mod input;
#[cfg(feature = "receiver")]
pub mod net;
mod procedure;
mod rdsr;
pub mod reference;
#[cfg(feature = "registry")]
pub mod registry;
pub mod report;
mod scan;
pub mod skin;
mod sr;
mod units;
mod value;
mod warning;

pub use codes::{Code, Concept};
pub use dataset::Limits;
pub use error::{Error, ParseError, Result};
pub use extract::{
    Extraction, Extractor, Identity, ObjectKind, Outcome, extract_bytes, extract_object,
    extract_path, extract_reader,
};
pub use geometry::{Geometry, PatientPosition};
pub use image::{FrameDose, ImageDose};
pub use procedure::{
    Accounting, Completeness, EventCounts, Fate, FileAccount, Procedure, ProcedurePlane,
    ProcedureSet, ProcedureWarning, Procedures, Room, RoomList, RoomSummary, RoomTable,
    RoomTableError, TotalVersusEvents,
};
pub use rdsr::{
    Device, DoseReport, EventCategory, Filter, IrradiationEvent, Plane, PlaneDose, Provenance,
    ReferencePoint, Scope,
};
pub use scan::{Input, Origin, Skip, WalkError, scan, walk_inputs};
pub use sr::Technique;
pub use units::{AirKerma, Angle, Dap, Length, QuantityError};
pub use value::Attr;
pub use warning::Warning;

/// dicom-object is part of the public API ([`extract_object`]); re-exported for convenience.
pub use dicom_object;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// For the `code_table` fuzz target only (built with `--cfg fuzzing`): reads `bytes` with
/// and without the scanner's code table, under `limits`, and panics if the two disagree.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn fuzz_code_table(bytes: &[u8], limits: &Limits) {
    dataset::differential::read_alike(bytes, limits);
}

/// For the `extract_bytes` and `sr_tree` fuzz targets only (built with `--cfg fuzzing`):
/// extracts `bytes` with the root's content items read during the scan and from the whole
/// tree after it, under `limits`, and panics if the two disagree.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn fuzz_root_visitor(bytes: &[u8], limits: &Limits) {
    extract::assert_visiting_reads_alike(bytes, limits);
}
