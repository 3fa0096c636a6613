//! Stage 1: bytes → DICOM elements.
//!
//! A bounded, zero-copy element scanner for the little-endian transfer syntaxes (PS3.5 7.1,
//! 7.5). It borrows every value from the input slice (so it never allocates on the word of a
//! length field), builds the nested sequence/item structure, and stops at Pixel Data. Element
//! counts, nesting depth and value lengths are checked against [`Limits`] and against the bytes
//! actually present.
//!
//! The library reads through [`parse_visiting`]: the items of a structured report's root
//! Content Sequence (its events, accumulated doses, observer context) go to the SR stage one
//! at a time as they are read, and leave the index once it has read them, so that the index
//! holds the root and one content item whatever the number of events. `parse` keeps the
//! whole tree; tests and fuzz targets compare the two.
//!
//! # What the byte stage knows of structured reports
//!
//! Only what lets it hand items on cheaply; it reads no content item's meaning.
//!
//! - The Content Sequence (0040,A730): the items of the root's first one go to the visitor
//!   as they are read, without a copy, and then leave the tables (the hand-over above). The
//!   items of every Content Sequence reached from the root are SR content items (PS3.3
//!   C.17.3); while each is in cache the scanner counts those without a Relationship Type
//!   (0040,A010), so that the SR stage needs no second walk for that warning
//!   ([`Tree::content_items_without_relationship`]).
//! - The code sequences of content items: Concept Name (0040,A043), Concept (0040,A168) and
//!   Measurement Units (0040,08EA) Code Sequences. When one holds a single plain code item
//!   (PS3.3 Table 8.8-1: Code Value, Long Code Value or URN Code Value, Coding Scheme
//!   Designator, Code Meaning), the code goes to the code table, each distinct code once:
//!   half of a report's elements are in such items and a report repeats a few dozen codes,
//!   so the tables halve and the SR stage reads a code without a search ([`Item::code`]).
//! - The VRs of the SR attributes in implicit VR data (PS3.6), looked up before the standard
//!   dictionary because they are the hot path of every implicit VR report.
//! - Which SOP classes are structured reports (PS3.4 B.5), for the caller's choice of reading.
//!
//! What a content item means (value types, relationships, concepts matched by code value and
//! scheme, units, the templates such as TID 10001) is left to `sr` and the stages after it.
//!
//! # Layout
//!
//! - `tag`: the tags the scanner acts on, VRs and the implicit VR dictionary;
//! - `tree`: the item tables, and [`Item`] and [`Tree`], the views of them the rest of the
//!   crate reads (table entries are offsets into the tables and the input, views borrow the
//!   tables: no `unsafe`);
//! - `scratch`: the table storage each thread keeps between parses;
//! - `code_table`: the code table;
//! - `parser`: the scanner, its file and meta group reading, element headers, and items and
//!   sequences;
//! - `differential` (tests and fuzzing): reading with and without the code table, and with
//!   and without the visitor, compared.

mod code_table;
#[cfg(any(test, fuzzing))]
pub(crate) mod differential;
mod parser;
mod scratch;
mod tag;
#[cfg(test)]
mod tests;
mod tree;

pub(crate) use code_table::Code;
pub(crate) use tag::{CONCEPT_CODE, CONCEPT_NAME, CONTENT_SEQUENCE, UNITS, Vr};
pub(crate) use tree::{Item, Tree, Value};

use crate::error::ParseError;
use parser::{Parser, looks_like_meta, read_file};

/// Nesting depth never exceeded whatever [`Limits::max_depth`] says (stack safety).
const HARD_MAX_DEPTH: usize = 256;

/// Resource limits applied while reading one file.
///
/// The defaults pass every real file seen so far with a wide margin; lower them for a service
/// that receives files from the network.
///
/// ```
/// let limits = kerma::Limits { max_depth: 32, ..kerma::Limits::default() };
/// assert!(limits.max_elements > 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest sequence nesting accepted (real RDSRs nest about 10 sequences deep). Values
    /// above 256 are treated as 256: the scanner recurses once per level and must not exhaust
    /// a thread's stack (256 levels fit in 1 MiB even in a debug build).
    pub max_depth: usize,
    /// Most data elements (at every level) accepted in one file.
    pub max_elements: usize,
    /// Most header bytes read before Pixel Data (bounds memory for a reader or a path).
    pub max_header_bytes: u64,
    /// Most irradiation events accepted in one dose report.
    pub max_events: usize,
    /// Most bytes the dataset of a Deflated Explicit VR Little Endian file (PS3.5 A.5) may
    /// inflate to: a small file that would inflate to more (a "zip bomb") is refused with
    /// [`ParseError::LimitExceeded`](crate::ParseError::LimitExceeded) once that many bytes are
    /// inflated. The default holds more elements than `max_elements` lets through.
    pub max_inflated_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 64,
            max_elements: 20_000_000,
            max_header_bytes: 1 << 30,
            max_events: 1_000_000,
            max_inflated_bytes: 256 << 20,
        }
    }
}

/// How the dataset is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    ImplicitLittle,
    ExplicitLittle,
}

/// The result of scanning one file's bytes.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub transfer_syntax: Option<&'a str>,
    pub media_sop_class: Option<&'a str>,
    pub dataset: Tree<'a>,
    /// Byte offset where Pixel Data (or a later element) starts, if reading stopped there.
    pub pixel_data_at: Option<usize>,
    /// Byte offset where the top-level dataset ended, followed by padding (zeros, or Data Set
    /// Trailing Padding), if reading stopped there.
    pub trailing_at: Option<usize>,
    /// How the dataset was read, when its first element showed another VR encoding than the
    /// transfer syntax names (written so by some toolkits).
    pub syntax_differs: Option<Syntax>,
}

/// The file meta group at the start of `buf` (after a preamble, if any), when complete, and
/// where the dataset starts after it.
fn complete_meta(buf: &[u8]) -> Option<(Option<&[u8]>, usize)> {
    let limits = Limits::default();
    let mut p = Parser::new(buf, &limits);
    let has_preamble = buf.len() >= 132 && &buf[128..132] == b"DICM";
    if !(has_preamble || looks_like_meta(buf)) {
        return None;
    }
    p.pos = if has_preamble { 132 } else { 0 };
    let meta = p.read_meta().ok()?;
    Some((meta.media_sop_class, p.pos))
}

/// The Media Storage SOP Class UID (0002,0002) of the file meta group, when the bytes start
/// with one that is complete.
pub(crate) fn meta_sop_class(buf: &[u8]) -> Option<&str> {
    complete_meta(buf)?.0.and_then(crate::value::ascii_value)
}

/// Where the dataset starts, after the preamble and file meta group, when the bytes hold
/// them complete.
pub(crate) fn dataset_start(buf: &[u8]) -> Option<usize> {
    complete_meta(buf).map(|(_, start)| start)
}

/// Scans a whole DICOM file (with or without preamble and file meta group) up to Pixel Data,
/// keeping the whole tree.
#[cfg(any(test, fuzzing))]
pub(crate) fn parse<'a>(buf: &'a [u8], limits: &Limits) -> Result<Parsed<'a>, ParseError> {
    parse_with(Parser::new(buf, limits).with_scratch())
}

/// What [`parse_visiting`] does with each item of the root's Content Sequence, while the
/// parser holds it: the item is valid for the call only.
pub(crate) type Visitor<'v, 'a> = dyn for<'t> FnMut(&Item<'t, 'a>) + 'v;

/// Scans a whole DICOM file like `parse` (which tests and fuzzing keep), but hands each item
/// of the root's first Content Sequence (an SR's top-level content items: its irradiation
/// events, accumulated doses, observer context…) to `visit` as soon as it is read, then
/// forgets it. The tree returned has that Content Sequence with no items; everything else is
/// as `parse` reads it, errors included (an error after some items were visited is still the
/// error: the caller discards what the visitor made of them).
///
/// The tables then hold the root and one top-level content item at a time: a report's index
/// does not grow with its number of events.
///
/// `inflated`: `buf` is a Deflated Explicit VR Little Endian file (PS3.5 A.5) whose dataset
/// was inflated after its meta group (see [`dataset_start`]), so that the transfer syntax the
/// meta group names reads as explicit VR little endian; otherwise that transfer syntax is
/// [`ParseError::UnsupportedTransferSyntax`].
pub(crate) fn parse_visiting<'a>(
    buf: &'a [u8],
    limits: &Limits,
    inflated: bool,
    visit: &mut Visitor<'_, 'a>,
) -> Result<Parsed<'a>, ParseError> {
    let mut p = Parser::new(buf, limits).with_scratch();
    p.visit = Some(visit);
    p.inflated = inflated;
    parse_with(p)
}

fn parse_with<'a>(mut p: Parser<'a, '_>) -> Result<Parsed<'a>, ParseError> {
    match read_file(&mut p) {
        Ok((transfer_syntax, media_sop_class, root)) => Ok(Parsed {
            transfer_syntax,
            media_sop_class,
            pixel_data_at: p.pixel_data_at,
            trailing_at: p.trailing_at,
            syntax_differs: p.syntax_differs,
            dataset: p.finish(root),
        }),
        Err(e) => {
            // A failed parse (often a reader's first chunk) still hands its storage back.
            p.give_back();
            Err(e)
        }
    }
}

/// SOP classes of structured reports (PS3.4 B.5): no pixel data, and dense in elements.
pub(crate) fn is_structured_report(sop_class: &str) -> bool {
    sop_class.starts_with("1.2.840.10008.5.1.4.1.1.88.")
}
