//! Stage 3b: XA/RF image headers (classic and Enhanced) → per-image dose attributes.
//!
//! One image is not one irradiation event: (0018,115E) repeats the whole event's DAP in
//! every image of the event. This module reads what one header says; [`crate::Procedures`]
//! keys images by Irradiation Event UID so that an event's DAP is counted once.

use std::time::Duration;

use crate::dataset::{Item, Value, Vr};
use crate::units::{AirKerma, Dap, duration_from_secs};
use crate::value::{Attr, ascii_value, parse_ds, parse_is, trim_padding};
use crate::warning::Warning;

macro_rules! attrs {
    ($($id:ident = $tag:literal, $vr:literal, $kw:literal;)*) => {
        $(pub(crate) const $id: Attr = Attr { keyword: $kw, tag: $tag, vr: *$vr };)*
    };
}

attrs! {
    AREA_DOSE_PRODUCT = 0x0018_115E, b"DS", "ImageAndFluoroscopyAreaDoseProduct";
    ENTRANCE_DOSE_MGY = 0x0040_8302, b"DS", "EntranceDoseInmGy";
    ENTRANCE_DOSE = 0x0040_0302, b"US", "EntranceDose";
    TOTAL_FLUORO_TIME = 0x0040_0300, b"US", "TotalTimeOfFluoroscopy";
    TOTAL_EXPOSURES = 0x0040_0301, b"US", "TotalNumberOfExposures";
    EXPOSURE_TIME = 0x0018_1150, b"IS", "ExposureTime";
    EXPOSURE_TIME_MS = 0x0018_9328, b"FD", "ExposureTimeInms";
    TUBE_CURRENT = 0x0018_1151, b"IS", "XRayTubeCurrent";
    TUBE_CURRENT_MA = 0x0018_9330, b"FD", "XRayTubeCurrentInmA";
    KVP = 0x0018_0060, b"DS", "KVP";
    EXPOSURE = 0x0018_1152, b"IS", "Exposure";
    EXPOSURE_MAS = 0x0018_9332, b"FD", "ExposureInmAs";
    NUMBER_OF_FRAMES = 0x0028_0008, b"IS", "NumberOfFrames";
    FRAME_TIME = 0x0018_1063, b"DS", "FrameTime";
    PRIMARY_ANGLE = 0x0018_1510, b"DS", "PositionerPrimaryAngle";
    SECONDARY_ANGLE = 0x0018_1511, b"DS", "PositionerSecondaryAngle";
    SOURCE_TO_DETECTOR = 0x0018_1110, b"DS", "DistanceSourceToDetector";
    SOURCE_TO_PATIENT = 0x0018_1111, b"DS", "DistanceSourceToPatient";
    RADIATION_SETTING = 0x0018_1155, b"CS", "RadiationSetting";
    IRRADIATION_EVENT_UID = 0x0008_3010, b"UI", "IrradiationEventUID";
    ACQUISITION_DURATION = 0x0018_9073, b"FD", "AcquisitionDuration";
}

const SHARED_GROUPS: u32 = 0x5200_9229;
const PER_FRAME_GROUPS: u32 = 0x5200_9230;
const EVENT_ID_SEQ: u32 = 0x0018_9477;
const FRAME_ACQUISITION_SEQ: u32 = 0x0018_9417;
const FRAME_CONTENT_SEQ: u32 = 0x0020_9111;
const POSITIONER_SEQ: u32 = 0x0018_9405;
const FRAME_ACQUISITION_DATETIME: u32 = 0x0018_9074;

/// Per-frame values of an Enhanced XA/XRF image (shared values applied where a frame has none).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct FrameDose {
    /// Irradiation Event UID of the frame ((0018,9477) > (0008,3010)).
    pub irradiation_event_uid: Option<String>,
    /// KVP, kV ((0018,9417) > (0018,0060)).
    pub kvp: Option<f64>,
    /// X-Ray Tube Current in mA ((0018,9417) > (0018,9330)).
    pub tube_current_ma: Option<f64>,
    /// Frame Acquisition DateTime ((0020,9111) > (0018,9074)).
    pub acquisition_datetime: Option<String>,
    /// Positioner Primary Angle, degrees ((0018,9405) > (0018,1510)).
    pub primary_angle_deg: Option<f64>,
    /// Positioner Secondary Angle, degrees ((0018,9405) > (0018,1511)).
    pub secondary_angle_deg: Option<f64>,
}

/// Dose and technique attributes of one XA/RF image header.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ImageDose {
    /// Number of Frames (0028,0008).
    pub frames: Option<u32>,
    /// Image and Fluoroscopy Area Dose Product (0018,115E), read in dGy·cm²: the DAP of the
    /// whole irradiation event, repeated in each of its images. Never sum it per image.
    pub dap: Option<Dap>,
    /// Entrance Dose in mGy (0040,8302), else Entrance Dose (0040,0302, integer dGy).
    pub entrance_dose: Option<AirKerma>,
    /// Total Time of Fluoroscopy (0040,0300), seconds (retired, procedure-step scoped).
    pub fluoro_time: Option<Duration>,
    /// Total Number of Exposures (0040,0301) (retired, procedure-step scoped).
    pub exposures: Option<u32>,
    /// Irradiation Event UIDs (0008,3010), or the distinct ones of the frames (Enhanced).
    pub irradiation_event_uids: Vec<String>,
    /// KVP (0018,0060), kV (Enhanced: the mean over frames when not given at image level).
    pub kvp: Option<f64>,
    /// X-Ray Tube Current (0018,1151 mA, or 0018,9330).
    pub tube_current_ma: Option<f64>,
    /// Exposure Time (0018,1150 ms, or 0018,9328).
    pub exposure_time: Option<Duration>,
    /// Exposure (0018,1152 mAs, or 0018,9332).
    pub exposure_mas: Option<f64>,
    /// Frame Time (0018,1063), ms.
    pub frame_time_ms: Option<f64>,
    /// Acquisition Duration (0018,9073), seconds (Enhanced).
    pub acquisition_duration: Option<Duration>,
    /// Positioner Primary Angle (0018,1510), degrees.
    pub primary_angle_deg: Option<f64>,
    /// Positioner Secondary Angle (0018,1511), degrees.
    pub secondary_angle_deg: Option<f64>,
    /// Distance Source to Detector (0018,1110), mm.
    pub source_to_detector_mm: Option<f64>,
    /// Distance Source to Patient (0018,1111), mm (meaning depends on the module).
    pub source_to_patient_mm: Option<f64>,
    /// Radiation Setting (0018,1155): `SC` fluoroscopic, `GR` acquisition.
    pub radiation_setting: Option<String>,
    /// Acquisition DateTime (0008,002A), or Acquisition Date + Time (0008,0022 / 0008,0032).
    pub acquisition_datetime: Option<String>,
    /// Per-frame values (Enhanced images only).
    pub per_frame: Vec<FrameDose>,
}

impl ImageDose {
    /// Whether the header carries any dose quantity.
    pub fn has_dose(&self) -> bool {
        self.dap.is_some() || self.entrance_dose.is_some() || self.fluoro_time.is_some()
    }
}

struct Reader<'w> {
    warnings: &'w mut Vec<Warning>,
}

impl Reader<'_> {
    /// The raw bytes of an attribute, checking its VR in explicit data.
    fn raw<'a>(&mut self, item: &Item<'_, 'a>, attr: Attr) -> Option<&'a [u8]> {
        let e = item.get(attr.tag)?;
        let Value::Bytes(b) = e.value else {
            self.invalid(
                attr,
                "SQ".to_owned(),
                "a sequence where a value is expected",
            );
            return None;
        };
        if e.vr != Vr(attr.vr) && e.vr != Vr::UN {
            self.invalid(attr, format!("{:?}", e.vr), "wrong value representation");
            return None;
        }
        if trim_padding(b).is_empty() {
            return None;
        }
        Some(b)
    }
    fn invalid(&mut self, attr: Attr, raw: String, reason: &'static str) {
        self.warnings
            .push(Warning::InvalidAttribute { attr, raw, reason });
    }
    fn ds(&mut self, item: &Item<'_, '_>, attr: Attr) -> Option<f64> {
        let b = self.raw(item, attr)?;
        // Every value must parse (the first bad one is reported), and there must be one.
        let mut values = 0;
        let mut first = None;
        for v in b.split(|&c| c == b'\\').map(parse_ds) {
            match v {
                Ok(v) => {
                    values += 1;
                    first.get_or_insert(v);
                }
                Err(reason) => {
                    self.invalid(attr, lossy(b), reason);
                    return None;
                }
            }
        }
        if values > 1 {
            self.invalid(attr, lossy(b), "several values where one is expected");
            return None;
        }
        first
    }
    fn non_negative(&mut self, item: &Item<'_, '_>, attr: Attr) -> Option<f64> {
        let v = self.ds(item, attr)?;
        if v < 0.0 {
            self.invalid(attr, v.to_string(), "negative");
            return None;
        }
        Some(v)
    }
    fn is(&mut self, item: &Item<'_, '_>, attr: Attr) -> Option<i64> {
        let b = self.raw(item, attr)?;
        match parse_is(b) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.invalid(attr, lossy(b), reason);
                None
            }
        }
    }
    fn us(&mut self, item: &Item<'_, '_>, attr: Attr) -> Option<u16> {
        let b = self.raw(item, attr)?;
        if b.len() == 2 {
            Some(u16::from_le_bytes([b[0], b[1]]))
        } else {
            self.invalid(attr, format!("{} bytes", b.len()), "not one unsigned short");
            None
        }
    }
    fn fd(&mut self, item: &Item<'_, '_>, attr: Attr) -> Option<f64> {
        let b = self.raw(item, attr)?;
        if b.len() == 8 {
            let v = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            if v.is_finite() {
                return Some(v);
            }
        }
        self.invalid(attr, format!("{} bytes", b.len()), "not one finite double");
        None
    }
    fn count(&mut self, item: &Item<'_, '_>, attr: Attr) -> Option<u32> {
        let v = self.is(item, attr)?;
        match u32::try_from(v) {
            Ok(v) => Some(v),
            Err(_) => {
                self.invalid(attr, v.to_string(), "out of range");
                None
            }
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(trim_padding(b)).into_owned()
}

/// Reads the dose attributes of an XA/RF header (classic or Enhanced).
pub(crate) fn extract(ds: &Item<'_, '_>, warnings: &mut Vec<Warning>) -> ImageDose {
    let mut r = Reader { warnings };
    let mut img = ImageDose {
        frames: r.count(ds, NUMBER_OF_FRAMES),
        ..ImageDose::default()
    };
    if let Some(v) = r.non_negative(ds, AREA_DOSE_PRODUCT) {
        img.dap = Dap::try_from_dgy_cm2(v).ok();
    }
    img.entrance_dose = match r.non_negative(ds, ENTRANCE_DOSE_MGY) {
        Some(v) => AirKerma::try_from_mgy(v).ok(),
        None => r
            .us(ds, ENTRANCE_DOSE)
            .and_then(|v| AirKerma::try_from_dgy(f64::from(v)).ok()),
    };
    img.fluoro_time = r
        .us(ds, TOTAL_FLUORO_TIME)
        .and_then(|v| duration_from_secs(f64::from(v)).ok());
    img.exposures = r.us(ds, TOTAL_EXPOSURES).map(u32::from);
    img.kvp = r.non_negative(ds, KVP);
    img.tube_current_ma = match ds.get(TUBE_CURRENT_MA.tag) {
        Some(_) => r.fd(ds, TUBE_CURRENT_MA),
        None => r.is(ds, TUBE_CURRENT).map(|v| v as f64),
    };
    img.exposure_time = match ds.get(EXPOSURE_TIME_MS.tag) {
        Some(_) => r.fd(ds, EXPOSURE_TIME_MS),
        None => r.is(ds, EXPOSURE_TIME).map(|v| v as f64),
    }
    .and_then(|ms| duration_from_secs(ms / 1000.0).ok());
    img.exposure_mas = match ds.get(EXPOSURE_MAS.tag) {
        Some(_) => r.fd(ds, EXPOSURE_MAS),
        None => r.is(ds, EXPOSURE).map(|v| v as f64),
    };
    img.frame_time_ms = r.non_negative(ds, FRAME_TIME);
    img.acquisition_duration = r
        .fd(ds, ACQUISITION_DURATION)
        .and_then(|s| duration_from_secs(s).ok());
    img.primary_angle_deg = r.ds(ds, PRIMARY_ANGLE);
    img.secondary_angle_deg = r.ds(ds, SECONDARY_ANGLE);
    img.source_to_detector_mm = r.non_negative(ds, SOURCE_TO_DETECTOR);
    img.source_to_patient_mm = r.non_negative(ds, SOURCE_TO_PATIENT);
    img.radiation_setting = ds.ascii(RADIATION_SETTING.tag).map(str::to_owned);
    img.acquisition_datetime = ds.ascii(0x0008_002A).map(str::to_owned).or_else(|| {
        let d = ds.ascii(0x0008_0022)?;
        Some(match ds.ascii(0x0008_0032) {
            Some(t) => format!("{d}{t}"),
            None => d.to_owned(),
        })
    });
    img.irradiation_event_uids = uids(ds.bytes(IRRADIATION_EVENT_UID.tag));

    // Enhanced: functional groups, per-frame first, then shared.
    let shared = ds.items(SHARED_GROUPS).first();
    let per_frame = ds.items(PER_FRAME_GROUPS);
    if shared.is_some() || !per_frame.is_empty() {
        let empty = Item::default();
        let shared = shared.unwrap_or(empty);
        let n = per_frame.len().max(1);
        for i in 0..n {
            let frame = per_frame.get(i).unwrap_or(empty);
            let find = |seq: u32| -> Option<Item<'_, '_>> {
                frame
                    .items(seq)
                    .first()
                    .or_else(|| shared.items(seq).first())
            };
            let mut f = FrameDose {
                irradiation_event_uid: find(EVENT_ID_SEQ)
                    .and_then(|x| uids(x.bytes(IRRADIATION_EVENT_UID.tag)).into_iter().next()),
                acquisition_datetime: find(FRAME_CONTENT_SEQ)
                    .and_then(|x| x.ascii(FRAME_ACQUISITION_DATETIME))
                    .map(str::to_owned),
                ..FrameDose::default()
            };
            if let Some(acq) = find(FRAME_ACQUISITION_SEQ) {
                f.kvp = r.non_negative(&acq, KVP);
                f.tube_current_ma = r.fd(&acq, TUBE_CURRENT_MA);
            }
            if let Some(pos) = find(POSITIONER_SEQ) {
                f.primary_angle_deg = r.ds(&pos, PRIMARY_ANGLE);
                f.secondary_angle_deg = r.ds(&pos, SECONDARY_ANGLE);
            }
            img.per_frame.push(f);
        }
        if img.irradiation_event_uids.is_empty() {
            // Distinct UIDs in frame order; a set keeps this linear in the number of frames.
            let mut seen = std::collections::HashSet::new();
            for f in &img.per_frame {
                if let Some(u) = &f.irradiation_event_uid
                    && seen.insert(u.as_str())
                {
                    img.irradiation_event_uids.push(u.clone());
                }
            }
        }
        let mean = |v: Vec<f64>| {
            if v.is_empty() {
                None
            } else {
                Some(v.iter().sum::<f64>() / v.len() as f64)
            }
        };
        if img.kvp.is_none() {
            img.kvp = mean(img.per_frame.iter().filter_map(|f| f.kvp).collect());
        }
        if img.tube_current_ma.is_none() {
            img.tube_current_ma = mean(
                img.per_frame
                    .iter()
                    .filter_map(|f| f.tube_current_ma)
                    .collect(),
            );
        }
        if img.primary_angle_deg.is_none() {
            img.primary_angle_deg = img.per_frame.first().and_then(|f| f.primary_angle_deg);
            img.secondary_angle_deg = img.per_frame.first().and_then(|f| f.secondary_angle_deg);
        }
    }
    img
}

fn uids(raw: Option<&[u8]>) -> Vec<String> {
    let Some(raw) = raw else { return Vec::new() };
    raw.split(|&b| b == b'\\')
        .filter_map(ascii_value)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn garbled_dap_is_not_a_decimal_string() {
        assert!(crate::value::parse_ds(b"12..5").is_err());
    }
}
