//! Skin dose: per procedure the peak skin dose (PSD), where it is, and a dose map on a
//! phantom, from each irradiation event's K_a,r and geometry; or, when the geometry cannot
//! place the beam on the patient, a conservative upper bound and the reason.
//!
//! Per event, the beam is a pyramid from the focal spot through the collimated field
//! ([`FieldSize`]), turned by the positioner angles (PS3.3 C.8.7.5.1.2) about the isocentre;
//! the patient phantom ([`PhantomModel`]) lies on the table whose position the RDSR gives,
//! placed by the room's table zero and signs ([`RoomGeometry`]). Each skin cell the beam
//! enters receives
//!
//! K_a,r × calibration × (d_ref / d)² × BSF(kVp, HVL, field side at the cell) ×
//! (μen/ρ)water/air × table-and-pad transmission (where the ray crosses the table),
//!
//! with d the focal spot–cell distance, d_ref the focal spot–reference point distance, the
//! HVL from kVp and filtration, BSF and μen/ρ from Benmakhlouf et al. 2011 and 2013 (tables
//! bundled in `src/skin/data/` with their sources). Rotational runs with an end angle are
//! split into sub-beams every 5° or less.
//!
//! The bound assumes every event on one spot of skin at its reference point with the largest
//! BSF × μen/ρ of its beam quality and no table; with a map, the bound is also at least the
//! sum of each event's largest cell dose, so it is never below the map's PSD. It is labelled
//! a bound: skin nearer the source than the reference point would receive more.
//!
//! Not modelled: table tilts and rotation (an event with one above 1° gives no map), the
//! heel effect, the dose outside the field, the patient's real shape; PySkinDose's
//! documented simplifications are the same or larger.
//!
//! ```
//! use kerma::skin::{estimate, Method, Settings, SkinEvent, SkinInput};
//! let settings = Settings::from_json(r#"{"kerma_skin_settings": 1,
//!     "phantom": {"model": "plane"},
//!     "rooms": [{"manufacturer": "Acme", "models": ["X1"], "table_transmission": 1.0,
//!                "table_zero_cm": {"x": 0, "y": 10, "z": 60}}]}"#)?;
//! let mut e = SkinEvent::default();
//! e.ka_r = kerma::AirKerma::try_from_mgy(1000.0).ok();
//! e.kvp_kv = Some(80.0);
//! (e.primary_deg, e.secondary_deg) = (Some(0.0), Some(0.0));
//! e.source_to_isocenter_cm = Some(80.0);
//! e.source_to_detector_cm = Some(120.0);
//! e.field_area_cm2 = Some(400.0);
//! (e.table_longitudinal_mm, e.table_lateral_mm, e.table_height_mm) = (Some(0.0), Some(0.0), Some(0.0));
//! let mut input = SkinInput::default();
//! input.manufacturer = Some("Acme".into());
//! input.model = Some("X1".into());
//! input.events = vec![e];
//! let skin = estimate(&input, &settings);
//! assert_eq!(skin.method, Method::Map);
//! // The skin lies 6 cm below the isocentre (table top 10 cm, pad 4 cm): 74 cm from the source,
//! // 9 cm beyond the reference point: about 0.77 × 1000 mGy × BSF × μen/ρ.
//! let psd = skin.psd_mgy.unwrap();
//! assert!(psd > 1000.0 && psd < 1300.0, "{psd}");
//! assert!(skin.upper_bound_mgy.unwrap() >= psd);
//! # Ok::<(), kerma::skin::SettingsError>(())
//! ```

mod collect;
mod dose;
mod factors;
mod geometry;
mod input;
mod phantom;
mod settings;

use std::collections::HashSet;

pub use collect::SkinInputs;
pub use geometry::Orientation;
pub use input::SkinEvent;
pub use phantom::{PhantomModel, PhantomSize};
pub use settings::{FieldSize, RoomGeometry, Settings, SettingsError, Table};

use crate::extract::Identity;
use crate::rdsr::DoseReport;

/// One procedure's input: its device, its patient's size and its events.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SkinInput {
    /// Manufacturer of the recording device.
    pub manufacturer: Option<String>,
    /// Its model name.
    pub model: Option<String>,
    /// Patient's Size (0010,1020), m.
    pub patient_size_m: Option<f64>,
    /// Patient's Weight (0010,1030), kg.
    pub patient_weight_kg: Option<f64>,
    /// The irradiation events, each once.
    pub events: Vec<SkinEvent>,
}

impl SkinInput {
    /// The input of a procedure's RDSRs (each with the header of its file): the device and
    /// patient of the first that has them, and the union of their events by Irradiation Event
    /// UID (the first report's copy kept; events without a UID all kept).
    pub fn from_reports<'a>(
        reports: impl IntoIterator<Item = (&'a DoseReport, &'a Identity)>,
    ) -> SkinInput {
        let mut input = SkinInput::default();
        let mut seen: HashSet<&str> = HashSet::new();
        for (r, id) in reports {
            input.manufacturer = input
                .manufacturer
                .take()
                .or_else(|| r.device.manufacturer.clone())
                .or_else(|| id.manufacturer.clone());
            input.model = input
                .model
                .take()
                .or_else(|| r.device.model.clone())
                .or_else(|| id.model.clone());
            input.patient_size_m = input.patient_size_m.or(id.patient_size_m);
            input.patient_weight_kg = input.patient_weight_kg.or(id.patient_weight_kg);
            for e in &r.events {
                if e.uid.as_deref().is_none_or(|u| seen.insert(u)) {
                    input.events.push(SkinEvent::from_event(e));
                }
            }
        }
        input
    }
}

/// How the PSD was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Method {
    /// The maximum of a dose map on the phantom.
    Map,
    /// A conservative upper bound (every field on the same skin); no map.
    UpperBound,
}

impl Method {
    /// `map` or `upper_bound`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Map => "map",
            Method::UpperBound => "upper_bound",
        }
    }
}

/// Where the peak is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Location {
    /// Body region and side, e.g. `thorax, back` (a rough label from the position on the
    /// phantom).
    pub region: String,
    /// Across the body on the unrolled map, cm: plane, from its centre line (positive to the
    /// patient's left); cylinder, arc length from the back's midline (positive to the left).
    pub across_cm: f64,
    /// From the phantom's head end, cm.
    pub from_head_cm: f64,
}

/// The dose map on the unrolled phantom: `rows` from head to feet, `columns` across (plane:
/// patient's right to left; cylinder: from the back's midline towards the left, round to the
/// back again).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct DoseMap {
    /// Cells across.
    pub columns: u32,
    /// Cells from head to feet.
    pub rows: u32,
    /// Width of a column, cm.
    pub across_step_cm: f64,
    /// Height of a row, cm.
    pub down_step_cm: f64,
    /// Dose per cell, row by row, mGy.
    pub dose_mgy: Vec<f32>,
}

/// The skin-dose result of one procedure.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct SkinDose {
    /// Peak skin dose, mGy: the map's maximum, or the bound when there is no map; `None`
    /// when no event has a K_a,r.
    pub psd_mgy: Option<f64>,
    /// Map or bound.
    pub method: Method,
    /// The phantom of the map.
    pub phantom: Option<PhantomSize>,
    /// Where the peak is (map only).
    pub location: Option<Location>,
    /// Skin area at or above 2 Gy, cm² (map only).
    pub area_above_2gy_cm2: Option<f64>,
    /// Skin area at or above 5 Gy, cm² (map only).
    pub area_above_5gy_cm2: Option<f64>,
    /// Events whose beam enters the peak cell (map only).
    pub events_at_peak: Option<usize>,
    /// Why there is no map (or no value).
    pub reason: Option<String>,
    /// The conservative bound, mGy (always, when an event has a K_a,r).
    pub upper_bound_mgy: Option<f64>,
    /// Events with a K_a,r, counted in the result.
    pub events_used: usize,
    /// Source of the room geometry used for the map.
    pub room_geometry: Option<String>,
    /// Where the settings come from.
    pub settings: String,
    /// The map itself.
    #[serde(skip)]
    pub map: Option<DoseMap>,
}

impl SkinDose {
    fn empty(settings: &Settings) -> SkinDose {
        SkinDose {
            psd_mgy: None,
            method: Method::UpperBound,
            phantom: None,
            location: None,
            area_above_2gy_cm2: None,
            area_above_5gy_cm2: None,
            events_at_peak: None,
            reason: None,
            upper_bound_mgy: None,
            events_used: 0,
            room_geometry: None,
            settings: settings.source.clone(),
            map: None,
        }
    }
}

/// The skin dose of one procedure: a map and its maximum when the room's geometry places
/// every event's beam on the phantom, else the conservative bound and the reason (see the
/// module's documentation).
pub fn estimate(input: &SkinInput, settings: &Settings) -> SkinDose {
    dose::run(input, settings, true)
}
