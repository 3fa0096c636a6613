//! Stage 3a, per event: the geometry of an irradiation event (PS3.16 TID 10003 and the
//! source and mechanical rows of TID 10003B / 10003C) as typed lengths, angles and codes.
//!
//! Every value is read by its own unit code ([`Length`] from `mm`, `cm` or `m`, [`Angle`] from
//! `deg`); an unknown unit leaves the value out with a [`Warning`], never a guess. The
//! meanings and signs are those of PS3.16 Table D-1 and PS3.3 C.8.7.5.1.2:
//!
//! * positioner primary angle: +90° = patient's left (LAO), −90° = patient's right (RAO);
//!   secondary angle: +90° = cranial;
//! * table positions are measured from "an arbitrary reference chosen by the equipment":
//!   their zero is the room's, not the patient's;
//! * table head tilt: positive = head end up; horizontal rotation: clockwise seen from above;
//!   cradle tilt: positive = the table's left side up.

use crate::codes::{self, Code};
use crate::sr::{Content, NumReader};
use crate::units::{Angle, Length};
use crate::warning::Warning;

/// The geometry of one irradiation event, as the report gives it.
///
/// `None` means not reported, reported empty (GE writes positioner angles with an empty
/// Measured Value Sequence and the qualifier "Value unknown"), or left out with a warning
/// (unknown unit, a field size that contradicts the field area). Positions keep the
/// equipment's own zero and sign: placing the patient needs the room's table zero.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bytes = include_bytes!("../testdata/rdsr_single_plane.dcm");
/// let report = kerma::extract_bytes(bytes)?.report.ok_or("not an RDSR")?;
/// for e in &report.events {
///     let g = &e.geometry;
///     if let (Some(a), Some(d)) = (g.primary_angle, g.source_to_isocenter) {
///         println!("{:.1} at {:.0}", a, d);
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Geometry {
    /// Positioner Primary Angle (112011): at the start of the event.
    pub primary_angle: Option<Angle>,
    /// Positioner Secondary Angle (112012): at the start of the event.
    pub secondary_angle: Option<Angle>,
    /// Positioner Primary End Angle (113739): at the end of the event (rotational runs).
    pub primary_angle_end: Option<Angle>,
    /// Positioner Secondary End Angle (113740): at the end of the event (rotational runs).
    pub secondary_angle_end: Option<Angle>,
    /// Column Angulation (113770): the beam's angle to the axis orthogonal to the detector.
    pub column_angulation: Option<Angle>,
    /// Table Longitudinal Position (113751), from the equipment's own zero.
    pub table_longitudinal: Option<Length>,
    /// Table Lateral Position (113752), from the equipment's own zero.
    pub table_lateral: Option<Length>,
    /// Table Height Position (113753), from the equipment's own zero, downward positive.
    pub table_height: Option<Length>,
    /// Table Longitudinal End Position (113759).
    pub table_longitudinal_end: Option<Length>,
    /// Table Lateral End Position (113760).
    pub table_lateral_end: Option<Length>,
    /// Table Height End Position (113761).
    pub table_height_end: Option<Length>,
    /// Table Head Tilt Angle (113754): positive = head end up.
    pub table_head_tilt: Option<Angle>,
    /// Table Horizontal Rotation Angle (113755): clockwise seen from above.
    pub table_horizontal_rotation: Option<Angle>,
    /// Table Cradle Tilt Angle (113756): positive = the table's left side up.
    pub table_cradle_tilt: Option<Angle>,
    /// Distance Source to Isocenter (113748).
    pub source_to_isocenter: Option<Length>,
    /// Distance Source to Reference Point (113737) of the event.
    pub source_to_reference_point: Option<Length>,
    /// Distance Source to Detector (113750).
    pub source_to_detector: Option<Length>,
    /// Distance Source to Table Plane (113792).
    pub source_to_table_plane: Option<Length>,
    /// Collimated Field Height (113788), projected at the detector plane. Left out (with a
    /// warning) when zero, or when height × width contradicts Collimated Field Area.
    pub field_height: Option<Length>,
    /// Collimated Field Width (113789), projected at the detector plane; left out as the height.
    pub field_width: Option<Length>,
    /// Patient Table Relationship (113745, CID 21): head first, feet first, …
    pub patient_table_relationship: Option<Code>,
    /// Patient Orientation (113743, CID 19): recumbent, erect, …
    pub patient_orientation: Option<Code>,
    /// Patient Orientation Modifier (113744, CID 20): supine, prone, …; read as the child of
    /// Patient Orientation or, as Canon writes it, as its sibling.
    pub patient_orientation_modifier: Option<Code>,
    /// The event carries Philips' private Beam Position container (014, 99PHI-IXR-XPER), as
    /// Philips Azurion writes: its table positions are not given in the beam's frame
    /// (PySkinDose issue 48), so they cannot place the patient without that private data.
    pub vendor_beam_position: bool,
}

impl Geometry {
    /// Reads one child of an event container if it is a geometry item of the DCM scheme
    /// (`value` is its concept's code value); returns whether it was one.
    pub(crate) fn read_item(
        &mut self,
        value: &[u8],
        c: &Content<'_, '_>,
        r: &mut NumReader,
    ) -> bool {
        use codes::*;
        let (slot, concept) = match value {
            b"112011" => return angle(&mut self.primary_angle, c, r, PRIMARY_ANGLE),
            b"112012" => return angle(&mut self.secondary_angle, c, r, SECONDARY_ANGLE),
            b"113739" => return angle(&mut self.primary_angle_end, c, r, PRIMARY_END_ANGLE),
            b"113740" => return angle(&mut self.secondary_angle_end, c, r, SECONDARY_END_ANGLE),
            b"113770" => return angle(&mut self.column_angulation, c, r, COLUMN_ANGULATION),
            b"113754" => return angle(&mut self.table_head_tilt, c, r, TABLE_HEAD_TILT_ANGLE),
            b"113755" => {
                return angle(
                    &mut self.table_horizontal_rotation,
                    c,
                    r,
                    TABLE_HORIZONTAL_ROTATION_ANGLE,
                );
            }
            b"113756" => {
                return angle(&mut self.table_cradle_tilt, c, r, TABLE_CRADLE_TILT_ANGLE);
            }
            b"113751" => (&mut self.table_longitudinal, TABLE_LONGITUDINAL_POSITION),
            b"113752" => (&mut self.table_lateral, TABLE_LATERAL_POSITION),
            b"113753" => (&mut self.table_height, TABLE_HEIGHT_POSITION),
            b"113759" => (
                &mut self.table_longitudinal_end,
                TABLE_LONGITUDINAL_END_POSITION,
            ),
            b"113760" => (&mut self.table_lateral_end, TABLE_LATERAL_END_POSITION),
            b"113761" => (&mut self.table_height_end, TABLE_HEIGHT_END_POSITION),
            b"113748" => {
                return distance(
                    &mut self.source_to_isocenter,
                    c,
                    r,
                    DISTANCE_SOURCE_TO_ISOCENTER,
                );
            }
            b"113737" => {
                return distance(
                    &mut self.source_to_reference_point,
                    c,
                    r,
                    DISTANCE_SOURCE_TO_RP,
                );
            }
            b"113750" => {
                return distance(
                    &mut self.source_to_detector,
                    c,
                    r,
                    DISTANCE_SOURCE_TO_DETECTOR,
                );
            }
            b"113792" => {
                return distance(
                    &mut self.source_to_table_plane,
                    c,
                    r,
                    DISTANCE_SOURCE_TO_TABLE_PLANE,
                );
            }
            b"113788" => {
                return distance(&mut self.field_height, c, r, COLLIMATED_FIELD_HEIGHT);
            }
            b"113789" => return distance(&mut self.field_width, c, r, COLLIMATED_FIELD_WIDTH),
            b"113745" => {
                return code(
                    &mut self.patient_table_relationship,
                    c,
                    r,
                    PATIENT_TABLE_RELATIONSHIP,
                );
            }
            b"113743" => {
                let found = code(&mut self.patient_orientation, c, r, PATIENT_ORIENTATION);
                if let Some(m) = c.child(PATIENT_ORIENTATION_MODIFIER) {
                    code(
                        &mut self.patient_orientation_modifier,
                        &m,
                        r,
                        PATIENT_ORIENTATION_MODIFIER,
                    );
                }
                return found;
            }
            b"113744" => {
                return code(
                    &mut self.patient_orientation_modifier,
                    c,
                    r,
                    PATIENT_ORIENTATION_MODIFIER,
                );
            }
            _ => return false,
        };
        if slot.is_some() {
            r.warnings.push(Warning::RepeatedItem { concept });
        } else {
            *slot = r.position(c, concept);
        }
        true
    }
}

fn angle(
    slot: &mut Option<Angle>,
    c: &Content<'_, '_>,
    r: &mut NumReader,
    concept: codes::Concept,
) -> bool {
    if slot.is_some() {
        r.warnings.push(Warning::RepeatedItem { concept });
    } else {
        *slot = r.angle(c, concept);
    }
    true
}

fn distance(
    slot: &mut Option<Length>,
    c: &Content<'_, '_>,
    r: &mut NumReader,
    concept: codes::Concept,
) -> bool {
    if slot.is_some() {
        r.warnings.push(Warning::RepeatedItem { concept });
    } else {
        *slot = r.distance(c, concept);
    }
    true
}

fn code(
    slot: &mut Option<Code>,
    c: &Content<'_, '_>,
    r: &mut NumReader,
    concept: codes::Concept,
) -> bool {
    if slot.is_some() {
        r.warnings.push(Warning::RepeatedItem { concept });
    } else {
        *slot = c.code().map(|x| r.codes.get(x));
    }
    true
}

/// Largest ratio, either way, between Collimated Field Height × Width and Collimated Field
/// Area before the two are taken to describe different planes. Both are defined at the image
/// receptor (PS3.16 Table D-1), and a field narrower than its bounding rectangle (a round
/// iris) has an area down to π/4 of height × width: 1.5 leaves room for that and for rounding.
const FIELD_RATIO_LIMIT: f64 = 1.5;

/// Checks the events' geometry once they are all read: zero field sizes, field sizes that
/// contradict the field area (left out), Philips' private beam frame. One warning per kind
/// for the whole report, with the number of events.
pub(crate) fn check_events<'e>(
    events: impl IntoIterator<Item = (&'e mut Geometry, Option<f64>)>,
    warnings: &mut Vec<Warning>,
) {
    let (mut zero, mut inconsistent, mut vendor_frame) = (0usize, 0usize, 0usize);
    let mut ratios: Vec<f64> = Vec::new();
    for (g, area_m2) in events {
        if g.vendor_beam_position {
            vendor_frame += 1;
        }
        let (Some(h), Some(w)) = (g.field_height, g.field_width) else {
            continue;
        };
        if h.as_m() == 0.0 || w.as_m() == 0.0 {
            zero += 1;
            g.field_height = None;
            g.field_width = None;
            continue;
        }
        let Some(area) = area_m2.filter(|a| *a > 0.0) else {
            continue;
        };
        let ratio = h.as_m() * w.as_m() / area;
        if !(1.0 / FIELD_RATIO_LIMIT..=FIELD_RATIO_LIMIT).contains(&ratio) {
            inconsistent += 1;
            ratios.push(ratio);
            g.field_height = None;
            g.field_width = None;
        }
    }
    if zero > 0 {
        warnings.push(Warning::ZeroFieldSize { count: zero });
    }
    if inconsistent > 0 {
        ratios.sort_by(f64::total_cmp);
        let median = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
        warnings.push(Warning::FieldSizeContradictsArea {
            count: inconsistent,
            median_ratio: median,
        });
    }
    if vendor_frame > 0 {
        warnings.push(Warning::TablePositionNotInBeamFrame {
            count: vendor_frame,
        });
    }
}
