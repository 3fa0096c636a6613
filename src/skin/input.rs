//! The skin stage's input: per irradiation event the beam's dose, quality and geometry, with
//! units in their names, built from the RDSR's events.

use crate::codes::Code;
use crate::geometry::PatientPosition;
use crate::rdsr::{EventCategory, Filter, IrradiationEvent, Plane, ReferencePoint};
use crate::units::{AirKerma, Angle, Dap, Length};

use super::geometry::Orientation;

/// One irradiation event as the skin-dose estimate sees it. Every field is optional except
/// what the estimate cannot do without (K_a,r); [`SkinEvent::from_event`] fills it from an
/// [`IrradiationEvent`].
///
/// ```
/// let mut e = kerma::skin::SkinEvent::default();
/// e.ka_r = kerma::AirKerma::try_from_mgy(100.0).ok();
/// e.kvp_kv = Some(80.0);
/// assert!(e.ka_r.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SkinEvent {
    /// Irradiation Event UID (113769).
    pub uid: Option<String>,
    /// Acquisition plane (113764).
    pub plane: Option<Plane>,
    /// Dose (RP) (113738).
    pub ka_r: Option<AirKerma>,
    /// Dose Area Product (122130).
    pub dap: Option<Dap>,
    /// KVP (113733), mean over pulses, kV.
    pub kvp_kv: Option<f64>,
    /// Added copper filtration (113771, copper), mean of minimum and maximum thickness, mm.
    pub copper_mm: f64,
    /// Added aluminium filtration, likewise, mm (the tube's inherent filtration is a setting).
    pub aluminium_mm: f64,
    /// Positioner Primary Angle (112011), degrees as written.
    pub primary_deg: Option<f64>,
    /// Positioner Secondary Angle (112012), degrees as written.
    pub secondary_deg: Option<f64>,
    /// Positioner Primary End Angle (113739), degrees.
    pub primary_end_deg: Option<f64>,
    /// Positioner Secondary End Angle (113740), degrees.
    pub secondary_end_deg: Option<f64>,
    /// Whether the event is a rotational acquisition (113613).
    pub rotational: bool,
    /// Distance Source to Isocenter (113748), cm.
    pub source_to_isocenter_cm: Option<f64>,
    /// Distance Source to Reference Point (113737), cm.
    pub source_to_reference_point_cm: Option<f64>,
    /// Distance Source to Detector (113750), cm.
    pub source_to_detector_cm: Option<f64>,
    /// Reference Point Definition (113780).
    pub reference_point: Option<ReferencePoint>,
    /// Collimated Field Width (113789) at the image receptor, cm.
    pub field_width_cm: Option<f64>,
    /// Collimated Field Height (113788) at the image receptor, cm.
    pub field_height_cm: Option<f64>,
    /// Collimated Field Area (113790) at the image receptor, cm².
    pub field_area_cm2: Option<f64>,
    /// Table Longitudinal Position (113751), mm.
    pub table_longitudinal_mm: Option<f64>,
    /// Table Lateral Position (113752), mm.
    pub table_lateral_mm: Option<f64>,
    /// Table Height Position (113753), mm.
    pub table_height_mm: Option<f64>,
    /// Table Head Tilt Angle (113754), degrees.
    pub table_head_tilt_deg: Option<f64>,
    /// Table Horizontal Rotation Angle (113755), degrees.
    pub table_horizontal_rotation_deg: Option<f64>,
    /// Table Cradle Tilt Angle (113756), degrees.
    pub table_cradle_tilt_deg: Option<f64>,
    /// How the patient lies (the reader's patient position: the event's codes, else the
    /// Siemens report's comment); `None` when not given or not modelled (decubitus).
    pub orientation: Option<Orientation>,
    /// The report's table positions are not in the beam's frame (Philips Azurion): no map.
    pub table_not_in_beam_frame: bool,
}

fn is_code(c: &Code, options: &[(&str, &str)]) -> bool {
    options
        .iter()
        .any(|(v, s)| c.value() == *v && c.scheme() == *s)
}

/// Copper: SRT C-127F9 (as files write it), SCT 66925006 (CID 10006).
const COPPER: [(&str, &str); 3] = [("C-127F9", "SRT"), ("66925006", "SCT"), ("C-127F9", "SNM3")];
/// Aluminium: SRT C-120F9, SCT 12503006 (CID 10006), SCT 105830007 (pydicom's mapping of
/// C-120F9), GEOMETRY.md §1.
const ALUMINIUM: [(&str, &str); 4] = [
    ("C-120F9", "SRT"),
    ("12503006", "SCT"),
    ("105830007", "SCT"),
    ("C-120F9", "SNM3"),
];

/// A filter's thickness: the mean of minimum and maximum (PySkinDose's choice for wedges),
/// else the one given.
fn thickness_mm(f: &Filter) -> f64 {
    let t = match (f.thickness_min_mm, f.thickness_max_mm) {
        (Some(a), Some(b)) => (a + b) / 2.0,
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => 0.0,
    };
    if t.is_finite() && t > 0.0 { t } else { 0.0 }
}

impl SkinEvent {
    /// The skin input of one RDSR event: dose, quality, filters, angles, distances and field
    /// area as the reader gives them.
    pub fn from_event(e: &IrradiationEvent) -> SkinEvent {
        let mut copper_mm = 0.0;
        let mut aluminium_mm = 0.0;
        for f in &e.filters {
            match &f.material {
                Some(m) if is_code(m, &COPPER) => copper_mm += thickness_mm(f),
                Some(m) if is_code(m, &ALUMINIUM) => aluminium_mm += thickness_mm(f),
                _ => {}
            }
        }
        let rotational = e.category == EventCategory::Acquisition
            && e.event_type
                .as_ref()
                .is_some_and(|c| c.value() == "113613" && c.scheme() == "DCM");
        let g = &e.geometry;
        let deg = |a: Option<Angle>| a.map(Angle::as_deg).filter(|v| v.is_finite());
        let len_cm = |l: Option<Length>| l.map(Length::as_cm).filter(|v| v.is_finite());
        let pos_mm = |l: Option<Length>| l.map(Length::as_mm).filter(|v| v.is_finite());
        SkinEvent {
            uid: e.uid.clone(),
            plane: e.plane,
            ka_r: e.ka_r,
            dap: e.dap,
            kvp_kv: e
                .kvp
                .as_ref()
                .and_then(|k| k.mean_nonzero())
                .filter(|k| k.is_finite() && *k > 0.0),
            copper_mm,
            aluminium_mm,
            primary_deg: deg(g.primary_angle),
            secondary_deg: deg(g.secondary_angle),
            primary_end_deg: deg(g.primary_angle_end),
            secondary_end_deg: deg(g.secondary_angle_end),
            rotational,
            source_to_isocenter_cm: len_cm(g.source_to_isocenter),
            source_to_reference_point_cm: len_cm(g.source_to_reference_point),
            source_to_detector_cm: len_cm(g.source_to_detector),
            reference_point: e.reference_point.clone(),
            field_width_cm: len_cm(g.field_width),
            field_height_cm: len_cm(g.field_height),
            field_area_cm2: e
                .field_area_m2
                .filter(|a| a.is_finite() && *a > 0.0)
                .map(|a| a * 1e4),
            table_longitudinal_mm: pos_mm(g.table_longitudinal),
            table_lateral_mm: pos_mm(g.table_lateral),
            table_height_mm: pos_mm(g.table_height),
            table_head_tilt_deg: deg(g.table_head_tilt),
            table_horizontal_rotation_deg: deg(g.table_horizontal_rotation),
            table_cradle_tilt_deg: deg(g.table_cradle_tilt),
            orientation: orientation(g.patient_position),
            table_not_in_beam_frame: g.table_not_in_beam_frame,
        }
    }
}

/// The reader's patient position as the skin estimate models it: supine or prone, head or
/// feet first; `None` for the decubitus positions (not modelled).
fn orientation(p: Option<PatientPosition>) -> Option<Orientation> {
    match p? {
        PatientPosition::HeadFirstSupine => Some(Orientation::HeadFirstSupine),
        PatientPosition::FeetFirstSupine => Some(Orientation::FeetFirstSupine),
        PatientPosition::HeadFirstProne => Some(Orientation::HeadFirstProne),
        PatientPosition::FeetFirstProne => Some(Orientation::FeetFirstProne),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_thickness_is_the_mean() {
        let f = Filter {
            filter_type: None,
            material: Some(Code::new("C-127F9", "SRT", "Copper or Copper compound")),
            thickness_min_mm: Some(0.0),
            thickness_max_mm: Some(1.0),
        };
        assert_eq!(thickness_mm(&f), 0.5);
        assert!(is_code(f.material.as_ref().unwrap(), &COPPER));
    }

    #[test]
    fn positions_the_estimate_models() {
        assert_eq!(
            orientation(Some(PatientPosition::FeetFirstProne)),
            Some(Orientation::FeetFirstProne)
        );
        assert_eq!(
            orientation(Some(PatientPosition::HeadFirstDecubitusLeft)),
            None
        );
        assert_eq!(orientation(None), None);
    }
}
