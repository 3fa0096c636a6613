//! Coded concepts kerma looks for, identified by (code value, coding scheme) and never by
//! meaning: PS3.3 §8 makes Code Value with Coding Scheme Designator the identity of a coded
//! entry and Code Meaning its display text, which real files reword. Names are for messages only.

use std::fmt;
use std::sync::Arc;

/// A coded concept kerma knows: its code value, coding scheme designator and a display name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concept {
    /// Code Value (0008,0100).
    pub code: &'static str,
    /// Coding Scheme Designator (0008,0102).
    pub scheme: &'static str,
    /// Display name (kerma's, not the file's Code Meaning).
    pub name: &'static str,
}

impl fmt::Display for Concept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.code, self.scheme)
    }
}

macro_rules! concepts {
    ($($id:ident = $code:literal, $scheme:literal, $name:literal;)*) => {
        $(pub(crate) const $id: Concept = Concept { code: $code, scheme: $scheme, name: $name };)*
    };
}

concepts! {
    XRAY_DOSE_REPORT = "113701", "DCM", "X-Ray Radiation Dose Report";
    PROCEDURE_REPORTED = "121058", "DCM", "Procedure reported";
    PROJECTION_XRAY = "113704", "DCM", "Projection X-Ray";
    HAS_INTENT = "363703001", "SCT", "Has Intent";
    HAS_INTENT_SRT = "G-C0E8", "SRT", "Has Intent";
    ACQUISITION_DEVICE_TYPE = "122142", "DCM", "Acquisition Device Type";
    FLUORO_GUIDED_DEVICE = "113957", "DCM", "Fluoroscopy-Guided Projection Radiography System";
    INTEGRATED_PROJECTION_DEVICE = "113958", "DCM", "Integrated Projection Radiography System";
    SCOPE_OF_ACCUMULATION = "113705", "DCM", "Scope of Accumulation";
    STUDY_INSTANCE_UID = "110180", "DCM", "Study Instance UID";
    SERIES_INSTANCE_UID = "112002", "DCM", "Series Instance UID";
    PPS_INSTANCE_UID = "121126", "DCM", "Performed Procedure Step SOP Instance UID";
    DEVICE_OBSERVER_UID = "121012", "DCM", "Device Observer UID";
    DEVICE_OBSERVER_NAME = "121013", "DCM", "Device Observer Name";
    DEVICE_OBSERVER_MANUFACTURER = "121014", "DCM", "Device Observer Manufacturer";
    DEVICE_OBSERVER_MODEL = "121015", "DCM", "Device Observer Model Name";
    DEVICE_OBSERVER_SERIAL = "121016", "DCM", "Device Observer Serial Number";
    SOURCE_OF_DOSE_INFORMATION = "113854", "DCM", "Source of Dose Information";
    START_OF_IRRADIATION = "113809", "DCM", "Start of X-Ray Irradiation";
    END_OF_IRRADIATION = "113810", "DCM", "End of X-Ray Irradiation";
    ACCUMULATED_DOSE_DATA = "113702", "DCM", "Accumulated X-Ray Dose Data";
    IRRADIATION_EVENT_DATA = "113706", "DCM", "Irradiation Event X-Ray Data";
    ACQUISITION_PLANE = "113764", "DCM", "Acquisition Plane";
    CALIBRATION = "122505", "DCM", "Calibration";
    DAP_TOTAL = "113722", "DCM", "Dose Area Product Total";
    DOSE_RP_TOTAL = "113725", "DCM", "Dose (RP) Total";
    FLUORO_DAP_TOTAL = "113726", "DCM", "Fluoro Dose Area Product Total";
    ACQUISITION_DAP_TOTAL = "113727", "DCM", "Acquisition Dose Area Product Total";
    FLUORO_DOSE_RP_TOTAL = "113728", "DCM", "Fluoro Dose (RP) Total";
    ACQUISITION_DOSE_RP_TOTAL = "113729", "DCM", "Acquisition Dose (RP) Total";
    TOTAL_FLUORO_TIME = "113730", "DCM", "Total Fluoro Time";
    TOTAL_ACQUISITION_TIME = "113855", "DCM", "Total Acquisition Time";
    TOTAL_FRAMES = "113731", "DCM", "Total Number of Radiographic Frames";
    REFERENCE_POINT_DEFINITION = "113780", "DCM", "Reference Point Definition";
    DISTANCE_SOURCE_TO_RP = "113737", "DCM", "Distance Source to Reference Point";
    IRRADIATION_EVENT_UID = "113769", "DCM", "Irradiation Event UID";
    DAP = "122130", "DCM", "Dose Area Product";
    DOSE_RP = "113738", "DCM", "Dose (RP)";
    IRRADIATION_DURATION = "113742", "DCM", "Irradiation Duration";
    NUMBER_OF_PULSES = "113768", "DCM", "Number of Pulses";
    PULSE_RATE = "113791", "DCM", "Pulse Rate";
    PULSE_WIDTH = "113793", "DCM", "Pulse Width";
    KVP = "113733", "DCM", "KVP";
    TUBE_CURRENT = "113734", "DCM", "X-Ray Tube Current";
    EXPOSURE_TIME = "113824", "DCM", "Exposure Time";
    EXPOSURE_TIME_RETIRED = "113735", "DCM", "Exposure Time (retired code)";
    EXPOSURE = "113736", "DCM", "Exposure";
    PRIMARY_ANGLE = "112011", "DCM", "Positioner Primary Angle";
    SECONDARY_ANGLE = "112012", "DCM", "Positioner Secondary Angle";
    DISTANCE_SOURCE_TO_DETECTOR = "113750", "DCM", "Distance Source to Detector";
    COLLIMATED_FIELD_AREA = "113790", "DCM", "Collimated Field Area";
    XRAY_FILTER_TYPE = "113772", "DCM", "X-Ray Filter Type";
    XRAY_FILTER_MATERIAL = "113757", "DCM", "X-Ray Filter Material";
    XRAY_FILTER_THICKNESS_MIN = "113758", "DCM", "X-Ray Filter Thickness Minimum";
    XRAY_FILTER_THICKNESS_MAX = "113773", "DCM", "X-Ray Filter Thickness Maximum";
    STATIONARY_ACQUISITION = "113611", "DCM", "Stationary Acquisition";
    STEPPING_ACQUISITION = "113612", "DCM", "Stepping Acquisition";
    ROTATIONAL_ACQUISITION = "113613", "DCM", "Rotational Acquisition";
    FLUOROSCOPY = "44491008", "SCT", "Fluoroscopy";
    FLUOROSCOPY_SRT = "P5-06000", "SRT", "Fluoroscopy";
    FLUOROSCOPY_SNM3 = "P5-06000", "SNM3", "Fluoroscopy";
    MAMMOGRAPHY = "71651007", "SCT", "Mammography";
    MAMMOGRAPHY_SRT = "P5-40010", "SRT", "Mammography";
    CT_XRAY_SRT = "P5-08000", "SRT", "Computed Tomography X-Ray";
    CT_ACCUMULATED = "113811", "DCM", "CT Accumulated Dose Data";
    CT_ACQUISITION = "113819", "DCM", "CT Acquisition";
    PATIENT_ORIENTATION = "113743", "DCM", "Patient Orientation";
    COMMENT = "121106", "DCM", "Comment";
    PATIENT_TABLE_RELATIONSHIP = "113745", "DCM", "Patient Table Relationship";
    PRIMARY_END_ANGLE = "113739", "DCM", "Positioner Primary End Angle";
    SECONDARY_END_ANGLE = "113740", "DCM", "Positioner Secondary End Angle";
    COLUMN_ANGULATION = "113770", "DCM", "Column Angulation";
    TABLE_LONGITUDINAL_POSITION = "113751", "DCM", "Table Longitudinal Position";
    TABLE_LATERAL_POSITION = "113752", "DCM", "Table Lateral Position";
    TABLE_HEIGHT_POSITION = "113753", "DCM", "Table Height Position";
    TABLE_LONGITUDINAL_END_POSITION = "113759", "DCM", "Table Longitudinal End Position";
    TABLE_LATERAL_END_POSITION = "113760", "DCM", "Table Lateral End Position";
    TABLE_HEIGHT_END_POSITION = "113761", "DCM", "Table Height End Position";
    TABLE_HEAD_TILT_ANGLE = "113754", "DCM", "Table Head Tilt Angle";
    TABLE_HORIZONTAL_ROTATION_ANGLE = "113755", "DCM", "Table Horizontal Rotation Angle";
    TABLE_CRADLE_TILT_ANGLE = "113756", "DCM", "Table Cradle Tilt Angle";
    DISTANCE_SOURCE_TO_ISOCENTER = "113748", "DCM", "Distance Source to Isocenter";
    DISTANCE_SOURCE_TO_TABLE_PLANE = "113792", "DCM", "Distance Source to Table Plane";
    COLLIMATED_FIELD_HEIGHT = "113788", "DCM", "Collimated Field Height";
    COLLIMATED_FIELD_WIDTH = "113789", "DCM", "Collimated Field Width";
    PHILIPS_TABLE_HEIGHT = "021", "99PHI-IXR-XPER", "Table Height Position (Philips private)";
    PHILIPS_FINAL_SOURCE_TO_DETECTOR = "018", "99PHI-IXR-XPER", "Final Distance Source to Detector (Philips private)";
    PATIENT_ORIENTATION_MODIFIER = "113744", "DCM", "Patient Orientation Modifier";
    SIEMENS_RADSUM = "C-10", "99SMS_RADSUM", "Radiation Summary Report";
    SIEMENS_EXPOSURES = "C-200", "99SMS_RADSUM", "Number of exposures";
    SIEMENS_FLUORO_TIME = "C-202", "99SMS_RADSUM", "Cumulative fluoroscopy time";
    SIEMENS_DAP = "C-204", "99SMS_RADSUM", "Cumulative dose area product";
    SIEMENS_AIR_KERMA = "C-210", "99SMS_RADSUM", "Cumulative air kerma";
}

/// SOP Class UIDs kerma classifies (PS3.4 Annex B, Table B.5-1).
pub(crate) mod sop {
    pub const ENHANCED_XRAY_RDSR: &str = "1.2.840.10008.5.1.4.1.1.88.76";
    pub const XA: &str = "1.2.840.10008.5.1.4.1.1.12.1";
    pub const ENHANCED_XA: &str = "1.2.840.10008.5.1.4.1.1.12.1.1";
    pub const RF: &str = "1.2.840.10008.5.1.4.1.1.12.2";
    pub const ENHANCED_XRF: &str = "1.2.840.10008.5.1.4.1.1.12.2.1";
    pub const XA_BIPLANE_RETIRED: &str = "1.2.840.10008.5.1.4.1.1.12.3";
}

/// A code as written in a file: value, scheme and meaning (display text, never matched on).
///
/// The three texts share one allocation, and cloning a `Code` only counts a reference: an
/// RDSR repeats the same few codes (event type, filter material, reference point) in every
/// event, and extraction hands out one shared copy of each.
///
/// ```
/// use kerma::Code;
/// let c = Code::new("113620", "DCM", "Stationary Acquisition");
/// assert_eq!((c.value(), c.scheme(), c.meaning()), ("113620", "DCM", "Stationary Acquisition"));
/// assert_eq!(c.to_string(), r#"(113620, DCM, "Stationary Acquisition")"#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Code {
    /// `value`, `scheme` and `meaning`, one after the other.
    text: Arc<str>,
    /// Where `value` ends and `scheme` starts in `text`.
    value_end: usize,
    /// Where `scheme` ends and `meaning` starts in `text`.
    scheme_end: usize,
}

impl Code {
    /// A code from its Code Value, Coding Scheme Designator and Code Meaning.
    pub fn new(value: &str, scheme: &str, meaning: &str) -> Code {
        let mut text = String::with_capacity(value.len() + scheme.len() + meaning.len());
        text.push_str(value);
        text.push_str(scheme);
        text.push_str(meaning);
        Code {
            text: text.into(),
            value_end: value.len(),
            scheme_end: value.len() + scheme.len(),
        }
    }

    /// Code Value (0008,0100), or Long / URN Code Value.
    pub fn value(&self) -> &str {
        &self.text[..self.value_end]
    }

    /// Coding Scheme Designator (0008,0102).
    pub fn scheme(&self) -> &str {
        &self.text[self.value_end..self.scheme_end]
    }

    /// Code Meaning (0008,0104).
    pub fn meaning(&self) -> &str {
        &self.text[self.scheme_end..]
    }

    /// Whether this is the given concept (by value and scheme).
    pub fn is(&self, c: Concept) -> bool {
        self.value() == c.code && self.scheme() == c.scheme
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Code")
            .field("value", &self.value())
            .field("scheme", &self.scheme())
            .field("meaning", &self.meaning())
            .finish()
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({}, {}, {:?})",
            self.value(),
            self.scheme(),
            self.meaning()
        )
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Code", 3)?;
        st.serialize_field("value", self.value())?;
        st.serialize_field("scheme", self.scheme())?;
        st.serialize_field("meaning", self.meaning())?;
        st.end()
    }
}
