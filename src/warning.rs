//! Warnings: deviations from the standard that kerma tolerated in one file.
//!
//! A warning never silently changes a number: a value that could not be trusted is absent
//! (`None`) and the warning says why, naming the concept (code, scheme) or attribute and the
//! raw value.

use std::fmt;

use crate::codes::Concept;
use crate::value::Attr;

/// One deviation found in a file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Warning {
    /// A non-UCUM unit code accepted through kerma's alias table (`Gym2`, `Gy.cm^2`, `uAs`).
    UnitAlias {
        /// The item.
        concept: Concept,
        /// The unit code as written.
        unit: String,
    },
    /// A valid UCUM unit that is not the template's unit (converted exactly, e.g. `dGy.cm2`).
    NonStandardUnit {
        /// The item.
        concept: Concept,
        /// The unit code as written.
        unit: String,
    },
    /// A unit code kerma does not know: the value is left out.
    UnknownUnit {
        /// The item.
        concept: Concept,
        /// The unit code as written.
        unit: String,
    },
    /// A known unit of the wrong kind (a time where a dose is expected): the value is left out.
    WrongUnitKind {
        /// The item.
        concept: Concept,
        /// The unit code as written.
        unit: String,
    },
    /// A numeric item without Measurement Units Code Sequence: the value is left out.
    MissingUnit {
        /// The item.
        concept: Concept,
    },
    /// A numeric value that is not a valid number (not a DS, NaN, infinite, negative).
    InvalidNumber {
        /// The item.
        concept: Concept,
        /// The value as written.
        raw: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Several values where one dose value is expected: the value is left out.
    MultiValued {
        /// The item.
        concept: Concept,
        /// How many values.
        count: usize,
    },
    /// A dose item whose MeasuredValueSequence is empty: not reported (absent, not zero).
    EmptyValue {
        /// The item.
        concept: Concept,
    },
    /// A dose report that declares no template identifier (TID 10001 assumed from content).
    NoTemplateIdentifier,
    /// A dose report declaring an unexpected template.
    UnexpectedTemplate {
        /// TemplateIdentifier (0040,DB00) as written.
        template: String,
    },
    /// Device Observer UID given as TEXT instead of UIDREF.
    DeviceUidAsText,
    /// No Device Observer UID: the device is identified by manufacturer, model and serial.
    NoDeviceObserverUid,
    /// Content items without Relationship Type (0040,A010).
    MissingRelationshipType {
        /// How many items.
        count: usize,
    },
    /// An item found at another level than the template puts it.
    Misplaced {
        /// What and where.
        what: &'static str,
    },
    /// An accumulated container without Acquisition Plane (taken as single plane).
    ContainerWithoutPlane,
    /// No Accumulated X-Ray Dose Data container.
    NoAccumulatedData,
    /// An accumulated container without Reference Point Definition.
    NoReferencePointDefinition,
    /// Reference Point Definition given as free text, not a code, that does not state the
    /// interventional reference point: K_a,r is not comparable with IRP-based levels.
    ReferencePointAsText {
        /// The text.
        text: String,
    },
    /// Reference Point Definition given as free text that states the interventional
    /// reference point of IEC 60601-2-43 (15 cm from the isocentre towards the source, e.g.
    /// Philips `15cm below BeamIsocenter`): read as that point, as the code 113860 would be.
    ReferencePointTextIsInterventional {
        /// The text.
        text: String,
    },
    /// Events naming a plane that has no accumulated container.
    EventsWithoutContainer {
        /// The plane.
        plane: String,
        /// How many events.
        count: usize,
    },
    /// Events without Irradiation Event Type.
    EventWithoutType {
        /// How many events.
        count: usize,
    },
    /// Events without Acquisition Plane.
    EventWithoutPlane {
        /// How many events.
        count: usize,
    },
    /// Events without Irradiation Event UID (they cannot be de-duplicated).
    EventWithoutUid {
        /// How many events.
        count: usize,
    },
    /// An accumulated total differs from the sum of the events by more than 1e-3 (relative).
    TotalDiffersFromEvents {
        /// The plane.
        plane: String,
        /// The total's concept.
        concept: Concept,
        /// The total, in SI (Gy·m² or Gy).
        total: f64,
        /// The event sum, in SI.
        event_sum: f64,
    },
    /// A projection dose report from a system that shows no fluoroscopy (radiography room).
    NotFluoroscopySystem,
    /// Acquisition Device Type says radiography, but the report has fluoroscopy.
    DeviceTypeContradiction,
    /// Patient Weight (0010,1030) is 0: treated as unknown.
    PatientWeightZero,
    /// Text that could not be decoded in the declared character set (replacement characters used).
    TextDecoding {
        /// The attribute keyword.
        attribute: &'static str,
    },
    /// A vendor private summary, not an RDSR: no irradiation events.
    VendorSummary {
        /// The private template or root concept.
        template: &'static str,
    },
    /// A value far outside the physically plausible range (a probable unit error). Kept as declared.
    Implausible {
        /// The item.
        concept: Concept,
        /// The value in the reporting unit.
        value: f64,
        /// The reporting unit.
        unit: &'static str,
    },
    /// An event type recognised from its Code Meaning only.
    EventTypeByMeaning {
        /// The Code Meaning.
        meaning: String,
    },
    /// An image header attribute that could not be used.
    InvalidAttribute {
        /// The attribute.
        attr: Attr,
        /// The value as written (or its VR).
        raw: String,
        /// Why.
        reason: &'static str,
    },
    /// Images of one event disagree on a per-event value; the largest is kept.
    ImagesDisagree {
        /// The attribute.
        attr: Attr,
        /// The event key.
        event: String,
    },
    /// The Enhanced X-Ray Radiation Dose SR is recognised but not extracted (no real sample).
    EnhancedRdsrNotExtracted,
    /// A file's Study Date differs from its events' dates by more than a day.
    StudyDateDiffers {
        /// Study Date (0008,0020).
        study_date: String,
        /// First event DateTime Started.
        event_date: String,
    },
    /// The dataset ends before the file does: what follows (zero padding, Data Set Trailing
    /// Padding) was not read.
    TrailingBytes {
        /// Where the dataset ended.
        offset: u64,
    },
    /// The dataset is encoded in another VR encoding than its transfer syntax names (implicit
    /// VR under an explicit VR transfer syntax, or the reverse): read as written.
    VrEncodingDiffers {
        /// Transfer Syntax UID (0002,0010).
        transfer_syntax: String,
        /// Whether the dataset is in implicit VR.
        implicit: bool,
    },
    /// A geometry item given twice in one irradiation event: the first is kept.
    RepeatedItem {
        /// The item.
        concept: Concept,
    },
    /// Events whose Collimated Field Height, Width or Area (113788, 113789, 113790) is zero:
    /// height and width are not a field size and are left out (Philips Azurion writes a zero
    /// area beside heights and widths of 0 to a few millimetres).
    ZeroFieldSize {
        /// How many events.
        count: usize,
    },
    /// Events whose Collimated Field Height × Width differs from their Collimated Field Area
    /// by more than a factor 1.5 although the standard puts both at the image receptor
    /// (Canon Alphenix: 3.7 to 6.1 times): height and width are left out, the area is kept.
    FieldSizeContradictsArea {
        /// How many events.
        count: usize,
        /// Median of height × width ÷ area over those events.
        median_ratio: f64,
    },
    /// Events without a standard geometry item whose value is read from a vendor's private
    /// item of the same meaning (Philips Allura: Table Height Position (021, 99PHI-IXR-XPER)
    /// for 113753, Final Distance Source to Detector (018) for 113750).
    VendorItemUsed {
        /// The standard item the events lack.
        concept: Concept,
        /// The private item read instead.
        vendor: Concept,
        /// How many events.
        count: usize,
    },
    /// Events with table positions from a system whose table is not in the beam's frame
    /// (Philips Azurion; reported to PySkinDose as #48): kept as written, but they cannot place the
    /// patient in the beam.
    TablePositionNotInBeamFrame {
        /// How many events.
        count: usize,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Warning::*;
        match self {
            UnitAlias { concept, unit } => {
                write!(f, "{concept}: non-UCUM unit {unit:?} accepted as an alias")
            }
            NonStandardUnit { concept, unit } => write!(
                f,
                "{concept}: non-standard unit {unit:?} (valid UCUM, converted exactly)"
            ),
            UnknownUnit { concept, unit } => {
                write!(f, "{concept}: unknown unit {unit:?}; value left out")
            }
            WrongUnitKind { concept, unit } => {
                write!(
                    f,
                    "{concept}: unit {unit:?} measures something else; value left out"
                )
            }
            MissingUnit { concept } => write!(f, "{concept}: no unit; value left out"),
            InvalidNumber {
                concept,
                raw,
                reason,
            } => write!(
                f,
                "{concept}: invalid value {raw:?} ({reason}); value left out"
            ),
            MultiValued { concept, count } => {
                write!(
                    f,
                    "{concept}: {count} values where one is expected; value left out"
                )
            }
            EmptyValue { concept } => {
                write!(f, "{concept}: empty MeasuredValueSequence (not reported)")
            }
            NoTemplateIdentifier => {
                write!(
                    f,
                    "no TemplateIdentifier: TID 10001 identified from content"
                )
            }
            UnexpectedTemplate { template } => write!(f, "TemplateIdentifier is {template:?}"),
            DeviceUidAsText => write!(f, "Device Observer UID (121012) is TEXT, not UIDREF"),
            NoDeviceObserverUid => write!(
                f,
                "no Device Observer UID (121012): device keyed by manufacturer, model, serial"
            ),
            MissingRelationshipType { count } => {
                write!(
                    f,
                    "{count} content items without RelationshipType (0040,A010)"
                )
            }
            Misplaced { what } => write!(f, "{what}"),
            ContainerWithoutPlane => write!(
                f,
                "Accumulated X-Ray Dose Data without Acquisition Plane (taken as single plane)"
            ),
            NoAccumulatedData => write!(f, "no Accumulated X-Ray Dose Data (113702) container"),
            NoReferencePointDefinition => {
                write!(
                    f,
                    "Accumulated X-Ray Dose Data without Reference Point Definition"
                )
            }
            ReferencePointAsText { text } => write!(
                f,
                "Reference Point Definition is text {text:?}: K_a,r not comparable with IRP-based levels"
            ),
            ReferencePointTextIsInterventional { text } => write!(
                f,
                "Reference Point Definition is text {text:?}: read as the interventional reference point of IEC 60601-2-43 (15 cm from the isocentre towards the source)"
            ),
            EventsWithoutContainer { plane, count } => write!(
                f,
                "{count} events in plane {plane}, which has no accumulated container"
            ),
            EventWithoutType { count } => {
                write!(f, "{count} events without Irradiation Event Type")
            }
            EventWithoutPlane { count } => write!(f, "{count} events without Acquisition Plane"),
            EventWithoutUid { count } => {
                write!(f, "{count} events without Irradiation Event UID")
            }
            TotalDiffersFromEvents {
                plane,
                concept,
                total,
                event_sum,
            } => write!(
                f,
                "plane {plane}: {concept} {total} differs from the sum of events {event_sum} (SI units)"
            ),
            NotFluoroscopySystem => write!(
                f,
                "projection dose report with no fluoroscopy: not from a fluoroscopy system"
            ),
            DeviceTypeContradiction => write!(
                f,
                "Acquisition Device Type says radiography but the report has fluoroscopy"
            ),
            PatientWeightZero => write!(f, "PatientWeight (0010,1030) is 0: treated as unknown"),
            TextDecoding { attribute } => write!(
                f,
                "{attribute}: text not valid in the declared character set"
            ),
            VendorSummary { template } => write!(
                f,
                "vendor summary ({template}), not an RDSR: totals only, no irradiation events"
            ),
            Implausible {
                concept,
                value,
                unit,
            } => write!(
                f,
                "{concept}: {value} {unit} is implausible (unit error?); kept as declared"
            ),
            EventTypeByMeaning { meaning } => {
                write!(f, "event type recognised from its meaning {meaning:?} only")
            }
            InvalidAttribute { attr, raw, reason } => {
                write!(f, "{attr}: {reason} ({raw:?}); value left out")
            }
            ImagesDisagree { attr, event } => write!(
                f,
                "{attr}: images of event {event} disagree; the largest value is kept"
            ),
            EnhancedRdsrNotExtracted => write!(
                f,
                "Enhanced X-Ray Radiation Dose SR recognised; extraction not supported yet"
            ),
            StudyDateDiffers {
                study_date,
                event_date,
            } => write!(
                f,
                "Study Date {study_date} differs from the event date {event_date} by more than a day"
            ),
            TrailingBytes { offset } => write!(
                f,
                "the dataset ends at byte {offset}; the padding after it was not read"
            ),
            VrEncodingDiffers {
                transfer_syntax,
                implicit,
            } => {
                let (written, named) = if *implicit {
                    ("implicit", "explicit")
                } else {
                    ("explicit", "implicit")
                };
                write!(
                    f,
                    "dataset in {written} VR although transfer syntax {transfer_syntax} says {named} VR: read as written"
                )
            }
            RepeatedItem { concept } => {
                write!(f, "{concept}: given twice in one event; the first is kept")
            }
            ZeroFieldSize { count } => write!(
                f,
                "{count} events with a zero Collimated Field Height, Width or Area: height and width are not a field size, left out"
            ),
            FieldSizeContradictsArea {
                count,
                median_ratio,
            } => write!(
                f,
                "{count} events whose Collimated Field Height × Width is {median_ratio:.2} times (median) their Collimated Field Area: not at the same plane, height and width left out"
            ),
            VendorItemUsed {
                concept,
                vendor,
                count,
            } => write!(f, "{count} events without {concept}: read from {vendor}"),
            TablePositionNotInBeamFrame { count } => write!(
                f,
                "{count} events with table positions from a Philips Azurion, whose table is not in the beam's frame: kept as written, not usable to place the patient"
            ),
        }
    }
}
