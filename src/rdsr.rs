//! Stage 3a: X-Ray Radiation Dose SR (TID 10001) → typed dose records.
//!
//! Concepts are looked up among the children of the container the template puts them in
//! (an INCLUDE row of a PS3.16 template adds the included template's rows, not a container:
//! the totals of TID 10002, 10004 and 10007 all sit under 113702), with tolerant fallbacks for
//! the misplacements real equipment writes, each recorded as a [`Warning`].

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::codes::{self, Code, Concept};
use crate::dataset::{Limits, Tree};
use crate::error::ParseError;
use crate::geometry::{self, Geometry, PatientPosition, VendorItems};
use crate::sr::{CodeCache, Content, NumReader, Technique};
use crate::units::{self, AirKerma, Angle, Dap, Length};
use crate::warning::Warning;

mod reference_point;

/// Acquisition plane of an accumulated container or event (CID 10003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plane {
    /// Single Plane (113622).
    Single,
    /// Plane A (113620), the frontal plane of a biplane system.
    A,
    /// Plane B (113621), the lateral plane.
    B,
    /// All Planes (113890).
    All,
}

impl Plane {
    fn from_code(value: &[u8]) -> Option<Plane> {
        match value {
            b"113622" => Some(Plane::Single),
            b"113620" => Some(Plane::A),
            b"113621" => Some(Plane::B),
            b"113890" => Some(Plane::All),
            _ => None,
        }
    }
    /// The JSON name: `single`, `a`, `b` or `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            Plane::Single => "single",
            Plane::A => "a",
            Plane::B => "b",
            Plane::All => "all",
        }
    }
}

/// Where a dose figure comes from: accumulated totals (PS3.16 TID 10002), a sum of irradiation
/// events (TID 10003), image headers (PS3.3 C.8.7.8) or a vendor's private summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Provenance {
    /// An RDSR's Accumulated X-Ray Dose Data container.
    RdsrTotal,
    /// The sum of an RDSR's irradiation events.
    RdsrEventSum,
    /// XA/RF image headers.
    ImageHeaders,
    /// A vendor's private summary (not an RDSR).
    VendorSummary,
}

/// The kind of irradiation event, from Irradiation Event Type (113721, CID 10002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventCategory {
    /// Fluoroscopy ((44491008, SCT), legacy (P5-06000, SRT)).
    #[serde(rename = "fluoro")]
    Fluoroscopy,
    /// Stationary, stepping or rotational acquisition (113611, 113612, 113613).
    Acquisition,
    /// Any other type, or no type.
    Other,
}

/// Reference Point Definition (113780): a code of CID 10025 or free text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferencePoint {
    /// A coded definition (e.g. 113860 "15cm from Isocenter toward Source").
    Code(Code),
    /// A free-text definition (e.g. Philips `15cm below BeamIsocenter`).
    Text(String),
}

impl ReferencePoint {
    /// Whether this is the interventional reference point of IEC 60601-2-43 (15 cm from the
    /// isocentre towards the focal spot), so that K_a,r is comparable with IRP-based
    /// reference levels: the code (113860, DCM) of CID 10025, or a text that states that
    /// point ([`ReferencePoint::is_text_interventional_reference_point`]).
    pub fn is_interventional_reference_point(&self) -> bool {
        match self {
            ReferencePoint::Code(c) => c.value() == "113860" && c.scheme() == "DCM",
            ReferencePoint::Text(_) => self.is_text_interventional_reference_point(),
        }
    }

    /// Whether this is a free-text definition that states the interventional reference point:
    /// one distance of 15 cm (or 150 mm) from the isocentre, towards the source (`15cm below
    /// BeamIsocenter` as Philips writes it, `15 cm from isocenter toward source`). Any other
    /// text (another distance, the table, the detector or the image input surface as
    /// reference, `above`) is not.
    ///
    /// ```
    /// use kerma::ReferencePoint;
    /// assert!(ReferencePoint::Text("15cm below BeamIsocenter".into()).is_interventional_reference_point());
    /// assert!(ReferencePoint::Text("150 mm below isocentre".into()).is_interventional_reference_point());
    /// assert!(!ReferencePoint::Text("15cm above table".into()).is_interventional_reference_point());
    /// assert!(!ReferencePoint::Text("30cm below isocenter".into()).is_interventional_reference_point());
    /// ```
    pub fn is_text_interventional_reference_point(&self) -> bool {
        matches!(self, ReferencePoint::Text(t) if reference_point::states_interventional_reference_point(t))
    }
    /// The code value or text, for reports.
    pub fn label(&self) -> &str {
        match self {
            ReferencePoint::Code(c) => c.value(),
            ReferencePoint::Text(t) => t,
        }
    }
}

/// The device that recorded the report (TID 1004 device observer items).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Device {
    /// Device Observer UID (121012), if present and usable.
    pub observer_uid: Option<String>,
    /// Device Observer Name (121013).
    pub name: Option<String>,
    /// Device Observer Manufacturer (121014).
    pub manufacturer: Option<String>,
    /// Device Observer Model Name (121015).
    pub model: Option<String>,
    /// Device Observer Serial Number (121016).
    pub serial_number: Option<String>,
}

/// What the report's totals cover (Scope of Accumulation, 113705, CID 10000).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scope {
    /// The scope code (113014 Study, 113016 Performed Procedure Step, …).
    pub level: Code,
    /// The UID of that scope (110180, 112002, 121126 or 113769 under it).
    pub uid: Option<String>,
}

impl Scope {
    /// Whether the scope is a whole study (113014).
    pub fn is_study(&self) -> bool {
        self.level.value() == "113014" && self.level.scheme() == "DCM"
    }
}

/// Accumulated dose of one plane (TID 10002, with TID 10004 / 10007 rows).
///
/// `None` means not reported; a zero that is written is `Some(0)`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PlaneDose {
    /// The plane (a container without Acquisition Plane is taken as single plane, with a warning).
    pub plane: Plane,
    /// Dose Area Product Total (113722).
    pub dap_total: Option<Dap>,
    /// Fluoro Dose Area Product Total (113726).
    pub dap_fluoro: Option<Dap>,
    /// Acquisition Dose Area Product Total (113727).
    pub dap_acquisition: Option<Dap>,
    /// Dose (RP) Total (113725): air kerma at the reference point.
    pub ka_r_total: Option<AirKerma>,
    /// Fluoro Dose (RP) Total (113728).
    pub ka_r_fluoro: Option<AirKerma>,
    /// Acquisition Dose (RP) Total (113729).
    pub ka_r_acquisition: Option<AirKerma>,
    /// Total Fluoro Time (113730).
    pub fluoro_time: Option<Duration>,
    /// Total Acquisition Time (113855).
    pub acquisition_time: Option<Duration>,
    /// Total Number of Radiographic Frames (113731).
    pub acquisition_frames: Option<u64>,
    /// Reference Point Definition (113780) of the container (or of its events, when all agree).
    pub reference_point: Option<ReferencePoint>,
    /// Distance Source to Reference Point (113737), in metres.
    pub distance_source_to_rp_m: Option<f64>,
}

impl PlaneDose {
    /// A plane with nothing reported yet.
    pub(crate) fn new(plane: Plane) -> PlaneDose {
        PlaneDose {
            plane,
            dap_total: None,
            dap_fluoro: None,
            dap_acquisition: None,
            ka_r_total: None,
            ka_r_fluoro: None,
            ka_r_acquisition: None,
            fluoro_time: None,
            acquisition_time: None,
            acquisition_frames: None,
            reference_point: None,
            distance_source_to_rp_m: None,
        }
    }
}

/// An X-ray filter of an event (113771 container).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Filter {
    /// X-Ray Filter Type (113772).
    pub filter_type: Option<Code>,
    /// X-Ray Filter Material (113757).
    pub material: Option<Code>,
    /// Minimum thickness (113758), mm, converted by its unit code (`mm`, `cm`, `m`).
    pub thickness_min_mm: Option<f64>,
    /// Maximum thickness (113773), mm, converted by its unit code.
    pub thickness_max_mm: Option<f64>,
}

/// One irradiation event: one press of the exposure switch (TID 10003).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IrradiationEvent {
    /// Irradiation Event UID (113769): the de-duplication key across reports and images.
    pub uid: Option<String>,
    /// Irradiation Event Type (113721).
    pub event_type: Option<Code>,
    /// Category from the event type.
    pub category: EventCategory,
    /// Acquisition Plane (113764).
    pub plane: Option<Plane>,
    /// DateTime Started (111526), DICOM DT as written.
    pub started: Option<String>,
    /// Acquisition Protocol (125203).
    pub protocol: Option<String>,
    /// Target Region (123014).
    pub target_region: Option<Code>,
    /// Dose Area Product (122130).
    pub dap: Option<Dap>,
    /// Dose (RP) (113738): air kerma at the reference point.
    pub ka_r: Option<AirKerma>,
    /// Irradiation Duration (113742), as declared (Canon Alphenix writes it about 100× too large).
    pub duration: Option<Duration>,
    /// Exposure Time (113824, or retired 113735).
    pub exposure_time: Option<Duration>,
    /// Number of Pulses (113768), as found.
    pub pulses: Option<f64>,
    /// Pulse Rate (113791), pulses per second, as found.
    pub pulse_rate: Option<f64>,
    /// KVP (113733), kV, possibly one value per pulse.
    pub kvp: Option<Technique>,
    /// X-Ray Tube Current (113734), mA, possibly per pulse.
    pub tube_current: Option<Technique>,
    /// Pulse Width (113793), ms, possibly per pulse.
    pub pulse_width: Option<Technique>,
    /// Exposure (113736), µAs, as found.
    pub exposure_uas: Option<f64>,
    /// Positioner Primary Angle (112011), degrees (also [`Geometry::primary_angle`]).
    pub primary_angle_deg: Option<f64>,
    /// Positioner Secondary Angle (112012), degrees (also [`Geometry::secondary_angle`]).
    pub secondary_angle_deg: Option<f64>,
    /// Distance Source to Detector (113750), metres: [`Geometry::source_to_detector`], which
    /// may come from a Philips private item (see its flag).
    pub source_to_detector_m: Option<f64>,
    /// Collimated Field Area (113790), m².
    pub field_area_m2: Option<f64>,
    /// X-Ray Filters (113771).
    pub filters: Vec<Filter>,
    /// Reference Point Definition (113780) of the event.
    pub reference_point: Option<ReferencePoint>,
    /// Positioner, table, distances, field size and patient position (TID 10003B / 10003C);
    /// `primary_angle_deg`, `secondary_angle_deg` and `source_to_detector_m` above are the
    /// same values as plain numbers.
    pub geometry: Geometry,
}

/// The dose content of one dose report (an RDSR, or a vendor summary).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DoseReport {
    /// RDSR totals, or a vendor summary.
    pub provenance: Provenance,
    /// TemplateIdentifier of the root (`10001`), if declared.
    pub template: Option<String>,
    /// Procedure reported (121058).
    pub procedure_reported: Option<Code>,
    /// Acquisition Device Type (122142), rarely present and not trusted alone.
    pub acquisition_device_type: Option<Code>,
    /// The recording device.
    pub device: Device,
    /// Scope of Accumulation (113705) and its UID.
    pub scope: Option<Scope>,
    /// Source of Dose Information (113854), 1-n.
    pub sources_of_dose_information: Vec<Code>,
    /// Start of X-Ray Irradiation (113809), DT.
    pub irradiation_start: Option<String>,
    /// End of X-Ray Irradiation (113810), DT.
    pub irradiation_end: Option<String>,
    /// Whether the report shows fluoroscopy (events, fluoro totals or a fluoroscopy device type).
    pub fluoroscopy_system: bool,
    /// Number of exposures of a vendor summary (Siemens C-200); `None` for RDSRs.
    pub vendor_exposures: Option<u64>,
    /// Accumulated dose per plane, in file order.
    pub planes: Vec<PlaneDose>,
    /// Irradiation events, in file order.
    pub events: Vec<IrradiationEvent>,
}

/// Builds a TID 10001 projection X-ray report from the root's content items, handed over one
/// at a time as they are read (see `dataset::parse_visiting`): the report needs no more of the
/// tree than the item at hand.
pub(crate) struct ReportBuilder {
    report: DoseReport,
    max_events: usize,
    root_study_uid: Option<String>,
    /// The patient position of a Siemens root comment.
    comment_position: Option<PatientPosition>,
    device_uid_text: bool,
    /// The content items' warnings, in their order, and the report's codes.
    reader: NumReader,
    /// Too many events: no more items are read, and the report fails.
    error: Option<ParseError>,
}

impl ReportBuilder {
    pub(crate) fn new(limits: &Limits) -> Self {
        ReportBuilder {
            report: DoseReport {
                provenance: Provenance::RdsrTotal,
                template: None,
                procedure_reported: None,
                acquisition_device_type: None,
                device: Device::default(),
                scope: None,
                sources_of_dose_information: Vec::new(),
                irradiation_start: None,
                irradiation_end: None,
                fluoroscopy_system: false,
                vendor_exposures: None,
                planes: Vec::new(),
                events: Vec::new(),
            },
            max_events: limits.max_events,
            root_study_uid: None,
            comment_position: None,
            device_uid_text: false,
            reader: NumReader::default(),
            error: None,
        }
    }

    /// Reads one of the root's content items, in document order.
    pub(crate) fn child(&mut self, c: &Content<'_, '_>) {
        if self.error.is_none() {
            self.error = self.read(c).err();
        }
    }

    fn read(&mut self, c: &Content<'_, '_>) -> Result<(), ParseError> {
        let (report, reader) = (&mut self.report, &mut self.reader);
        let Some(k) = c.concept() else { return Ok(()) };
        if k.is(codes::PROCEDURE_REPORTED) {
            report.procedure_reported = c.code().map(|x| x.to_owned_code());
        } else if k.is(codes::HAS_INTENT) || k.is(codes::HAS_INTENT_SRT) {
            reader.warnings.push(Warning::Misplaced {
                what: "Has Intent at root level instead of under Procedure reported",
            });
        } else if k.is(codes::ACQUISITION_DEVICE_TYPE) {
            report.acquisition_device_type = c.code().map(|x| x.to_owned_code());
        } else if k.is(codes::DEVICE_OBSERVER_UID) {
            report.device.observer_uid = match c.value_type() {
                Some("TEXT") => {
                    self.device_uid_text = true;
                    c.text().filter(|t| is_uid(t))
                }
                _ => c.uid().map(str::to_owned),
            };
        } else if k.is(codes::DEVICE_OBSERVER_NAME) {
            report.device.name = c.text();
        } else if k.is(codes::DEVICE_OBSERVER_MANUFACTURER) {
            report.device.manufacturer = c.text();
        } else if k.is(codes::DEVICE_OBSERVER_MODEL) {
            report.device.model = c.text();
        } else if k.is(codes::DEVICE_OBSERVER_SERIAL) {
            report.device.serial_number = c.text();
        } else if k.is(codes::SCOPE_OF_ACCUMULATION) {
            if let Some(level) = c.code() {
                let uid = c
                    .children()
                    .find(|u| {
                        u.concept().is_some_and(|k| {
                            k.is(codes::STUDY_INSTANCE_UID)
                                || k.is(codes::SERIES_INSTANCE_UID)
                                || k.is(codes::PPS_INSTANCE_UID)
                                || k.is(codes::IRRADIATION_EVENT_UID)
                        })
                    })
                    .and_then(|u| u.uid().map(str::to_owned));
                report.scope = Some(Scope {
                    level: level.to_owned_code(),
                    uid,
                });
            }
        } else if k.is(codes::STUDY_INSTANCE_UID) {
            self.root_study_uid = c.uid().map(str::to_owned);
        } else if k.is(codes::COMMENT) {
            if let Some(p) = c
                .text()
                .as_deref()
                .and_then(geometry::patient_position_in_comment)
            {
                self.comment_position = Some(p);
            }
        } else if k.is(codes::SOURCE_OF_DOSE_INFORMATION) {
            if let Some(code) = c.code() {
                report
                    .sources_of_dose_information
                    .push(code.to_owned_code());
            }
        } else if k.is(codes::START_OF_IRRADIATION) {
            report.irradiation_start = c.datetime().map(str::to_owned);
        } else if k.is(codes::END_OF_IRRADIATION) {
            report.irradiation_end = c.datetime().map(str::to_owned);
        } else if k.is(codes::ACCUMULATED_DOSE_DATA) {
            report.planes.push(accumulated(c, reader));
        } else if k.is(codes::IRRADIATION_EVENT_DATA) {
            if report.events.len() >= self.max_events {
                return Err(ParseError::LimitExceeded {
                    what: "irradiation events",
                    limit: self.max_events as u64,
                });
            }
            report.events.push(event(c, reader));
        }
        Ok(())
    }

    /// The report, once every content item has been read: `root` gives the template, and
    /// `warnings` gets the report's warnings after those already there.
    pub(crate) fn finish(
        self,
        root: &Tree<'_>,
        warnings: &mut Vec<Warning>,
    ) -> Result<DoseReport, ParseError> {
        let ReportBuilder {
            mut report,
            root_study_uid,
            comment_position,
            device_uid_text,
            reader,
            error,
            ..
        } = self;
        if let Some(e) = error {
            return Err(e);
        }
        report.template = root
            .root()
            .items(crate::sr::CONTENT_TEMPLATE)
            .first()
            .and_then(|t| t.ascii(crate::sr::TEMPLATE_IDENTIFIER))
            .map(str::to_owned);
        match report.template.as_deref() {
            None => warnings.push(Warning::NoTemplateIdentifier),
            Some("10001") => {}
            Some(other) => warnings.push(Warning::UnexpectedTemplate {
                template: other.to_owned(),
            }),
        }
        warnings.extend(reader.warnings);
        if let Some(uid) = root_study_uid {
            warnings.push(Warning::Misplaced {
            what: "Study Instance UID (110180) at root level instead of under Scope of Accumulation",
        });
            match &mut report.scope {
                Some(scope) if scope.uid.is_none() => scope.uid = Some(uid),
                Some(_) => {}
                None => {
                    report.scope = Some(Scope {
                        level: Code::new("113014", "DCM", "Study"),
                        uid: Some(uid),
                    })
                }
            }
        }
        if device_uid_text {
            warnings.push(Warning::DeviceUidAsText);
        }
        if report.device.observer_uid.is_none() {
            warnings.push(Warning::NoDeviceObserverUid);
        }
        let missing_rel = root.content_items_without_relationship();
        if missing_rel > 0 {
            warnings.push(Warning::MissingRelationshipType { count: missing_rel });
        }
        check_consistency(&mut report, warnings);
        for e in &mut report.events {
            e.geometry.set_patient_position(comment_position);
        }
        geometry::check_events(
            report
                .events
                .iter_mut()
                .map(|e| (&mut e.geometry, e.field_area_m2)),
            is_azurion(&report.device),
            warnings,
        );
        // The event list grew by doubling; results may be kept by the thousand (a folder
        // run's reorder window, a caller's archive), so they hold only what they use.
        report.events.shrink_to_fit();
        Ok(report)
    }
}

/// Whether the report's device is a Philips Azurion, whose table positions are not in the
/// beam's frame (reported to PySkinDose as #48).
fn is_azurion(d: &Device) -> bool {
    let philips = d
        .manufacturer
        .as_deref()
        .is_none_or(|m| m.to_ascii_lowercase().contains("philips"));
    philips
        && d.model
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains("azurion"))
}

fn is_uid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !s.starts_with('.')
        && !s.ends_with('.')
}

fn reference_point(c: &Content<'_, '_>, cache: &mut CodeCache) -> Option<ReferencePoint> {
    match c.value_type() {
        Some("TEXT") => c.text().map(ReferencePoint::Text),
        _ => c
            .code()
            .map(|x| ReferencePoint::Code(cache.get(x)))
            .or_else(|| c.text().map(ReferencePoint::Text)),
    }
}

/// Reads an accumulated container: items at any depth except inside Calibration.
fn accumulated(container: &Content<'_, '_>, r: &mut NumReader) -> PlaneDose {
    let plane = container
        .child(codes::ACQUISITION_PLANE)
        .and_then(|p| p.code())
        .and_then(|c| Plane::from_code(c.value));
    if plane.is_none() {
        r.warnings.push(Warning::ContainerWithoutPlane);
    }
    let mut p = PlaneDose::new(plane.unwrap_or(Plane::Single));
    fn visit(c: &Content<'_, '_>, p: &mut PlaneDose, r: &mut NumReader) {
        for k in c.children() {
            let Some(concept) = k.concept() else { continue };
            if concept.is(codes::CALIBRATION) {
                continue;
            }
            let dap = |r: &mut NumReader, x: Concept| r.dap(&k, x);
            if concept.is(codes::DAP_TOTAL) {
                p.dap_total = dap(r, codes::DAP_TOTAL);
            } else if concept.is(codes::FLUORO_DAP_TOTAL) {
                p.dap_fluoro = dap(r, codes::FLUORO_DAP_TOTAL);
            } else if concept.is(codes::ACQUISITION_DAP_TOTAL) {
                p.dap_acquisition = dap(r, codes::ACQUISITION_DAP_TOTAL);
            } else if concept.is(codes::DOSE_RP_TOTAL) {
                p.ka_r_total = r.air_kerma(&k, codes::DOSE_RP_TOTAL);
            } else if concept.is(codes::FLUORO_DOSE_RP_TOTAL) {
                p.ka_r_fluoro = r.air_kerma(&k, codes::FLUORO_DOSE_RP_TOTAL);
            } else if concept.is(codes::ACQUISITION_DOSE_RP_TOTAL) {
                p.ka_r_acquisition = r.air_kerma(&k, codes::ACQUISITION_DOSE_RP_TOTAL);
            } else if concept.is(codes::TOTAL_FLUORO_TIME) {
                p.fluoro_time = r.duration(&k, codes::TOTAL_FLUORO_TIME);
            } else if concept.is(codes::TOTAL_ACQUISITION_TIME) {
                p.acquisition_time = r.duration(&k, codes::TOTAL_ACQUISITION_TIME);
            } else if concept.is(codes::TOTAL_FRAMES) {
                p.acquisition_frames = r.count(&k, codes::TOTAL_FRAMES);
            } else if concept.is(codes::DISTANCE_SOURCE_TO_RP) {
                p.distance_source_to_rp_m = r.length_m(&k, codes::DISTANCE_SOURCE_TO_RP);
            } else if concept.is(codes::REFERENCE_POINT_DEFINITION) {
                p.reference_point = reference_point(&k, &mut r.codes);
            }
            if k.value_type() == Some("CONTAINER") {
                visit(&k, p, r);
            }
        }
    }
    visit(container, &mut p, r);
    p
}

fn category_of(t: Option<&Code>, warnings: &mut Vec<Warning>) -> EventCategory {
    let Some(t) = t else {
        return EventCategory::Other;
    };
    if t.is(codes::FLUOROSCOPY) || t.is(codes::FLUOROSCOPY_SRT) || t.is(codes::FLUOROSCOPY_SNM3) {
        return EventCategory::Fluoroscopy;
    }
    if t.is(codes::STATIONARY_ACQUISITION)
        || t.is(codes::STEPPING_ACQUISITION)
        || t.is(codes::ROTATIONAL_ACQUISITION)
    {
        return EventCategory::Acquisition;
    }
    let meaning = t.meaning().to_ascii_lowercase();
    if meaning == "fluoroscopy" {
        warnings.push(Warning::EventTypeByMeaning {
            meaning: t.meaning().to_owned(),
        });
        EventCategory::Fluoroscopy
    } else if meaning.contains("acquisition") {
        warnings.push(Warning::EventTypeByMeaning {
            meaning: t.meaning().to_owned(),
        });
        EventCategory::Acquisition
    } else {
        EventCategory::Other
    }
}

fn event(c: &Content<'_, '_>, r: &mut NumReader) -> IrradiationEvent {
    let mut e = IrradiationEvent {
        uid: None,
        event_type: None,
        category: EventCategory::Other,
        plane: None,
        started: None,
        protocol: None,
        target_region: None,
        dap: None,
        ka_r: None,
        duration: None,
        exposure_time: None,
        pulses: None,
        pulse_rate: None,
        kvp: None,
        tube_current: None,
        pulse_width: None,
        exposure_uas: None,
        primary_angle_deg: None,
        secondary_angle_deg: None,
        source_to_detector_m: None,
        field_area_m2: None,
        filters: Vec::new(),
        reference_point: None,
        geometry: Geometry::default(),
    };
    let mut modifier_sibling = false;
    let mut vendor = VendorItems::default();
    for k in c.children() {
        let Some(concept) = k.concept() else { continue };
        let v = concept.value;
        if concept.scheme != b"DCM" {
            vendor.note(concept, k);
            continue;
        }
        match v {
            b"113764" => e.plane = k.code().and_then(|x| Plane::from_code(x.value)),
            b"113769" | b"113853" => e.uid = k.uid().map(str::to_owned),
            b"111526" => e.started = k.datetime().map(str::to_owned),
            b"113721" => e.event_type = k.code().map(|x| r.codes.get(x)),
            b"125203" => e.protocol = k.text(),
            b"123014" => e.target_region = k.code().map(|x| r.codes.get(x)),
            b"122130" => e.dap = r.dap(&k, codes::DAP),
            b"113738" => e.ka_r = r.air_kerma(&k, codes::DOSE_RP),
            b"113742" => e.duration = r.duration(&k, codes::IRRADIATION_DURATION),
            b"113824" => e.exposure_time = r.duration(&k, codes::EXPOSURE_TIME),
            b"113735" if e.exposure_time.is_none() => {
                e.exposure_time = r.duration(&k, codes::EXPOSURE_TIME_RETIRED);
            }
            b"113768" => e.pulses = r.technique_value(&k, codes::NUMBER_OF_PULSES),
            b"113791" => e.pulse_rate = r.technique_value(&k, codes::PULSE_RATE),
            b"113733" => e.kvp = r.technique(&k, codes::KVP),
            b"113734" => e.tube_current = r.technique(&k, codes::TUBE_CURRENT),
            b"113793" => e.pulse_width = r.technique(&k, codes::PULSE_WIDTH),
            b"113736" => e.exposure_uas = r.technique_value(&k, codes::EXPOSURE),
            b"113790" => e.field_area_m2 = r.area_m2(&k, codes::COLLIMATED_FIELD_AREA),
            b"113780" => e.reference_point = reference_point(&k, &mut r.codes),
            b"113744" => {
                modifier_sibling = true;
                e.geometry.read_item(v, &k, r);
            }
            b"113771" => {
                let mut f = Filter {
                    filter_type: None,
                    material: None,
                    thickness_min_mm: None,
                    thickness_max_mm: None,
                };
                for x in k.children() {
                    let Some(xc) = x.concept() else { continue };
                    if xc.is(codes::XRAY_FILTER_TYPE) {
                        f.filter_type = x.code().map(|y| r.codes.get(y));
                    } else if xc.is(codes::XRAY_FILTER_MATERIAL) {
                        f.material = x.code().map(|y| r.codes.get(y));
                    } else if xc.is(codes::XRAY_FILTER_THICKNESS_MIN) {
                        f.thickness_min_mm = r
                            .distance(&x, codes::XRAY_FILTER_THICKNESS_MIN)
                            .map(Length::as_mm);
                    } else if xc.is(codes::XRAY_FILTER_THICKNESS_MAX) {
                        f.thickness_max_mm = r
                            .distance(&x, codes::XRAY_FILTER_THICKNESS_MAX)
                            .map(Length::as_mm);
                    }
                }
                // Events hold one or two filters: room for exactly those, not for four.
                e.filters.reserve_exact(1);
                e.filters.push(f);
            }
            _ => {
                e.geometry.read_item(v, &k, r);
            }
        }
    }
    vendor.apply(&mut e.geometry, r);
    let g = &e.geometry;
    e.primary_angle_deg = g.primary_angle.map(Angle::as_deg);
    e.secondary_angle_deg = g.secondary_angle.map(Angle::as_deg);
    e.source_to_detector_m = g.source_to_detector.map(Length::as_m);
    if modifier_sibling {
        r.warnings.push(Warning::Misplaced {
            what: "Patient Orientation Modifier (113744) is a sibling of Patient Orientation, not its child",
        });
    }
    e.category = category_of(e.event_type.as_ref(), &mut r.warnings);
    e
}

/// Compensated sum of a per-event SI value over events; `None` when no event has it.
pub(crate) fn event_sum<'e>(
    events: impl IntoIterator<Item = &'e IrradiationEvent>,
    f: impl Fn(&IrradiationEvent) -> Option<f64>,
) -> Option<f64> {
    units::compensated_sum(events.into_iter().filter_map(f))
}

/// The events of one plane, with their sums and agreed reference point computed on demand
/// and kept.
struct PlaneEvents<'e> {
    events: Vec<&'e IrradiationEvent>,
    reference_point: Option<Option<&'e ReferencePoint>>,
    sums: HashMap<(Option<EventCategory>, bool), Option<f64>>,
}

impl<'e> PlaneEvents<'e> {
    fn new(all: &'e [IrradiationEvent], plane: Plane) -> PlaneEvents<'e> {
        PlaneEvents {
            events: all.iter().filter(|e| e.plane == Some(plane)).collect(),
            reference_point: None,
            sums: HashMap::new(),
        }
    }

    /// The events' reference point when they all agree.
    fn agreed_reference_point(&mut self) -> Option<&'e ReferencePoint> {
        let events = &self.events;
        *self.reference_point.get_or_insert_with(|| {
            let mut rps = events.iter().filter_map(|e| e.reference_point.as_ref());
            let first = rps.next()?;
            rps.all(|r| r == first).then_some(first)
        })
    }

    /// Sum of DAP (`is_dap`) or K_a,r over the events of `category` (all when `None`).
    fn sum(&mut self, category: Option<EventCategory>, is_dap: bool) -> Option<f64> {
        let events = &self.events;
        *self.sums.entry((category, is_dap)).or_insert_with(|| {
            event_sum(
                events
                    .iter()
                    .copied()
                    .filter(|e| category.is_none_or(|c| e.category == c)),
                |e| {
                    if is_dap {
                        e.dap.map(Dap::as_gy_m2)
                    } else {
                        e.ka_r.map(AirKerma::as_gy)
                    }
                },
            )
        })
    }
}

fn check_consistency(report: &mut DoseReport, warnings: &mut Vec<Warning>) {
    let fluoro_events = report
        .events
        .iter()
        .any(|e| e.category == EventCategory::Fluoroscopy);
    let fluoro_totals = report
        .planes
        .iter()
        .any(|p| p.dap_fluoro.is_some() || p.ka_r_fluoro.is_some() || p.fluoro_time.is_some());
    let fluoro_device = report
        .acquisition_device_type
        .as_ref()
        .is_some_and(|c| c.is(codes::FLUORO_GUIDED_DEVICE));
    report.fluoroscopy_system = fluoro_events || fluoro_totals || fluoro_device;
    if !report.fluoroscopy_system {
        warnings.push(Warning::NotFluoroscopySystem);
    } else if report
        .acquisition_device_type
        .as_ref()
        .is_some_and(|c| c.is(codes::INTEGRATED_PROJECTION_DEVICE))
        && fluoro_events
    {
        warnings.push(Warning::DeviceTypeContradiction);
    }
    if report.planes.is_empty() {
        warnings.push(Warning::NoAccumulatedData);
    }
    let n_no_type = report
        .events
        .iter()
        .filter(|e| e.event_type.is_none())
        .count();
    if n_no_type > 0 {
        warnings.push(Warning::EventWithoutType { count: n_no_type });
    }
    let n_no_plane = report.events.iter().filter(|e| e.plane.is_none()).count();
    if n_no_plane > 0 {
        warnings.push(Warning::EventWithoutPlane { count: n_no_plane });
    }
    let n_no_uid = report.events.iter().filter(|e| e.uid.is_none()).count();
    if n_no_uid > 0 {
        warnings.push(Warning::EventWithoutUid { count: n_no_uid });
    }
    for plane in [Plane::Single, Plane::A, Plane::B, Plane::All] {
        let n = report
            .events
            .iter()
            .filter(|e| e.plane == Some(plane))
            .count();
        if n > 0 && !report.planes.iter().any(|p| p.plane == plane) && !report.planes.is_empty() {
            warnings.push(Warning::EventsWithoutContainer {
                plane: plane.as_str().to_owned(),
                count: n,
            });
        }
    }
    // Containers of the same plane share their events: each plane's event list, agreed
    // reference point and sums are computed once, so that a file with many containers does not
    // cost containers × events.
    let all_events = &report.events;
    let mut per_plane: HashMap<Plane, PlaneEvents<'_>> = HashMap::new();
    for p in &mut report.planes {
        let pe = per_plane
            .entry(p.plane)
            .or_insert_with(|| PlaneEvents::new(all_events, p.plane));
        // Reference point: the container's, else the events' when they all agree.
        if p.reference_point.is_none() {
            p.reference_point = pe.agreed_reference_point().cloned();
            warnings.push(Warning::NoReferencePointDefinition);
        }
        if let Some(rp @ ReferencePoint::Text(t)) = &p.reference_point {
            warnings.push(if rp.is_text_interventional_reference_point() {
                Warning::ReferencePointTextIsInterventional { text: t.clone() }
            } else {
                Warning::ReferencePointAsText { text: t.clone() }
            });
        }
        let plane = p.plane.as_str();
        let pairs: [(Option<f64>, Option<EventCategory>, bool, Concept); 6] = [
            (p.dap_total.map(Dap::as_gy_m2), None, true, codes::DAP_TOTAL),
            (
                p.dap_fluoro.map(Dap::as_gy_m2),
                Some(EventCategory::Fluoroscopy),
                true,
                codes::FLUORO_DAP_TOTAL,
            ),
            (
                p.dap_acquisition.map(Dap::as_gy_m2),
                Some(EventCategory::Acquisition),
                true,
                codes::ACQUISITION_DAP_TOTAL,
            ),
            (
                p.ka_r_total.map(AirKerma::as_gy),
                None,
                false,
                codes::DOSE_RP_TOTAL,
            ),
            (
                p.ka_r_fluoro.map(AirKerma::as_gy),
                Some(EventCategory::Fluoroscopy),
                false,
                codes::FLUORO_DOSE_RP_TOTAL,
            ),
            (
                p.ka_r_acquisition.map(AirKerma::as_gy),
                Some(EventCategory::Acquisition),
                false,
                codes::ACQUISITION_DOSE_RP_TOTAL,
            ),
        ];
        for (total, category, is_dap, concept) in pairs {
            let sum = pe.sum(category, is_dap);
            if let (Some(total), Some(sum)) = (total, sum) {
                let rel = (total - sum).abs() / total.abs().max(sum.abs()).max(1e-30);
                if rel > 1e-3 {
                    warnings.push(Warning::TotalDiffersFromEvents {
                        plane: plane.to_owned(),
                        concept,
                        total,
                        event_sum: sum,
                    });
                }
            }
        }
    }
}
