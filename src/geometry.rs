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
use crate::sr::{CodeRef, Content, NumReader};
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
/// let g = &report.events[0].geometry;
/// // 30° RAO (negative: towards the patient's right), 25° cranial, detector at 1.1 m.
/// assert_eq!(g.primary_angle.map(|a| a.as_deg()), Some(-30.0));
/// assert_eq!(g.secondary_angle.map(|a| a.as_deg()), Some(25.0));
/// assert_eq!(g.source_to_detector.map(|d| d.as_mm()), Some(1100.0));
/// assert_eq!(g.table_longitudinal, None, "not in this report");
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
    /// warning) when it, the width or Collimated Field Area is zero (Philips Azurion writes a
    /// zero area beside heights and widths of a few millimetres), or when height × width
    /// contradicts the area.
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
    /// `table_height` comes from Philips' private Table Height Position (021, 99PHI-IXR-XPER),
    /// read (by its own unit, with a warning) because the event has no standard one: Philips
    /// Allura Xper and Allura Clarity write the height only there.
    pub table_height_from_vendor_item: bool,
    /// `source_to_detector` comes from Philips' private Final Distance Source to Detector
    /// (018, 99PHI-IXR-XPER), the distance at the end of the event, read (with a warning)
    /// because the event has no standard one (Philips Allura Clarity).
    pub source_to_detector_from_vendor_item: bool,
    /// The patient's position on the table: from Patient Table Relationship and Patient
    /// Orientation Modifier when both are coded (and the orientation is not erect), else from
    /// the report's Siemens comment (`patient_position_from_comment`).
    pub patient_position: Option<PatientPosition>,
    /// `patient_position` comes from the `<PatientPosition><Position SRData="HFS "/>` element of
    /// the XML that Siemens AXIOM-Artis / Artis zee write in the report's root Comment (121106),
    /// as these systems code no patient position items.
    pub patient_position_from_comment: bool,
    /// The report comes from a system whose table positions are not in the beam's frame
    /// (Philips Azurion: table and beam are in two unrelated coordinate systems,
    /// reported to PySkinDose as #48): the positions are kept as written but cannot place the patient in the beam.
    pub table_not_in_beam_frame: bool,
}

/// A patient position on the table: the defined terms of Patient Position (0018,5100),
/// PS3.3 C.7.3.1.1.2 (head or feet first towards the gantry; supine, prone or lateral
/// decubitus).
///
/// ```
/// use kerma::PatientPosition;
/// assert_eq!(PatientPosition::from_defined_term("FFS "), Some(PatientPosition::FeetFirstSupine));
/// assert_eq!(PatientPosition::HeadFirstProne.as_str(), "HFP");
/// assert!(PatientPosition::FeetFirstSupine.is_feet_first());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PatientPosition {
    /// HFS.
    HeadFirstSupine,
    /// HFP.
    HeadFirstProne,
    /// HFDR.
    HeadFirstDecubitusRight,
    /// HFDL.
    HeadFirstDecubitusLeft,
    /// FFS.
    FeetFirstSupine,
    /// FFP.
    FeetFirstProne,
    /// FFDR.
    FeetFirstDecubitusRight,
    /// FFDL.
    FeetFirstDecubitusLeft,
}

impl PatientPosition {
    const ALL: [PatientPosition; 8] = [
        PatientPosition::HeadFirstSupine,
        PatientPosition::HeadFirstProne,
        PatientPosition::HeadFirstDecubitusRight,
        PatientPosition::HeadFirstDecubitusLeft,
        PatientPosition::FeetFirstSupine,
        PatientPosition::FeetFirstProne,
        PatientPosition::FeetFirstDecubitusRight,
        PatientPosition::FeetFirstDecubitusLeft,
    ];

    /// The defined term (`HFS`, `FFP`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PatientPosition::HeadFirstSupine => "HFS",
            PatientPosition::HeadFirstProne => "HFP",
            PatientPosition::HeadFirstDecubitusRight => "HFDR",
            PatientPosition::HeadFirstDecubitusLeft => "HFDL",
            PatientPosition::FeetFirstSupine => "FFS",
            PatientPosition::FeetFirstProne => "FFP",
            PatientPosition::FeetFirstDecubitusRight => "FFDR",
            PatientPosition::FeetFirstDecubitusLeft => "FFDL",
        }
    }

    /// From a defined term, surrounding blanks ignored; `None` for any other text.
    pub fn from_defined_term(term: &str) -> Option<PatientPosition> {
        let term = term.trim();
        Self::ALL.into_iter().find(|p| p.as_str() == term)
    }

    /// Whether the patient lies feet first.
    pub fn is_feet_first(self) -> bool {
        self.as_str().starts_with("FF")
    }

    /// From Patient Table Relationship (CID 21) and Patient Orientation Modifier (CID 20),
    /// by code value and scheme: the SNOMED CT codes and their legacy SRT forms
    /// (F-10470 headfirst, F-10480 feet-first; F-10340 supine, F-10310 prone, F-10317 right
    /// and F-10319 left lateral decubitus). `None` for transverse or oblique placements and
    /// other modifiers.
    pub fn from_codes(table_relationship: &Code, modifier: &Code) -> Option<PatientPosition> {
        let is = |c: &Code, pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .any(|(v, s)| c.value() == *v && c.scheme() == *s)
        };
        let head = is(
            table_relationship,
            &[("102540008", "SCT"), ("F-10470", "SRT")],
        );
        let feet = is(
            table_relationship,
            &[("102541007", "SCT"), ("F-10480", "SRT")],
        );
        let lie = if is(modifier, &[("40199007", "SCT"), ("F-10340", "SRT")]) {
            0
        } else if is(modifier, &[("1240000", "SCT"), ("F-10310", "SRT")]) {
            1
        } else if is(modifier, &[("102535000", "SCT"), ("F-10317", "SRT")]) {
            2
        } else if is(modifier, &[("102536004", "SCT"), ("F-10319", "SRT")]) {
            3
        } else {
            return None;
        };
        let first = if head {
            0
        } else if feet {
            4
        } else {
            return None;
        };
        Self::ALL.get(first + lie).copied()
    }
}

/// The patient position of the XML that Siemens writes in a report's root Comment (121106):
/// the `SRData` attribute of the `Position` element inside `PatientPosition`.
pub(crate) fn patient_position_in_comment(text: &str) -> Option<PatientPosition> {
    let rest = &text[text.find("<PatientPosition>")?..];
    let rest = &rest[rest.find("<Position ")?..];
    let rest = &rest[rest.find("SRData=\"")? + "SRData=\"".len()..];
    PatientPosition::from_defined_term(&rest[..rest.find('"')?])
}

/// Whether a Patient Orientation (113743, CID 19) is erect (C86043 NCIt, legacy F-10440 SRT),
/// where the table positions of Patient Position do not apply.
fn is_erect(c: &Code) -> bool {
    (c.value() == "C86043" && c.scheme() == "NCIt")
        || (c.value() == "F-10440" && c.scheme() == "SRT")
}

impl Geometry {
    /// Sets `patient_position` from the event's codes, else from the report's comment.
    pub(crate) fn set_patient_position(&mut self, from_comment: Option<PatientPosition>) {
        let erect = self.patient_orientation.as_ref().is_some_and(is_erect);
        let coded = match (
            &self.patient_table_relationship,
            &self.patient_orientation_modifier,
        ) {
            (Some(t), Some(m)) if !erect => PatientPosition::from_codes(t, m),
            _ => None,
        };
        self.patient_position = coded.or(from_comment);
        self.patient_position_from_comment = coded.is_none() && from_comment.is_some();
    }

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
        once(slot, r, concept, |r| r.position(c, concept))
    }
}

/// Reads an item into `slot` with `read`, unless the slot is already filled: then the item is
/// a repeat, warned of and left out (the first one counts).
fn once<T>(
    slot: &mut Option<T>,
    r: &mut NumReader,
    concept: codes::Concept,
    read: impl FnOnce(&mut NumReader) -> Option<T>,
) -> bool {
    if slot.is_some() {
        r.warnings.push(Warning::RepeatedItem { concept });
    } else {
        *slot = read(r);
    }
    true
}

fn angle(
    slot: &mut Option<Angle>,
    c: &Content<'_, '_>,
    r: &mut NumReader,
    concept: codes::Concept,
) -> bool {
    once(slot, r, concept, |r| r.angle(c, concept))
}

fn distance(
    slot: &mut Option<Length>,
    c: &Content<'_, '_>,
    r: &mut NumReader,
    concept: codes::Concept,
) -> bool {
    once(slot, r, concept, |r| r.distance(c, concept))
}

fn code(
    slot: &mut Option<Code>,
    c: &Content<'_, '_>,
    r: &mut NumReader,
    concept: codes::Concept,
) -> bool {
    once(slot, r, concept, |r| c.code().map(|x| r.codes.get(x)))
}

/// Largest ratio, either way, between Collimated Field Height × Width and Collimated Field
/// Area before the two are taken to describe different planes. Both are defined at the image
/// receptor (PS3.16 Table D-1), and a field narrower than its bounding rectangle (a round
/// iris) has an area down to π/4 of height × width: 1.5 leaves room for that and for rounding.
const FIELD_RATIO_LIMIT: f64 = 1.5;

/// Philips' private items (99PHI-IXR-XPER) of an event that stand for standard ones the
/// event lacks: Table Height Position (021) for 113753, Final Distance Source to Detector
/// (018) for 113750.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct VendorItems<'i, 'a> {
    table_height: Option<Content<'i, 'a>>,
    source_to_detector: Option<Content<'i, 'a>>,
}

impl<'i, 'a> VendorItems<'i, 'a> {
    /// Keeps `c` if its concept (of a scheme other than DCM) is one of these items.
    pub(crate) fn note(&mut self, concept: CodeRef<'_>, c: Content<'i, 'a>) {
        if concept.is(codes::PHILIPS_TABLE_HEIGHT) {
            self.table_height = Some(c);
        } else if concept.is(codes::PHILIPS_FINAL_SOURCE_TO_DETECTOR) {
            self.source_to_detector = Some(c);
        }
    }

    /// Reads the kept items whose standard counterpart `g` lacks, and flags them.
    pub(crate) fn apply(self, g: &mut Geometry, r: &mut NumReader) {
        if g.table_height.is_none()
            && let Some(c) = self.table_height
        {
            g.table_height = r.position(&c, codes::PHILIPS_TABLE_HEIGHT);
            g.table_height_from_vendor_item = g.table_height.is_some();
        }
        if g.source_to_detector.is_none()
            && let Some(c) = self.source_to_detector
        {
            g.source_to_detector = r.distance(&c, codes::PHILIPS_FINAL_SOURCE_TO_DETECTOR);
            g.source_to_detector_from_vendor_item = g.source_to_detector.is_some();
        }
    }
}

/// Checks the events' geometry once they are all read: zero field sizes, field sizes that
/// contradict the field area (left out), table heights from a private item, table positions
/// of a system whose table is not in the beam's frame (`table_not_in_beam_frame`: the
/// report's device is a Philips Azurion). One warning per kind for the whole report, with the
/// number of events.
pub(crate) fn check_events<'e>(
    events: impl IntoIterator<Item = (&'e mut Geometry, Option<f64>)>,
    table_not_in_beam_frame: bool,
    warnings: &mut Vec<Warning>,
) {
    let (mut zero, mut inconsistent, mut vendor_frame, mut vendor_height, mut vendor_sid) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut ratios: Vec<f64> = Vec::new();
    for (g, area_m2) in events {
        if table_not_in_beam_frame
            && (g.table_longitudinal.is_some()
                || g.table_lateral.is_some()
                || g.table_height.is_some())
        {
            g.table_not_in_beam_frame = true;
            vendor_frame += 1;
        }
        vendor_height += usize::from(g.table_height_from_vendor_item);
        vendor_sid += usize::from(g.source_to_detector_from_vendor_item);
        if g.field_height.is_none() && g.field_width.is_none() {
            continue;
        }
        let is_zero = |l: Option<Length>| l.is_some_and(|l| l.as_m() == 0.0);
        if is_zero(g.field_height) || is_zero(g.field_width) || area_m2 == Some(0.0) {
            zero += 1;
            g.field_height = None;
            g.field_width = None;
            continue;
        }
        let (Some(h), Some(w), Some(area)) = (g.field_height, g.field_width, area_m2) else {
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
    for (count, concept, vendor) in [
        (
            vendor_height,
            codes::TABLE_HEIGHT_POSITION,
            codes::PHILIPS_TABLE_HEIGHT,
        ),
        (
            vendor_sid,
            codes::DISTANCE_SOURCE_TO_DETECTOR,
            codes::PHILIPS_FINAL_SOURCE_TO_DETECTOR,
        ),
    ] {
        if count > 0 {
            warnings.push(Warning::VendorItemUsed {
                concept,
                vendor,
                count,
            });
        }
    }
    if vendor_frame > 0 {
        warnings.push(Warning::TablePositionNotInBeamFrame {
            count: vendor_frame,
        });
    }
}
