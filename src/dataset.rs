//! Stage 1: bytes → DICOM elements.
//!
//! A bounded, zero-copy element scanner for the little-endian transfer syntaxes. It borrows
//! every value from the input slice (so it never allocates on the word of a length field),
//! builds the nested sequence/item structure, and stops at Pixel Data. Element counts, nesting
//! depth and value lengths are checked against [`Limits`] and against the bytes actually
//! present.

use std::fmt;
use std::ptr::NonNull;

use crate::error::ParseError;

/// A tag as `(group << 16) | element`.
pub(crate) type Tag = u32;

pub(crate) const PIXEL_DATA_GROUP_START: Tag = 0x7FE0_0008;
const ITEM: Tag = 0xFFFE_E000;
const ITEM_DELIMITATION: Tag = 0xFFFE_E00D;
const SEQUENCE_DELIMITATION: Tag = 0xFFFE_E0DD;
const UNDEFINED: u32 = 0xFFFF_FFFF;

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
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 64,
            max_elements: 20_000_000,
            max_header_bytes: 1 << 30,
            max_events: 1_000_000,
        }
    }
}

/// A value representation, as its two ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Vr(pub [u8; 2]);

impl Vr {
    pub const SQ: Vr = Vr(*b"SQ");
    pub const UN: Vr = Vr(*b"UN");
    fn has_long_length(self) -> bool {
        matches!(
            &self.0,
            b"OB"
                | b"OW"
                | b"OF"
                | b"SQ"
                | b"UT"
                | b"UN"
                | b"UC"
                | b"UR"
                | b"OD"
                | b"OL"
                | b"OV"
                | b"SV"
                | b"UV"
        )
    }
}

impl fmt::Debug for Vr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0[0] as char, self.0[1] as char)
    }
}

/// One data element: a value borrowed from the input, or a sequence of items.
#[derive(Debug)]
pub(crate) struct Element<'a> {
    pub tag: Tag,
    pub vr: Vr,
    pub value: Value<'a>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Bytes(&'a [u8]),
    /// The items of a sequence: a range of the tree's item table (see [`Item::items`]).
    Items(ItemRange),
}

/// A contiguous range of a [`Tree`]'s item table (32-bit, so that an element takes 24 bytes:
/// items are counted against [`Limits::max_elements`], far below `u32::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemRange {
    start: u32,
    len: u32,
}

/// A dataset or sequence item: its elements in file order.
///
/// Items do not own their elements: every element and item of a file lives in two flat
/// tables owned by the file's [`Tree`] (one allocation each instead of one per item and per
/// sequence), and an item is a view of a contiguous run of the element table.
///
/// Invariant (what makes the accessors sound): an `Item` is either empty
/// ([`Item::default`]) or was made by [`Parser::finish`], which stores it in a [`Tree`]
/// (as its root or in its item table) whose tables are never changed again and are freed only
/// when the tree drops. `Item` is neither `Clone` nor `Copy` and its fields are private, so
/// outside this module a non-empty item is only ever reached through a shared borrow of its
/// tree, and cannot outlive it.
pub(crate) struct Item<'a> {
    /// First element of this item in the tree's element table.
    elements: NonNull<Element<'a>>,
    len: usize,
    /// Start of the tree's item table (sequence values are ranges of it).
    items: NonNull<Item<'a>>,
}

impl Default for Item<'_> {
    fn default() -> Self {
        Item {
            elements: NonNull::dangling(),
            len: 0,
            items: NonNull::dangling(),
        }
    }
}

impl fmt::Debug for Item<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Item")
            .field("elements", &self.elements())
            .finish()
    }
}

impl<'a> Item<'a> {
    /// The elements, in file order.
    pub fn elements(&self) -> &[Element<'a>] {
        // SAFETY: by the type's invariant, `elements..elements + len` is a run of initialised
        // elements of a live tree's element table (or an empty run at a dangling, aligned
        // pointer), not mutated while `self` is borrowed.
        unsafe { std::slice::from_raw_parts(self.elements.as_ptr(), self.len) }
    }
    pub fn get(&self, tag: Tag) -> Option<&Element<'a>> {
        // Items are small and in ascending tag order; a linear scan is cheapest here.
        self.elements().iter().find(|e| e.tag == tag)
    }
    /// The raw bytes of a non-sequence element.
    pub fn bytes(&self, tag: Tag) -> Option<&'a [u8]> {
        match self.get(tag)?.value {
            Value::Bytes(b) => Some(b),
            Value::Items(_) => None,
        }
    }
    /// The items of a sequence element (empty if absent or not a sequence).
    pub fn items(&self, tag: Tag) -> &[Item<'a>] {
        match self.get(tag).map(|e| e.value) {
            Some(Value::Items(r)) if r.len > 0 => {
                // SAFETY: a sequence element exists only in a tree (empty items have no
                // elements), and its range was checked against that tree's item table when
                // the table was built; `self.items` is the start of the same table.
                unsafe {
                    std::slice::from_raw_parts(
                        self.items.as_ptr().add(r.start as usize),
                        r.len as usize,
                    )
                }
            }
            _ => &[],
        }
    }
    /// An ASCII value (codes, UIDs, CS, DA, TM, numbers) with padding removed; `None` when
    /// absent, empty or not ASCII.
    pub fn ascii(&self, tag: Tag) -> Option<&'a str> {
        ascii_value(self.bytes(tag)?)
    }
}

/// A file's dataset: the root [`Item`] and the tables every item of the file lives in.
/// Dereferences to the root item.
pub(crate) struct Tree<'a> {
    root: Item<'a>,
    // Never read, mutated or reallocated after construction: the items point into them. Moving
    // a `Tree` moves only these vectors' handles, not their heap storage.
    _elements: Vec<Element<'a>>,
    _items: Vec<Item<'a>>,
}

impl<'a> std::ops::Deref for Tree<'a> {
    type Target = Item<'a>;
    fn deref(&self) -> &Item<'a> {
        &self.root
    }
}

impl fmt::Debug for Tree<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

/// Trims DICOM padding (spaces, NULs) from both ends and checks the value is ASCII.
pub(crate) fn ascii_value(b: &[u8]) -> Option<&str> {
    let s = trim_padding(b);
    if s.is_empty() || !s.is_ascii() {
        return None;
    }
    std::str::from_utf8(s).ok()
}

pub(crate) fn trim_padding(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if *first == b' ' || *first == 0 {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if *last == b' ' || *last == 0 {
            b = rest;
        } else {
            break;
        }
    }
    b
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
}

/// Classifies a transfer syntax UID.
fn syntax_of(uid: &str) -> Result<Syntax, ParseError> {
    match uid {
        "1.2.840.10008.1.2" => Ok(Syntax::ImplicitLittle),
        "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2.1.98" => Ok(Syntax::ExplicitLittle),
        "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.2" => {
            Err(ParseError::UnsupportedTransferSyntax {
                uid: uid.to_owned(),
            })
        }
        // Encapsulated (compressed pixel data) syntaxes: the dataset is explicit VR LE.
        _ if uid.starts_with("1.2.840.10008.1.2.4.")
            || uid == "1.2.840.10008.1.2.5"
            || uid.starts_with("1.2.840.10008.1.2.6.")
            || uid.starts_with("1.2.840.10008.1.2.7")
            || uid.starts_with("1.2.840.10008.1.2.8.") =>
        {
            Ok(Syntax::ExplicitLittle)
        }
        _ => Err(ParseError::UnknownTransferSyntax {
            uid: uid.to_owned(),
        }),
    }
}

/// Scans a whole DICOM file (with or without preamble and file meta group) up to Pixel Data.
/// The Media Storage SOP Class UID (0002,0002) of the file meta group, when the bytes start
/// with one that is complete.
pub(crate) fn meta_sop_class(buf: &[u8]) -> Option<&str> {
    let limits = Limits::default();
    let mut p = Parser::new(buf, &limits);
    let has_preamble = buf.len() >= 132 && &buf[128..132] == b"DICM";
    if !(has_preamble || looks_like_meta(buf)) {
        return None;
    }
    p.pos = if has_preamble { 132 } else { 0 };
    p.read_meta().ok()?.media_sop_class.and_then(ascii_value)
}

pub(crate) fn parse<'a>(buf: &'a [u8], limits: &Limits) -> Result<Parsed<'a>, ParseError> {
    let mut p = Parser::new(buf, limits);
    let mut transfer_syntax = None;
    let mut media_sop_class = None;
    let has_preamble = buf.len() >= 132 && &buf[128..132] == b"DICM";
    if has_preamble || looks_like_meta(buf) {
        p.pos = if has_preamble { 132 } else { 0 };
        let meta = p.read_meta()?;
        transfer_syntax = meta.transfer_syntax.and_then(ascii_value);
        media_sop_class = meta.media_sop_class.and_then(ascii_value);
        p.syntax = match transfer_syntax {
            Some(uid) => syntax_of(uid)?,
            None => p.guess_syntax()?,
        };
    } else {
        // A raw dataset without preamble or meta group: accept it only when it starts like one.
        p.syntax = p.guess_syntax()?;
    }
    let start = p.pos;
    let root = p.read_dataset(None, 0, true)?;
    if root.len == 0 && p.pixel_data_at.is_none() && start == buf.len() {
        return Err(ParseError::Truncated {
            offset: start,
            needed: None,
        });
    }
    let pixel_data_at = p.pixel_data_at;
    Ok(Parsed {
        transfer_syntax,
        media_sop_class,
        dataset: p.finish(root),
        pixel_data_at,
    })
}

fn looks_like_meta(buf: &[u8]) -> bool {
    buf.len() >= 8 && buf[0] == 0x02 && buf[1] == 0x00 && buf[4].is_ascii_uppercase()
}

/// The two file meta values kerma uses (the first of each, as written).
struct Meta<'a> {
    transfer_syntax: Option<&'a [u8]>,
    media_sop_class: Option<&'a [u8]>,
}

/// A run of the element table: one item's elements.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    len: usize,
}

struct Parser<'a, 'l> {
    buf: &'a [u8],
    pos: usize,
    syntax: Syntax,
    limits: &'l Limits,
    elements: usize,
    pixel_data_at: Option<usize>,
    /// Elements of the items being read (innermost last); an item's run moves to
    /// `element_table` when the item ends, so that each item's elements are contiguous.
    open_elements: Vec<Element<'a>>,
    /// Items of the sequences being read (innermost last), moved to `item_table` likewise.
    open_items: Vec<Span>,
    element_table: Vec<Element<'a>>,
    item_table: Vec<Span>,
}

struct Header {
    tag: Tag,
    vr: Vr,
    len: u32,
}

impl<'a, 'l> Parser<'a, 'l> {
    fn new(buf: &'a [u8], limits: &'l Limits) -> Parser<'a, 'l> {
        Parser {
            buf,
            pos: 0,
            syntax: Syntax::ExplicitLittle,
            limits,
            elements: 0,
            pixel_data_at: None,
            open_elements: Vec::new(),
            open_items: Vec::new(),
            element_table: Vec::new(),
            item_table: Vec::new(),
        }
    }
    fn truncated(&self, needed: Option<usize>) -> ParseError {
        ParseError::Truncated {
            offset: self.pos,
            needed,
        }
    }

    fn u16_at(&self, at: usize) -> Result<u16, ParseError> {
        match self.buf.get(at..at + 2) {
            Some(b) => Ok(u16::from_le_bytes([b[0], b[1]])),
            None => Err(self.truncated(Some(at + 2))),
        }
    }

    fn u32_at(&self, at: usize) -> Result<u32, ParseError> {
        match self.buf.get(at..at + 4) {
            Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            None => Err(self.truncated(Some(at + 4))),
        }
    }

    #[inline]
    fn tag_at(&self, at: usize) -> Result<Tag, ParseError> {
        if let Some(b) = self.buf.get(at..at + 4) {
            return Ok(tag_of(b));
        }
        Ok((u32::from(self.u16_at(at)?) << 16) | u32::from(self.u16_at(at + 2)?))
    }

    /// Decides explicit or implicit VR from the first element, for data without a usable
    /// transfer syntax; rejects bytes that do not look like DICOM at all.
    fn guess_syntax(&self) -> Result<Syntax, ParseError> {
        let at = self.pos;
        if self.buf.len() < at + 8 {
            // After a meta group, too few bytes is a cut input (a reader's chunk may end
            // here), not proof that the data is not DICOM.
            return Err(if at > 0 {
                self.truncated(Some(at + 8))
            } else {
                ParseError::NotDicom
            });
        }
        let group = self.u16_at(at)?;
        // A dataset starts with a low, even group (0002, 0008, 0010...).
        if group == 0 || group > 0x0010 || group % 2 == 1 {
            return Err(ParseError::NotDicom);
        }
        let vr = [self.buf[at + 4], self.buf[at + 5]];
        if vr[0].is_ascii_uppercase() && vr[1].is_ascii_uppercase() {
            Ok(Syntax::ExplicitLittle)
        } else {
            Ok(Syntax::ImplicitLittle)
        }
    }

    /// Reads the group 0002 elements (always explicit VR little endian).
    fn read_meta(&mut self) -> Result<Meta<'a>, ParseError> {
        let mut meta = Meta {
            transfer_syntax: None,
            media_sop_class: None,
        };
        let mut any = false;
        let saved = self.syntax;
        self.syntax = Syntax::ExplicitLittle;
        while self.pos + 4 <= self.buf.len() && self.u16_at(self.pos)? == 0x0002 {
            let h = self.header()?;
            let value = self.take(h.len)?;
            any = true;
            match h.tag {
                0x0002_0010 if meta.transfer_syntax.is_none() => meta.transfer_syntax = Some(value),
                0x0002_0002 if meta.media_sop_class.is_none() => meta.media_sop_class = Some(value),
                _ => {}
            }
        }
        self.syntax = saved;
        if !any {
            return Err(ParseError::NotDicom);
        }
        Ok(meta)
    }

    /// The common case of [`Parser::header`], with no error to build: a data element (not an
    /// item or delimiter) whose whole header is present and, in explicit VR, whose VR is
    /// well-formed. `None` sends the caller to the general path. Returning a small `Option`
    /// keeps the header in registers on the hottest path of the scanner.
    #[inline(always)]
    fn header_fast(&mut self) -> Option<Header> {
        let at = self.pos;
        let b = self.buf.get(at..at + 8)?;
        let tag = tag_of(b);
        if tag >> 16 == 0xFFFE {
            return None;
        }
        match self.syntax {
            Syntax::ExplicitLittle => {
                let vr = Vr([b[4], b[5]]);
                if !(vr.0[0].is_ascii_uppercase() && vr.0[1].is_ascii_uppercase()) {
                    return None;
                }
                if vr.has_long_length() {
                    let l = self.buf.get(at + 8..at + 12)?;
                    self.pos = at + 12;
                    Some(Header {
                        tag,
                        vr,
                        len: u32::from_le_bytes([l[0], l[1], l[2], l[3]]),
                    })
                } else {
                    self.pos = at + 8;
                    Some(Header {
                        tag,
                        vr,
                        len: u32::from(u16::from_le_bytes([b[6], b[7]])),
                    })
                }
            }
            Syntax::ImplicitLittle => {
                self.pos = at + 8;
                Some(Header {
                    tag,
                    vr: implicit_vr(tag),
                    len: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                })
            }
        }
    }

    #[inline(always)]
    fn header(&mut self) -> Result<Header, ParseError> {
        let at = self.pos;
        // Fast path: the 8 bytes every header has are present (the checks and errors below
        // are those of the general path, in the same order).
        if let Some(b) = self.buf.get(at..at + 8) {
            let tag = tag_of(b);
            if tag >> 16 == 0xFFFE {
                self.pos = at + 8;
                return Ok(Header {
                    tag,
                    vr: Vr(*b"  "),
                    len: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                });
            }
            return match self.syntax {
                Syntax::ExplicitLittle => {
                    let vr = Vr([b[4], b[5]]);
                    if !(vr.0[0].is_ascii_uppercase() && vr.0[1].is_ascii_uppercase()) {
                        return Err(ParseError::Malformed {
                            offset: at,
                            reason: "invalid value representation in explicit VR data",
                        });
                    }
                    if vr.has_long_length() {
                        let len = self.u32_at(at + 8)?;
                        self.pos = at + 12;
                        Ok(Header { tag, vr, len })
                    } else {
                        self.pos = at + 8;
                        Ok(Header {
                            tag,
                            vr,
                            len: u32::from(u16::from_le_bytes([b[6], b[7]])),
                        })
                    }
                }
                Syntax::ImplicitLittle => {
                    self.pos = at + 8;
                    Ok(Header {
                        tag,
                        vr: implicit_vr(tag),
                        len: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                    })
                }
            };
        }
        self.header_near_end()
    }

    /// [`Parser::header`] when fewer than 8 bytes are left: some read is truncated.
    #[cold]
    fn header_near_end(&mut self) -> Result<Header, ParseError> {
        let at = self.pos;
        let tag = self.tag_at(at)?;
        if tag >> 16 == 0xFFFE {
            let len = self.u32_at(at + 4)?;
            self.pos = at + 8;
            return Ok(Header {
                tag,
                vr: Vr(*b"  "),
                len,
            });
        }
        match self.syntax {
            Syntax::ExplicitLittle => {
                let vr_bytes = match self.buf.get(at + 4..at + 6) {
                    Some(b) => [b[0], b[1]],
                    None => return Err(self.truncated(Some(at + 6))),
                };
                if !(vr_bytes[0].is_ascii_uppercase() && vr_bytes[1].is_ascii_uppercase()) {
                    return Err(ParseError::Malformed {
                        offset: at,
                        reason: "invalid value representation in explicit VR data",
                    });
                }
                let vr = Vr(vr_bytes);
                if vr.has_long_length() {
                    let len = self.u32_at(at + 8)?;
                    self.pos = at + 12;
                    Ok(Header { tag, vr, len })
                } else {
                    let len = u32::from(self.u16_at(at + 6)?);
                    self.pos = at + 8;
                    Ok(Header { tag, vr, len })
                }
            }
            Syntax::ImplicitLittle => {
                let len = self.u32_at(at + 4)?;
                self.pos = at + 8;
                Ok(Header {
                    tag,
                    vr: implicit_vr(tag),
                    len,
                })
            }
        }
    }

    /// Borrows `len` bytes of value; a length beyond the input is truncation, never an
    /// allocation.
    #[inline(always)]
    fn take(&mut self, len: u32) -> Result<&'a [u8], ParseError> {
        if len == UNDEFINED {
            return Err(ParseError::Malformed {
                offset: self.pos,
                reason: "undefined length on a value that is not a sequence",
            });
        }
        let end = self.pos.checked_add(len as usize);
        match end.and_then(|end| self.buf.get(self.pos..end)) {
            Some(v) => {
                self.pos += len as usize;
                Ok(v)
            }
            None => Err(self.truncated(end)),
        }
    }

    #[inline]
    fn count(&mut self) -> Result<(), ParseError> {
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(ParseError::LimitExceeded {
                what: "data elements",
                limit: self.limits.max_elements as u64,
            });
        }
        Ok(())
    }

    /// Closes an item whose elements are `open_elements[mark..]`: moves them to the element
    /// table, where they are contiguous.
    fn close_item(&mut self, mark: usize) -> Span {
        let start = self.element_table.len();
        let len = self.open_elements.len() - mark;
        self.element_table.extend(self.open_elements.drain(mark..));
        Span { start, len }
    }

    /// Reads elements until `end` (defined length), an Item Delimitation (undefined-length
    /// item), or the end of input / Pixel Data (top level).
    fn read_dataset(
        &mut self,
        end: Option<usize>,
        depth: usize,
        top: bool,
    ) -> Result<Span, ParseError> {
        let mark = self.open_elements.len();
        loop {
            match end {
                Some(end) if self.pos == end => return Ok(self.close_item(mark)),
                Some(end) if self.pos > end => {
                    return Err(ParseError::Malformed {
                        offset: self.pos,
                        reason: "element runs past the end of its item",
                    });
                }
                None if self.pos == self.buf.len() => {
                    return if top {
                        Ok(self.close_item(mark))
                    } else {
                        Err(self.truncated(None))
                    };
                }
                _ => {}
            }
            let tag = self.tag_at(self.pos)?;
            if top && tag >= PIXEL_DATA_GROUP_START {
                self.pixel_data_at = Some(self.pos);
                return Ok(self.close_item(mark));
            }
            if tag == ITEM_DELIMITATION {
                self.header()?;
                if end.is_some() || top {
                    return Err(ParseError::Malformed {
                        offset: self.pos,
                        reason: "item delimiter outside an undefined-length item",
                    });
                }
                return Ok(self.close_item(mark));
            }
            if tag >> 16 == 0xFFFE {
                return Err(ParseError::Malformed {
                    offset: self.pos,
                    reason: "item or delimiter where a data element was expected",
                });
            }
            self.count()?;
            let h = match self.header_fast() {
                Some(h) => h,
                None => self.header()?,
            };
            let is_sequence = h.vr == Vr::SQ || (h.len == UNDEFINED && h.vr == Vr::UN);
            let value = if is_sequence {
                // An undefined-length UN is an implicit VR sequence (PS3.5 6.2.2).
                let saved = self.syntax;
                if h.vr == Vr::UN {
                    self.syntax = Syntax::ImplicitLittle;
                }
                let items = self.read_sequence(h.len, depth + 1);
                self.syntax = saved;
                Value::Items(items?)
            } else {
                Value::Bytes(self.take(h.len)?)
            };
            self.open_elements.push(Element {
                tag: h.tag,
                vr: h.vr,
                value,
            });
        }
    }

    /// Closes a sequence whose items are `open_items[mark..]`: moves them to the item table.
    fn close_sequence(&mut self, mark: usize) -> Result<ItemRange, ParseError> {
        let start = self.item_table.len();
        let len = self.open_items.len() - mark;
        self.item_table.extend(self.open_items.drain(mark..));
        match (u32::try_from(start), u32::try_from(len)) {
            (Ok(start), Ok(len)) if start.checked_add(len).is_some() => {
                Ok(ItemRange { start, len })
            }
            // Only with `max_elements` raised past 4 billion and that many items present.
            _ => Err(ParseError::LimitExceeded {
                what: "data elements",
                limit: u64::from(u32::MAX),
            }),
        }
    }

    fn read_sequence(&mut self, len: u32, depth: usize) -> Result<ItemRange, ParseError> {
        let max_depth = self.limits.max_depth.min(HARD_MAX_DEPTH);
        if depth > max_depth {
            return Err(ParseError::LimitExceeded {
                what: "sequence nesting depth",
                limit: max_depth as u64,
            });
        }
        let end = if len == UNDEFINED {
            None
        } else {
            let end = self.pos.checked_add(len as usize);
            match end {
                Some(e) if e <= self.buf.len() => Some(e),
                _ => return Err(self.truncated(end)),
            }
        };
        let mark = self.open_items.len();
        loop {
            if let Some(end) = end {
                if self.pos == end {
                    return self.close_sequence(mark);
                }
                if self.pos > end {
                    return Err(ParseError::Malformed {
                        offset: self.pos,
                        reason: "item runs past the end of its sequence",
                    });
                }
            }
            let h = self.header()?;
            match h.tag {
                SEQUENCE_DELIMITATION if end.is_none() => return self.close_sequence(mark),
                ITEM => {
                    self.count()?;
                    let item_end = if h.len == UNDEFINED {
                        None
                    } else {
                        let e = self.pos.checked_add(h.len as usize);
                        match (e, end) {
                            (Some(e), Some(end)) if e > end => {
                                return Err(ParseError::Malformed {
                                    offset: self.pos,
                                    reason: "item runs past the end of its sequence",
                                });
                            }
                            (Some(e), _) if e <= self.buf.len() => Some(e),
                            _ => return Err(self.truncated(e)),
                        }
                    };
                    let item = self.read_dataset(item_end, depth, false)?;
                    self.open_items.push(item);
                }
                _ => {
                    return Err(ParseError::Malformed {
                        offset: self.pos,
                        reason: "sequence holds something other than items",
                    });
                }
            }
        }
    }

    /// Builds the [`Tree`]: the item table becomes items pointing into the element table.
    fn finish(self, root: Span) -> Tree<'a> {
        let elements = self.element_table;
        let spans = self.item_table;
        debug_assert!(root.start + root.len <= elements.len());
        // Every sequence range indexes `spans`, and every span indexes `elements` (each was
        // taken from the table's length when it was closed); checked here once, so that the
        // accessors may rely on it.
        let ranges_ok = elements.iter().all(|e| match e.value {
            Value::Items(r) => (r.start as usize + r.len as usize) <= spans.len(),
            Value::Bytes(_) => true,
        }) && spans.iter().chain(std::iter::once(&root)).all(|s| {
            s.start
                .checked_add(s.len)
                .is_some_and(|x| x <= elements.len())
        });
        assert!(ranges_ok, "element and item tables are consistent");
        let element_base =
            NonNull::new(elements.as_ptr().cast_mut()).unwrap_or(NonNull::dangling());
        let mut items: Vec<Item<'a>> = Vec::with_capacity(spans.len());
        // The items refer to their own table: its address is fixed by the allocation above
        // (no push below exceeds the capacity, so it never moves).
        let item_base = NonNull::new(items.as_mut_ptr()).unwrap_or(NonNull::dangling());
        let at = |s: Span| -> Item<'a> {
            Item {
                // SAFETY: `s.start <= elements.len()` (checked above), so the offset stays
                // within (or one past the end of) the element table's allocation.
                elements: unsafe { element_base.add(s.start) },
                len: s.len,
                items: item_base,
            }
        };
        for &s in &spans {
            items.push(at(s));
        }
        debug_assert_eq!(items.as_ptr(), item_base.as_ptr().cast_const());
        Tree {
            root: at(root),
            _elements: elements,
            _items: items,
        }
    }
}

/// The tag of an element whose first four bytes are `b`.
#[inline]
fn tag_of(b: &[u8]) -> Tag {
    (u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)
        | u32::from(u16::from_le_bytes([b[2], b[3]]))
}

/// The VR of a tag in implicit VR data: the sequences kerma walks are known here, the rest
/// come from the standard data dictionary; private and unknown tags are `UN` (opaque bytes).
fn implicit_vr(tag: Tag) -> Vr {
    match tag {
        // SR content tree and code sequences, the hot path of every implicit VR RDSR.
        0x0040_A730 | 0x0040_A043 | 0x0040_A300 | 0x0040_08EA | 0x0040_A168 | 0x0040_A504
        | 0x0008_1199 | 0x0008_1115 | 0x0008_1111 | 0x0008_1032 | 0x0040_A375 | 0x0040_A385
        | 0x0040_A301 | 0x0040_A073 | 0x0040_A078 | 0x5200_9229 | 0x5200_9230 => Vr::SQ,
        0x0040_A010 | 0x0040_A040 | 0x0008_0102 => Vr(*b"CS"),
        0x0008_0100 => Vr(*b"SH"),
        0x0008_0104 => Vr(*b"LO"),
        0x0040_A30A => Vr(*b"DS"),
        0x0040_A160 => Vr(*b"UT"),
        0x0040_A124 => Vr(*b"UI"),
        0x0040_A120 => Vr(*b"DT"),
        _ if (tag >> 16) % 2 == 1 => Vr::UN,
        _ => dictionary_vr(tag),
    }
}

#[inline(never)]
fn dictionary_vr(tag: Tag) -> Vr {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
    use dicom_dictionary_std::StandardDataDictionary;
    let t = dicom_core::Tag((tag >> 16) as u16, (tag & 0xFFFF) as u16);
    match StandardDataDictionary.by_tag(t).map(|e| e.vr()) {
        Some(VirtualVr::Exact(vr)) => {
            let s = vr.to_string();
            let b = s.as_bytes();
            if b.len() == 2 {
                Vr([b[0], b[1]])
            } else {
                Vr::UN
            }
        }
        Some(_) => Vr(*b"OW"),
        None => Vr::UN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(tag: Tag, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
        v.extend_from_slice(&((tag & 0xFFFF) as u16).to_le_bytes());
        v.extend_from_slice(vr);
        v.extend_from_slice(&(value.len() as u16).to_le_bytes());
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn table_entries_stay_small() {
        assert_eq!(std::mem::size_of::<Element<'_>>(), 24);
        assert_eq!(std::mem::size_of::<Item<'_>>(), 24);
    }

    #[test]
    fn nested_items_are_views_of_the_tables() {
        // (0040,A730) SQ, undefined length: two items, the second holding a nested sequence.
        let mut b = el(0x0008_0016, b"UI", b"1.2\0");
        b.extend_from_slice(&[
            0x40, 0x00, 0x30, 0xA7, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        b.extend(el(0x0040_A010, b"CS", b"CONTAINS"));
        b.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        b.extend_from_slice(&[
            0x40, 0x00, 0x30, 0xA7, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        b.extend(el(0x0040_A040, b"CS", b"NUM "));
        b.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        b.extend(el(0x0040_A010, b"CS", b"HAS PROPERTIES"));
        b.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        b.extend(el(0x0040_A491, b"CS", b"COMPLETE"));
        let p = parse(&b, &Limits::default()).unwrap();
        let ds = &p.dataset;
        assert_eq!(ds.elements().len(), 3);
        let items = ds.items(0x0040_A730);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].ascii(0x0040_A010), Some("CONTAINS"));
        assert_eq!(items[1].ascii(0x0040_A010), Some("HAS PROPERTIES"));
        let nested = items[1].items(0x0040_A730);
        assert_eq!(nested.len(), 1);
        assert_eq!(nested[0].ascii(0x0040_A040), Some("NUM"));
        assert!(nested[0].items(0x0040_A730).is_empty());
        assert_eq!(ds.ascii(0x0040_A491), Some("COMPLETE"));
        assert!(Item::default().items(0x0040_A730).is_empty());
        assert!(Item::default().get(0x0008_0016).is_none());
        // A moved tree still reads the same.
        let moved = Box::new(p);
        assert_eq!(
            moved.dataset.items(0x0040_A730)[1].items(0x0040_A730).len(),
            1
        );
    }

    #[test]
    fn raw_explicit_dataset_without_meta() {
        let mut b = el(0x0008_0016, b"UI", b"1.2.3\0");
        b.extend(el(0x0010_0020, b"LO", b"PAT1"));
        let p = parse(&b, &Limits::default()).unwrap();
        assert_eq!(p.dataset.ascii(0x0008_0016), Some("1.2.3"));
        assert_eq!(p.dataset.ascii(0x0010_0020), Some("PAT1"));
    }

    #[test]
    fn declared_length_beyond_input_is_truncation() {
        // (0008,0016) implicit, length 0xFFFFFFF0, two bytes of value
        let b = [0x08, 0x00, 0x16, 0x00, 0xF0, 0xFF, 0xFF, 0xFF, b'1', b'.'];
        match parse(&b, &Limits::default()) {
            Err(ParseError::Truncated { .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn text_is_not_dicom() {
        assert!(matches!(
            parse(
                b"hello, this is not a DICOM file at all",
                &Limits::default()
            ),
            Err(ParseError::NotDicom)
        ));
        assert!(parse(b"", &Limits::default()).is_err());
    }

    #[test]
    fn deep_nesting_is_limited() {
        // 200 nested undefined-length sequences of undefined-length items
        let mut b = Vec::new();
        for _ in 0..200 {
            b.extend_from_slice(&[
                0x40, 0x00, 0x30, 0xA7, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ]);
            b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        let mut with_first = el(0x0008_0016, b"UI", b"1.2\0");
        with_first.extend(b);
        match parse(&with_first, &Limits::default()) {
            Err(ParseError::LimitExceeded { .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_huge_depth_limit_is_clamped_before_the_stack_runs_out() {
        // 20,000 nested levels, with a caller asking for no practical limit, on a thread with
        // a small (1 MiB) stack: the hard ceiling answers before the recursion gets deep.
        let mut b = el(0x0008_0016, b"UI", b"1.2\0");
        for _ in 0..20_000 {
            b.extend_from_slice(&[
                0x40, 0x00, 0x30, 0xA7, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ]);
            b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        let limits = Limits {
            max_depth: usize::MAX,
            ..Limits::default()
        };
        let r = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                matches!(
                    parse(&b, &limits),
                    Err(ParseError::LimitExceeded { limit: 256, .. })
                )
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(r);
    }
}
