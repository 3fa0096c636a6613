//! Reading one input (path, bytes, reader or dicom-object) and classifying it by content.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::codes::{self, Code, sop};
use crate::dataset::{self, Item, Limits, Parsed, Tree};
use crate::deflate;
use crate::error::{Error, ParseError, Result};
use crate::image::{self, ImageDose};
use crate::input::{FIRST_CHUNK, Gate, Plain, REPORT_AT_ONCE, ReadBuffer, SMALL_FILE, Source};
use crate::rdsr::{self, DoseReport, Plane, PlaneDose, Provenance};
use crate::sr::{self, CONTENT_SEQUENCE, Content};
use crate::value::trim_padding;
use crate::warning::Warning;

/// What kind of object a file holds, decided from its SOP class (PS3.4 Table B.5-1) and, for
/// SRs, from the template at the root of its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ObjectKind {
    /// A projection X-ray RDSR (TID 10001), from a fluoroscopy system or not (see
    /// [`DoseReport::fluoroscopy_system`]).
    Rdsr,
    /// An Enhanced X-Ray Radiation Dose SR: recognised, not extracted.
    EnhancedRdsr,
    /// A CT dose report (TID 10011), in any SR class.
    CtDoseReport,
    /// A mammography dose report.
    MammographyDoseReport,
    /// A dose report whose procedure kerma does not recognise.
    OtherDoseReport,
    /// A vendor's private dose summary (Siemens `99SMS_RADSUM`).
    VendorSummary,
    /// A classic X-Ray Angiographic image (or the retired biplane XA).
    XaImage,
    /// A classic X-Ray Radiofluoroscopic image.
    RfImage,
    /// An Enhanced XA image.
    EnhancedXaImage,
    /// An Enhanced XRF image.
    EnhancedXrfImage,
    /// A structured report without dose information.
    OtherSr,
    /// Any other DICOM object (CT, DX, secondary capture…).
    Other,
}

impl ObjectKind {
    /// The JSON name (`rdsr`, `xa_image`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Rdsr => "rdsr",
            ObjectKind::EnhancedRdsr => "enhanced_rdsr",
            ObjectKind::CtDoseReport => "ct_dose_report",
            ObjectKind::MammographyDoseReport => "mammography_dose_report",
            ObjectKind::OtherDoseReport => "other_dose_report",
            ObjectKind::VendorSummary => "vendor_summary",
            ObjectKind::XaImage => "xa_image",
            ObjectKind::RfImage => "rf_image",
            ObjectKind::EnhancedXaImage => "enhanced_xa_image",
            ObjectKind::EnhancedXrfImage => "enhanced_xrf_image",
            ObjectKind::OtherSr => "other_sr",
            ObjectKind::Other => "other",
        }
    }
}

/// What kerma could make of a readable file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Fluoroscopy/angiography dose data was extracted.
    Dose,
    /// DICOM without fluoroscopy dose information (an image without dose attributes, a
    /// non-dose SR, a CT image…).
    NoDose,
    /// A dose object of another modality (CT, mammography) or a format not extracted yet.
    Unsupported,
}

/// Identity and context attributes of the file (header level).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// SOP Class UID (0008,0016), or the meta group's Media Storage SOP Class UID.
    pub sop_class_uid: Option<String>,
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: Option<String>,
    /// Modality (0008,0060).
    pub modality: Option<String>,
    /// Patient ID (0010,0020).
    pub patient_id: Option<String>,
    /// Patient's Birth Date (0010,0030), DA.
    pub patient_birth_date: Option<String>,
    /// Patient's Age (0010,1010), AS (e.g. `064Y`).
    pub patient_age: Option<String>,
    /// Patient's Sex (0010,0040).
    pub patient_sex: Option<String>,
    /// Patient's Weight (0010,1030), kg; 0 is treated as unknown.
    pub patient_weight_kg: Option<f64>,
    /// Patient's Size (0010,1020), m.
    pub patient_size_m: Option<f64>,
    /// Study Instance UID (0020,000D).
    pub study_instance_uid: Option<String>,
    /// Series Instance UID (0020,000E).
    pub series_instance_uid: Option<String>,
    /// Accession Number (0008,0050).
    pub accession_number: Option<String>,
    /// Study Date (0008,0020), DA.
    pub study_date: Option<String>,
    /// Study Time (0008,0030), TM.
    pub study_time: Option<String>,
    /// Institution Name (0008,0080).
    pub institution_name: Option<String>,
    /// Station Name (0008,1010).
    pub station_name: Option<String>,
    /// Manufacturer (0008,0070).
    pub manufacturer: Option<String>,
    /// Manufacturer's Model Name (0008,1090).
    pub model: Option<String>,
    /// Device Serial Number (0018,1000).
    pub serial_number: Option<String>,
    /// Study Description (0008,1030).
    pub study_description: Option<String>,
    /// Series Description (0008,103E).
    pub series_description: Option<String>,
    /// Requested Procedure Description (0032,1060).
    pub requested_procedure_description: Option<String>,
    /// Performed Procedure Step Description (0040,0254).
    pub performed_procedure_description: Option<String>,
    /// Procedure Code Sequence (0008,1032).
    pub procedure_codes: Vec<Code>,
    /// Requested Procedure Code Sequence (0032,1064).
    pub requested_procedure_codes: Vec<Code>,
    /// Referenced Performed Procedure Step SOP Instance UID ((0008,1111) > (0008,1155)).
    pub performed_procedure_step_uid: Option<String>,
}

/// Everything kerma extracted from one readable file.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    /// What the file is.
    pub kind: ObjectKind,
    /// What kerma made of it.
    pub outcome: Outcome,
    /// Identity and context attributes.
    pub identity: Identity,
    /// Transfer Syntax UID (0002,0010), if the file has a meta group.
    pub transfer_syntax: Option<String>,
    /// The dose report (RDSR or vendor summary).
    pub report: Option<DoseReport>,
    /// The image-header dose (XA/RF images).
    pub image: Option<ImageDose>,
    /// Deviations tolerated in this file.
    pub warnings: Vec<Warning>,
    /// Bytes read from the input (the header only, for images: reading stops at Pixel Data).
    pub bytes_read: u64,
}

/// Reads dose information with configurable [`Limits`].
///
/// ```
/// let x = kerma::Extractor::new().with_limits(kerma::Limits { max_depth: 16, ..Default::default() });
/// assert!(x.extract_bytes(b"not dicom").is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Extractor {
    limits: Limits,
}

impl Extractor {
    /// An extractor with default limits.
    pub fn new() -> Extractor {
        Extractor::default()
    }
    /// Sets the resource limits.
    pub fn with_limits(mut self, limits: Limits) -> Extractor {
        self.limits = limits;
        self
    }
    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Extracts from the bytes of a whole file (or of its header).
    ///
    /// # Errors
    /// [`Error::Parse`] when the bytes are not readable DICOM.
    pub fn extract_bytes(&self, bytes: &[u8]) -> Result<Extraction> {
        match extract_complete(bytes, &self.limits, false) {
            Err(Error::Parse(ParseError::UnsupportedTransferSyntax { uid }))
                if uid == deflate::DEFLATED_EXPLICIT_LITTLE =>
            {
                let Some(at) = dataset::dataset_start(bytes) else {
                    return Err(ParseError::UnsupportedTransferSyntax { uid }.into());
                };
                let mut kept = ReadBuffer::take();
                kept.0.extend_from_slice(&bytes[..at]);
                // An input already in memory has no gate to call.
                let heavy = &mut || {};
                let mut gate = Gate {
                    light: false,
                    heavy,
                };
                self.read_inflated(&mut kept.0, &bytes[at..], &mut gate)
            }
            r => r,
        }
    }

    /// Extracts from a reader, reading only up to Pixel Data.
    ///
    /// The buffer grows with the bytes actually read, never with a declared length.
    ///
    /// # Errors
    /// [`Error::Stream`] on I/O failure, [`Error::Parse`] when the data is not readable DICOM.
    pub fn extract_reader(&self, reader: impl Read) -> Result<Extraction> {
        self.read_header(reader, None, &mut || {})
    }

    /// Reads up to Pixel Data, growing the buffer only with bytes actually read. `len` is the
    /// input's length when known (a file), which sizes the buffer and tells the end of input.
    /// `heavy` is called once, before the first read that takes the input beyond its first
    /// chunk (a folder scan lets such inputs run less far ahead, see `scan`).
    ///
    /// A deflated dataset (PS3.5 §A.5) is inflated as it is read, by the same growing reads.
    fn read_header(
        &self,
        reader: impl Read,
        len: Option<u64>,
        heavy: &mut dyn FnMut(),
    ) -> Result<Extraction> {
        let len = len.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
        let mut kept = ReadBuffer::take();
        let buf = &mut kept.0;
        let mut gate = Gate { light: true, heavy };
        let mut plain = Plain(reader);
        match self.read_growing(&mut plain, len, buf, &mut gate) {
            Err(Error::Parse(ParseError::UnsupportedTransferSyntax { uid }))
                if uid == deflate::DEFLATED_EXPLICIT_LITTLE =>
            {
                let Some(at) = dataset::dataset_start(buf) else {
                    return Err(ParseError::UnsupportedTransferSyntax { uid }.into());
                };
                // The stream starts with what was read after the meta group; the rest of the
                // input follows.
                let read = Cursor::new(buf.split_off(at));
                self.read_inflated(buf, read.chain(plain.0), &mut gate)
            }
            r => r,
        }
    }

    /// Reads the dataset of a deflated file: `buf` holds its preamble and meta group,
    /// `compressed` the DEFLATE stream that follows them.
    fn read_inflated(
        &self,
        buf: &mut Vec<u8>,
        compressed: impl Read,
        gate: &mut Gate<'_>,
    ) -> Result<Extraction> {
        let at = buf.len() as u64;
        let limit = self.limits.max_inflated_bytes;
        let mut inflater = deflate::Inflater::new(compressed, at, limit);
        let mut x = self.read_growing(&mut inflater, None, buf, gate)?;
        x.bytes_read = at + inflater.compressed_read();
        Ok(x)
    }

    /// The growing reads of [`Extractor::read_header`], from `src` onto `buf` (empty, or holding
    /// a deflated file's meta group), and the extraction from them.
    fn read_growing<S: Source>(
        &self,
        src: &mut S,
        len: Option<usize>,
        buf: &mut Vec<u8>,
        gate: &mut Gate<'_>,
    ) -> Result<Extraction> {
        let cap = usize::try_from(self.limits.max_header_bytes).unwrap_or(usize::MAX);
        let mut want = FIRST_CHUNK.min(cap);
        if let Some(len) = len {
            // A small file is read at once: a second parse would cost more than the bytes.
            want = if len <= SMALL_FILE {
                len
            } else {
                want.min(len)
            };
        }
        // A structured report has no pixel data: it is read at once up to this size, rather
        // than parsed in growing prefixes; beyond it, memory follows what the parser needs.
        let report_at_once = len.unwrap_or(usize::MAX).min(cap).min(REPORT_AT_ONCE);
        loop {
            gate.before(want);
            if buf.is_empty() {
                buf.reserve_exact(want + 1);
            }
            // With an unknown length, one byte beyond `want` tells the true end of input from a
            // chunk boundary, so a complete parse never has to be repeated to learn that nothing
            // follows.
            let target = match len {
                Some(len) => want.min(len),
                None => want + 1,
            };
            let need = target.saturating_sub(buf.len()) as u64;
            if let Some(extra) = usize::try_from(need).ok().filter(|_| len.is_some()) {
                buf.reserve_exact(extra);
            }
            let got = src.read_more(buf, need)?;
            let eof = match len {
                Some(len) => buf.len() >= len || got < need,
                None => got < need,
            };
            if !eof
                && want < report_at_once
                && dataset::meta_sop_class(buf).is_some_and(dataset::is_structured_report)
            {
                want = report_at_once;
                continue;
            }
            let mut needed = None;
            let mut content = RootContent::new(&self.limits);
            let parsed = dataset::parse_visiting(buf, &self.limits, S::INFLATED, &mut |item| {
                content.child(item);
            });
            match parsed {
                // Complete: reading stopped at Pixel Data, at padding after the dataset (a whole
                // tag of it: a few zeros at the end of a chunk may begin an element), or at the
                // true end of the input.
                Ok(parsed)
                    if parsed.pixel_data_at.is_some()
                        || parsed.trailing_at.is_some_and(|at| buf.len() - at >= 4)
                        || eof =>
                {
                    let mut x = classify_and_extract(&parsed, content)?;
                    x.bytes_read = buf.len() as u64;
                    return Ok(x);
                }
                Ok(_) => {}
                Err(ParseError::Truncated { needed: n, .. }) if !eof => needed = n,
                Err(e) => return Err(e.into()),
            }
            if buf.len() >= cap {
                return Err(ParseError::LimitExceeded {
                    what: "header bytes",
                    limit: self.limits.max_header_bytes,
                }
                .into());
            }
            // Grow at least fourfold (so re-parsing costs at most a third more than one parse),
            // and straight to the end of an element whose declared length says how far to read.
            want = needed.unwrap_or(0).max(want.saturating_mul(4)).min(cap);
        }
    }

    /// Extracts from a file, reading only up to Pixel Data.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened or read, [`Error::Parse`] when it is not
    /// readable DICOM.
    pub fn extract_path(&self, path: impl AsRef<Path>) -> Result<Extraction> {
        self.extract_path_with(path.as_ref(), &mut || {})
    }

    /// [`Extractor::extract_path`], calling `heavy` before the file is read beyond its first
    /// chunk (see [`Extractor::read_header`]).
    pub(crate) fn extract_path_with(
        &self,
        path: &Path,
        heavy: &mut dyn FnMut(),
    ) -> Result<Extraction> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let len = file.metadata().ok().map(|m| m.len());
        self.read_header(file, len, heavy).map_err(|e| match e {
            Error::Stream(source) => Error::Io {
                path: path.to_owned(),
                source,
            },
            other => other,
        })
    }

    /// Extracts from a dicom-object already in memory (as PACS tools hold them).
    ///
    /// The object is encoded once and read by the same scanner as files, so both paths give
    /// the same result.
    ///
    /// # Errors
    /// [`Error::Object`] when the object cannot be encoded, [`Error::Parse`] as for bytes.
    pub fn extract_object(&self, obj: &dicom_object::DefaultDicomObject) -> Result<Extraction> {
        let mut buf = Vec::new();
        obj.write_all(&mut buf)
            .map_err(|e| Error::Object(Box::new(e)))?;
        self.extract_bytes(&buf)
    }
}

/// Extracts dose information from the bytes of a DICOM file, with default limits.
///
/// # Errors
/// See [`Extractor::extract_bytes`].
pub fn extract_bytes(bytes: &[u8]) -> Result<Extraction> {
    Extractor::new().extract_bytes(bytes)
}

/// Extracts dose information from a file, reading only up to Pixel Data.
///
/// # Errors
/// See [`Extractor::extract_path`].
pub fn extract_path(path: impl AsRef<Path>) -> Result<Extraction> {
    Extractor::new().extract_path(path)
}

/// Extracts dose information from a reader, reading only up to Pixel Data.
///
/// # Errors
/// See [`Extractor::extract_reader`].
pub fn extract_reader(reader: impl Read) -> Result<Extraction> {
    Extractor::new().extract_reader(reader)
}

/// Extracts dose information from an in-memory dicom-object.
///
/// # Errors
/// See [`Extractor::extract_object`].
pub fn extract_object(obj: &dicom_object::DefaultDicomObject) -> Result<Extraction> {
    Extractor::new().extract_object(obj)
}

/// Decodes header text in the file's character set; ASCII is the common case and costs nothing.
pub(crate) struct TextDecoder {
    charset: Option<dicom_encoding::text::SpecificCharacterSet>,
    utf8: bool,
    latin1: bool,
}

impl TextDecoder {
    pub fn new(ds: &Item<'_, '_>) -> TextDecoder {
        let raw = ds.bytes(0x0008_0005).map(trim_padding).unwrap_or(b"");
        let text = std::str::from_utf8(raw).unwrap_or("");
        // Multi-valued: the first value is the initial set; ISO 2022 extensions follow.
        let mut values = text.split('\\').map(str::trim);
        let single = !text.contains('\\');
        let first = values.next().unwrap_or("");
        let code = if first.is_empty() {
            values.find(|v| !v.is_empty()).unwrap_or("")
        } else {
            first
        };
        TextDecoder {
            utf8: single && first == "ISO_IR 192",
            latin1: single && first == "ISO_IR 100",
            charset: if code.is_empty() {
                None
            } else {
                dicom_encoding::text::SpecificCharacterSet::from_code(code)
            },
        }
    }

    /// Decodes one value; `Err` carries a lossy decoding when the bytes are invalid.
    pub fn decode(&self, raw: &[u8]) -> Result<String, String> {
        use dicom_encoding::text::TextCodec;
        let b = trim_padding(raw);
        if b.is_ascii() {
            // ok: ASCII is valid UTF-8
            return Ok(String::from_utf8_lossy(b).into_owned());
        }
        if self.latin1 {
            return Ok(b.iter().map(|&c| c as char).collect());
        }
        if self.utf8 {
            return std::str::from_utf8(b)
                .map(str::to_owned)
                .map_err(|_| String::from_utf8_lossy(b).into_owned());
        }
        match &self.charset {
            Some(cs) => cs
                .decode(b)
                .map_err(|_| String::from_utf8_lossy(b).into_owned()),
            None => Err(String::from_utf8_lossy(b).into_owned()),
        }
    }
}

fn text_attr(
    ds: &Item<'_, '_>,
    tag: u32,
    keyword: &'static str,
    dec: &TextDecoder,
    warnings: &mut Vec<Warning>,
) -> Option<String> {
    let raw = ds.bytes(tag)?;
    let s = match dec.decode(raw) {
        Ok(s) => s,
        Err(lossy) => {
            warnings.push(Warning::TextDecoding { attribute: keyword });
            lossy
        }
    };
    // Trimmed in place when nothing is trimmed (the common case): one allocation per value.
    match s.trim() {
        "" => None,
        t if t.len() == s.len() => Some(s),
        t => Some(t.to_owned()),
    }
}

/// The codes of the items of a code sequence (PS3.3 §8.8), in order.
fn codes_in(ds: &Item<'_, '_>, tag: u32) -> Vec<Code> {
    ds.items(tag)
        .iter()
        .filter_map(|i| sr::code_in(&i))
        .map(|c| c.to_owned_code())
        .collect()
}

fn ascii_attr(ds: &Item<'_, '_>, tag: u32) -> Option<String> {
    ds.ascii(tag).map(str::to_owned)
}

fn identity(
    ds: &Item<'_, '_>,
    media_sop_class: Option<&str>,
    warnings: &mut Vec<Warning>,
) -> Identity {
    let dec = TextDecoder::new(ds);
    let mut t = |tag, kw| text_attr(ds, tag, kw, &dec, warnings);
    let mut id = Identity {
        sop_class_uid: ascii_attr(ds, 0x0008_0016).or(media_sop_class.map(str::to_owned)),
        sop_instance_uid: ascii_attr(ds, 0x0008_0018),
        modality: ascii_attr(ds, 0x0008_0060),
        patient_id: t(0x0010_0020, "PatientID"),
        patient_birth_date: ascii_attr(ds, 0x0010_0030),
        patient_age: ascii_attr(ds, 0x0010_1010),
        patient_sex: ascii_attr(ds, 0x0010_0040),
        patient_weight_kg: None,
        patient_size_m: None,
        study_instance_uid: ascii_attr(ds, 0x0020_000D),
        series_instance_uid: ascii_attr(ds, 0x0020_000E),
        accession_number: t(0x0008_0050, "AccessionNumber"),
        study_date: ascii_attr(ds, 0x0008_0020),
        study_time: ascii_attr(ds, 0x0008_0030),
        institution_name: t(0x0008_0080, "InstitutionName"),
        station_name: t(0x0008_1010, "StationName"),
        manufacturer: t(0x0008_0070, "Manufacturer"),
        model: t(0x0008_1090, "ManufacturerModelName"),
        serial_number: t(0x0018_1000, "DeviceSerialNumber"),
        study_description: t(0x0008_1030, "StudyDescription"),
        series_description: t(0x0008_103E, "SeriesDescription"),
        requested_procedure_description: t(0x0032_1060, "RequestedProcedureDescription"),
        performed_procedure_description: t(0x0040_0254, "PerformedProcedureStepDescription"),
        procedure_codes: codes_in(ds, 0x0008_1032),
        requested_procedure_codes: codes_in(ds, 0x0032_1064),
        performed_procedure_step_uid: ds
            .items(0x0008_1111)
            .first()
            .and_then(|i| i.ascii(0x0008_1155))
            .map(str::to_owned),
    };
    if let Some(w) = ds.bytes(0x0010_1030).map(crate::value::parse_ds) {
        match w {
            Ok(0.0) => warnings.push(Warning::PatientWeightZero),
            Ok(w) if w > 0.0 => id.patient_weight_kg = Some(w),
            _ => {}
        }
    }
    if let Some(Ok(s)) = ds.bytes(0x0010_1020).map(crate::value::parse_ds)
        && s > 0.0
    {
        id.patient_size_m = Some(s);
    }
    id
}

/// Extracts from bytes that hold all of the input's header, its root content items read as
/// the scanner hands them over; `bytes_read` is where reading stopped.
fn extract_complete(bytes: &[u8], limits: &Limits, inflated: bool) -> Result<Extraction> {
    let mut content = RootContent::new(limits);
    let parsed = dataset::parse_visiting(bytes, limits, inflated, &mut |item| content.child(item))?;
    let mut x = classify_and_extract(&parsed, content)?;
    x.bytes_read = parsed
        .pixel_data_at
        .or(parsed.trailing_at)
        .unwrap_or(bytes.len()) as u64;
    Ok(x)
}

/// [`extract_complete`] from the whole tree, its root content items read after the scan
/// rather than during it: both must give the same result.
#[cfg(any(test, fuzzing))]
pub(crate) fn extract_from_whole_tree(bytes: &[u8], limits: &Limits) -> Result<Extraction> {
    let parsed = dataset::parse(bytes, limits)?;
    let mut content = RootContent::new(limits);
    for c in Content::new(&parsed.dataset.root()).children() {
        content.read(&c);
    }
    let mut x = classify_and_extract(&parsed, content)?;
    x.bytes_read = parsed
        .pixel_data_at
        .or(parsed.trailing_at)
        .unwrap_or(bytes.len()) as u64;
    Ok(x)
}

/// What the SR stage needs of the root's content items (an SR's top-level items), read one at
/// a time as the scanner hands them over (see [`dataset::parse_visiting`]): enough to classify
/// the report and to extract it, whichever kind it turns out to be.
struct RootContent<'a> {
    /// The code of the first Procedure reported item (`Some(None)`: that item has no code).
    procedure: Option<Option<sr::CodeRef<'a>>>,
    /// Whether an item is CT Accumulated Dose Data or a CT Acquisition.
    ct: bool,
    report: rdsr::ReportBuilder,
    summary: VendorSummaryBuilder,
}

impl<'a> RootContent<'a> {
    fn new(limits: &Limits) -> Self {
        RootContent {
            procedure: None,
            ct: false,
            report: rdsr::ReportBuilder::new(limits),
            summary: VendorSummaryBuilder::default(),
        }
    }

    /// Reads the root content item the scanner hands over.
    fn child(&mut self, item: &Item<'_, 'a>) {
        self.read(&Content::new(item));
    }

    fn read(&mut self, c: &Content<'_, 'a>) {
        let Some(k) = c.concept() else { return };
        if self.procedure.is_none() && k.is(codes::PROCEDURE_REPORTED) {
            self.procedure = Some(c.code());
        }
        self.ct |= k.is(codes::CT_ACCUMULATED) || k.is(codes::CT_ACQUISITION);
        self.report.child(c);
        self.summary.child(c, k);
    }
}

fn classify_and_extract(parsed: &Parsed<'_>, content: RootContent<'_>) -> Result<Extraction> {
    let ds = &parsed.dataset.root();
    let mut warnings = Vec::new();
    if let Some(syntax) = parsed.syntax_differs {
        warnings.push(Warning::VrEncodingDiffers {
            transfer_syntax: parsed.transfer_syntax.unwrap_or_default().to_owned(),
            implicit: syntax == dataset::Syntax::ImplicitLittle,
        });
    }
    if let Some(at) = parsed.trailing_at {
        warnings.push(Warning::TrailingBytes { offset: at as u64 });
    }
    let identity = identity(ds, parsed.media_sop_class, &mut warnings);
    let sop_class = identity.sop_class_uid.as_deref().unwrap_or("");
    let modality = identity.modality.as_deref().unwrap_or("");
    let mut x = Extraction {
        kind: ObjectKind::Other,
        outcome: Outcome::NoDose,
        identity: Identity::default(),
        transfer_syntax: parsed.transfer_syntax.map(str::to_owned),
        report: None,
        image: None,
        warnings: Vec::new(),
        bytes_read: 0,
    };
    let is_sr = ds.get(CONTENT_SEQUENCE).is_some()
        || modality == "SR"
        || dataset::is_structured_report(sop_class);
    match sop_class {
        sop::XA | sop::XA_BIPLANE_RETIRED => x.kind = ObjectKind::XaImage,
        sop::RF => x.kind = ObjectKind::RfImage,
        sop::ENHANCED_XA => x.kind = ObjectKind::EnhancedXaImage,
        sop::ENHANCED_XRF => x.kind = ObjectKind::EnhancedXrfImage,
        sop::ENHANCED_XRAY_RDSR => {
            x.kind = ObjectKind::EnhancedRdsr;
            x.outcome = Outcome::Unsupported;
            warnings.push(Warning::EnhancedRdsrNotExtracted);
        }
        _ if is_sr => classify_sr(&parsed.dataset, content, &mut x, &mut warnings)?,
        _ if modality == "XA" && ds.get(CONTENT_SEQUENCE).is_none() => x.kind = ObjectKind::XaImage,
        _ if modality == "RF" && ds.get(CONTENT_SEQUENCE).is_none() => x.kind = ObjectKind::RfImage,
        _ => {}
    }
    if matches!(
        x.kind,
        ObjectKind::XaImage
            | ObjectKind::RfImage
            | ObjectKind::EnhancedXaImage
            | ObjectKind::EnhancedXrfImage
    ) {
        let img = image::extract(ds, &mut warnings);
        x.outcome = if img.has_dose() {
            Outcome::Dose
        } else {
            Outcome::NoDose
        };
        x.image = Some(img);
    }
    if let (Some(report), Some(study_date)) = (&x.report, identity.study_date.as_deref())
        && let Some(first) = report.events.iter().find_map(|e| e.started.as_deref())
        && first.len() >= 8
        && study_date.len() == 8
        && days_apart(study_date, &first[..8]).is_some_and(|d| d > 1)
    {
        warnings.push(Warning::StudyDateDiffers {
            study_date: study_date.to_owned(),
            event_date: first[..8].to_owned(),
        });
    }
    x.identity = identity;
    x.warnings = warnings;
    Ok(x)
}

/// Whole days between two DICOM dates (YYYYMMDD), by the proleptic Gregorian calendar.
fn days_apart(a: &str, b: &str) -> Option<i64> {
    fn day_number(d: &str) -> Option<i64> {
        let y: i64 = d.get(0..4)?.parse().ok()?;
        let m: i64 = d.get(4..6)?.parse().ok()?;
        let day: i64 = d.get(6..8)?.parse().ok()?;
        if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
            return None;
        }
        // days from civil (Howard Hinnant's algorithm)
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(era * 146_097 + doe)
    }
    Some((day_number(a)? - day_number(b)?).abs())
}

fn classify_sr(
    ds: &Tree<'_>,
    content: RootContent<'_>,
    x: &mut Extraction,
    warnings: &mut Vec<Warning>,
) -> Result<()> {
    let Some(concept) = Content::new(&ds.root()).concept() else {
        x.kind = ObjectKind::OtherSr;
        return Ok(());
    };
    if concept.is(codes::SIEMENS_RADSUM) {
        x.kind = ObjectKind::VendorSummary;
        x.outcome = Outcome::Dose;
        x.report = Some(content.summary.finish(warnings));
        return Ok(());
    }
    if !concept.is(codes::XRAY_DOSE_REPORT) {
        x.kind = ObjectKind::OtherSr;
        return Ok(());
    }
    let template = ds
        .root()
        .items(sr::CONTENT_TEMPLATE)
        .first()
        .and_then(|t| t.ascii(sr::TEMPLATE_IDENTIFIER));
    let procedure = content.procedure.flatten();
    let is_ct = template == Some("10011")
        || procedure.is_some_and(|p| p.is(codes::CT_XRAY_SRT))
        || content.ct;
    let is_mammo =
        procedure.is_some_and(|p| p.is(codes::MAMMOGRAPHY) || p.is(codes::MAMMOGRAPHY_SRT));
    if is_ct {
        x.kind = ObjectKind::CtDoseReport;
        x.outcome = Outcome::Unsupported;
    } else if is_mammo {
        x.kind = ObjectKind::MammographyDoseReport;
        x.outcome = Outcome::Unsupported;
    } else if procedure.is_none_or(|p| p.is(codes::PROJECTION_XRAY)) {
        x.kind = ObjectKind::Rdsr;
        x.outcome = Outcome::Dose;
        x.report = Some(content.report.finish(ds, warnings)?);
    } else {
        x.kind = ObjectKind::OtherDoseReport;
        x.outcome = Outcome::Unsupported;
    }
    Ok(())
}

/// The Siemens ARCADIS private summary (`99SMS_RADSUM`): one plane with its cumulative DAP
/// and fluoroscopy time; no events. Read from the root's content items like a report (see
/// [`RootContent`]).
struct VendorSummaryBuilder {
    plane: PlaneDose,
    exposures: Option<u64>,
    reader: sr::NumReader,
}

impl Default for VendorSummaryBuilder {
    fn default() -> Self {
        VendorSummaryBuilder {
            plane: PlaneDose::new(Plane::Single),
            exposures: None,
            reader: sr::NumReader::default(),
        }
    }
}

impl VendorSummaryBuilder {
    fn child(&mut self, c: &Content<'_, '_>, k: sr::CodeRef<'_>) {
        let is_summary_value = k.is(codes::SIEMENS_DAP)
            || k.is(codes::SIEMENS_FLUORO_TIME)
            || k.is(codes::SIEMENS_EXPOSURES)
            || k.is(codes::SIEMENS_AIR_KERMA);
        if !is_summary_value {
            return;
        }
        let (plane, r) = (&mut self.plane, &mut self.reader);
        if k.is(codes::SIEMENS_DAP) {
            plane.dap_total = r.dap(c, codes::SIEMENS_DAP);
        } else if k.is(codes::SIEMENS_FLUORO_TIME) {
            plane.fluoro_time = r.duration(c, codes::SIEMENS_FLUORO_TIME);
        } else if k.is(codes::SIEMENS_EXPOSURES) {
            self.exposures = r.count(c, codes::SIEMENS_EXPOSURES);
        } else if k.is(codes::SIEMENS_AIR_KERMA) {
            plane.ka_r_total = r.air_kerma(c, codes::SIEMENS_AIR_KERMA);
        }
    }

    fn finish(self, warnings: &mut Vec<Warning>) -> DoseReport {
        warnings.push(Warning::VendorSummary {
            template: "99SMS_RADSUM",
        });
        warnings.extend(self.reader.warnings);
        let (plane, exposures) = (self.plane, self.exposures);
        DoseReport {
            provenance: Provenance::VendorSummary,
            template: Some("99SMS_RADSUM".to_owned()),
            procedure_reported: None,
            acquisition_device_type: None,
            device: rdsr::Device::default(),
            scope: None,
            sources_of_dose_information: Vec::new(),
            irradiation_start: None,
            irradiation_end: None,
            fluoroscopy_system: true,
            vendor_exposures: exposures,
            planes: vec![plane],
            events: Vec::new(),
        }
    }
}

/// The comparison behind [`tests`] and the `extract_bytes` and `sr_tree` fuzz targets: `bytes`
/// read with their root content items handed over during the scan (the library's way) and
/// read from the whole tree after it must give the same result or the same error.
#[cfg(any(test, fuzzing))]
pub(crate) fn assert_visiting_reads_alike(bytes: &[u8], limits: &Limits) {
    let visiting = extract_complete(bytes, limits, false);
    let whole = extract_from_whole_tree(bytes, limits);
    assert_eq!(
        format!("{visiting:?}"),
        format!("{whole:?}"),
        "content items read during the scan and from the whole tree differ"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default limits, and limits tight enough that reports hit each of them.
    fn limits() -> [Limits; 4] {
        let default = Limits::default();
        [
            default,
            Limits {
                max_events: 2,
                ..default
            },
            Limits {
                max_elements: 400,
                ..default
            },
            Limits {
                max_depth: 4,
                ..default
            },
        ]
    }

    /// Every file under `dir`, whole, cut and with flipped bytes, with every [`limits`].
    fn read_alike_under(dir: &std::path::Path) -> usize {
        let mut reports = 0;
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry.expect("walk");
            if !entry.file_type().is_file() {
                continue;
            }
            let bytes = std::fs::read(entry.path()).expect("read");
            if extract_complete(&bytes, &Limits::default(), false)
                .is_ok_and(|x| x.report.as_ref().is_some_and(|r| !r.events.is_empty()))
            {
                reports += 1;
            }
            for limits in limits() {
                assert_visiting_reads_alike(&bytes, &limits);
            }
            let mut x = bytes.len() as u64 | 1;
            for i in 0..24 {
                assert_visiting_reads_alike(&bytes[..bytes.len() * i / 24], &Limits::default());
                let mut b = bytes.clone();
                if b.is_empty() {
                    continue;
                }
                for _ in 0..1 + i % 3 {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let at = (x >> 20) as usize % b.len();
                    b[at] ^= (x >> 8) as u8 | 1;
                }
                assert_visiting_reads_alike(&b, &limits()[i % 4]);
            }
        }
        reports
    }

    /// Extraction from `path`, with the number of times it called the heavy-input gate.
    fn extract_counting_gate(path: &Path) -> (Result<Extraction>, usize) {
        let mut calls = 0;
        let x = Extractor::new().extract_path_with(path, &mut || calls += 1);
        (x, calls)
    }

    #[test]
    fn an_input_read_beyond_its_first_chunk_calls_the_gate_once_before() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let (mut heavy, mut light) = (0, 0);
        for entry in std::fs::read_dir(&dir).expect("testdata") {
            let path = entry.expect("entry").path();
            let (x, calls) = extract_counting_gate(&path);
            assert!(calls <= 1, "{}: gate called {calls} times", path.display());
            if let Ok(x) = x {
                let read_more = x.bytes_read > FIRST_CHUNK as u64;
                assert_eq!(calls == 1, read_more, "{}", path.display());
                *if read_more { &mut heavy } else { &mut light } += 1;
            }
        }
        assert!(heavy >= 5 && light >= 5, "{heavy} heavy, {light} light");
        // An image whose pixel data makes the file large: its header is read in the first
        // chunk, with no call.
        let tmp = tempfile::tempdir().expect("tempdir");
        let big = tmp.path().join("big_xa.dcm");
        let mut bytes = std::fs::read(dir.join("xa_encapsulated.dcm")).expect("read");
        let len = bytes.len();
        bytes.resize(len + 300_000, 0);
        std::fs::write(&big, &bytes).expect("write");
        let (x, calls) = extract_counting_gate(&big);
        let x = x.expect("an XA header");
        assert_eq!((x.kind, calls), (ObjectKind::XaImage, 0));
        assert!(x.bytes_read <= FIRST_CHUNK as u64, "{}", x.bytes_read);
    }

    #[test]
    fn root_content_read_during_the_scan_as_from_the_whole_tree_testdata() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        assert!(read_alike_under(&dir) >= 20);
    }

    #[test]
    fn root_content_read_during_the_scan_as_from_the_whole_tree_corpus() {
        // CI names the corpus; without it the testdata test above still runs.
        let Some(dir) = std::env::var_os("KERMA_CORPUS") else {
            return;
        };
        assert!(read_alike_under(std::path::Path::new(&dir)) >= 15);
    }
}
