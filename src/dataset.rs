//! Stage 1: bytes → DICOM elements.
//!
//! A bounded, zero-copy element scanner for the little-endian transfer syntaxes. It borrows
//! every value from the input slice (so it never allocates on the word of a length field),
//! builds the nested sequence/item structure, and stops at Pixel Data. Element counts, nesting
//! depth and value lengths are checked against [`Limits`] and against the bytes actually
//! present.
//!
//! The library reads through [`parse_visiting`]: the items of a structured report's root
//! Content Sequence (its events, accumulated doses, observer context) go to the SR stage one
//! at a time as they are read, and leave the index once it has read them, so that the index
//! holds the root and one content item whatever the number of events. `parse` keeps the
//! whole tree; tests and fuzz targets compare the two.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::error::ParseError;

/// A tag as `(group << 16) | element`.
pub(crate) type Tag = u32;

pub(crate) const PIXEL_DATA_GROUP_START: Tag = 0x7FE0_0008;
const ITEM: Tag = 0xFFFE_E000;
const ITEM_DELIMITATION: Tag = 0xFFFE_E00D;
const SEQUENCE_DELIMITATION: Tag = 0xFFFE_E0DD;
pub(crate) const CONTENT_SEQUENCE: Tag = 0x0040_A730;
const RELATIONSHIP_TYPE: Tag = 0x0040_A010;
/// The SR code sequences whose single code item the scanner keeps as a [`Code`]: Concept
/// Name, Concept and Measurement Units Code Sequences.
pub(crate) const CONCEPT_NAME: Tag = 0x0040_A043;
pub(crate) const CONCEPT_CODE: Tag = 0x0040_A168;
pub(crate) const UNITS: Tag = 0x0040_08EA;
/// The attributes of a code item (PS3.3 Table 8.8-1) that make a code.
const CODE_VALUE: Tag = 0x0008_0100;
const CODING_SCHEME: Tag = 0x0008_0102;
const CODE_MEANING: Tag = 0x0008_0104;
const LONG_CODE_VALUE: Tag = 0x0008_0119;
const URN_CODE_VALUE: Tag = 0x0008_0120;
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
    /// Whether the VR has a 4-byte length in explicit VR data (PS3.5 7.1.2).
    fn has_long_length(self) -> bool {
        vr_class(self) == Some(true)
    }
}

/// Whether each two-letter VR (`(first - b'A') * 26 + (second - b'A')`) has a 4-byte length
/// in explicit VR data (PS3.5 7.1.2): the one list of them.
const LONG_LENGTH: [bool; 26 * 26] = {
    let mut t = [false; 26 * 26];
    let long: [&[u8; 2]; 13] = [
        b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV", b"SV", b"UV",
    ];
    let mut i = 0;
    while i < long.len() {
        t[(long[i][0] - b'A') as usize * 26 + (long[i][1] - b'A') as usize] = true;
        i += 1;
    }
    t
};

/// `Some(long_length)` for a well-formed VR (two uppercase letters), `None` otherwise: one
/// table load instead of a chain of comparisons on the scanner's hot path.
#[inline(always)]
fn vr_class(vr: Vr) -> Option<bool> {
    let a = vr.0[0].wrapping_sub(b'A') as usize;
    let b = vr.0[1].wrapping_sub(b'A') as usize;
    if a < 26 && b < 26 {
        Some(LONG_LENGTH[a * 26 + b])
    } else {
        None
    }
}

impl fmt::Debug for Vr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0[0] as char, self.0[1] as char)
    }
}

/// One data element as the accessors hand it out: a value borrowed from the input, or a
/// sequence of items.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'a> {
    pub vr: Vr,
    pub value: Value<'a>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Bytes(&'a [u8]),
    /// The items of a sequence: a range of the tree's item table (see [`Item::items`]).
    Items(ItemRange),
    /// An SR code sequence of one plain code item, kept as an entry of the tree's code table
    /// (see [`Item::code`]).
    Code(u32),
}

/// A code as written in a code item: the first non-empty of Code Value, Long Code Value and
/// URN Code Value, the Coding Scheme Designator and the Code Meaning (the first element of
/// each tag), padding removed. A missing scheme or meaning reads as empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Code<'a> {
    pub value: &'a [u8],
    pub scheme: &'a [u8],
    pub meaning: &'a [u8],
}

impl<'a> Code<'a> {
    /// The code of a code item's elements, given as `(tag, bytes)` in file order (a sequence
    /// as empty bytes); `None` without a value.
    fn of(elements: impl Iterator<Item = (Tag, &'a [u8])>) -> Option<Code<'a>> {
        const TAGS: [Tag; 5] = [
            CODE_VALUE,
            LONG_CODE_VALUE,
            URN_CODE_VALUE,
            CODING_SCHEME,
            CODE_MEANING,
        ];
        let mut found: [Option<&'a [u8]>; 5] = [None; 5];
        for (tag, bytes) in elements {
            if let Some(i) = TAGS.iter().position(|&t| t == tag)
                && found[i].is_none()
            {
                found[i] = Some(bytes);
            }
        }
        let [value, long, urn, scheme, meaning] = found;
        let present = |b: Option<&'a [u8]>| b.map(trim_padding).filter(|b| !b.is_empty());
        Some(Code {
            value: present(value)
                .or_else(|| present(long))
                .or_else(|| present(urn))?,
            scheme: present(scheme).unwrap_or(b""),
            meaning: meaning.map(trim_padding).unwrap_or(b""),
        })
    }
}

/// A contiguous range of a [`Tree`]'s item table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemRange {
    start: u32,
    len: u32,
}

/// The most values a code item may have to be kept in the code table (a code item has 3 or 4:
/// Code Value, Coding Scheme Designator, Code Meaning, perhaps Coding Scheme Version).
const CODE_ITEM_MAX: usize = 8;

/// The span `start..end` of the input, if its offsets fit in 32 bits.
fn span(start: usize, end: usize) -> Option<Span> {
    Some(Span {
        start: u32::try_from(start).ok()?,
        len: u32::try_from(end.checked_sub(start)?).ok()?,
    })
}

/// What a [`Stored`] element's `start` and `len` designate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    /// A value: a range of the input.
    Bytes,
    /// A sequence: a range of the item table.
    Items,
    /// A code sequence kept as entry `start` of the code table (see [`Parser::code_sequence`]).
    Code,
}

/// How an element is stored in its tree's table: 16 bytes, the value as a range of the input
/// (or, for a sequence, of the item table). Offsets and counts are 32-bit: the scanner refuses
/// a header reaching past 4 GiB and more than `u32::MAX` elements.
#[derive(Debug, Clone, Copy)]
struct Stored {
    tag: Tag,
    vr: Vr,
    kind: Kind,
    start: u32,
    len: u32,
}

/// A code of the code table: the bytes of the code sequence it was read from and the code's
/// parts, as ranges of the input (an empty part as `0..0`).
#[derive(Debug, Clone, Copy)]
struct StoredCode {
    raw: Span,
    hash: u32,
    implicit: bool,
    /// Whether the sequence had a defined length (then `raw` is all of it).
    defined: bool,
    /// Elements and items in `raw`, for [`Limits::max_elements`].
    count: u32,
    value: Span,
    scheme: Span,
    meaning: Span,
}

/// A hash of the first 24 bytes of a code sequence's value (its item's header, its first
/// element's header and 8 bytes of value, most often the Code Value) and of how it is read;
/// `None` when fewer bytes are left.
#[inline]
fn prefix_hash(buf: &[u8], start: usize, implicit: bool, defined: bool) -> Option<u32> {
    let b = buf.get(start..start + 24)?;
    let word = |i: usize| {
        u64::from_le_bytes([
            b[i],
            b[i + 1],
            b[i + 2],
            b[i + 3],
            b[i + 4],
            b[i + 5],
            b[i + 6],
            b[i + 7],
        ])
    };
    let h = word(0) ^ word(8).rotate_left(21) ^ word(16).rotate_left(42);
    let h = h ^ u64::from(implicit) ^ u64::from(defined) << 1;
    let h = (h ^ (h >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Some((h >> 32) as u32)
}

/// Where a tree's tables live, shared by all its items (one small allocation per file, so
/// that an item is 16 bytes).
struct Tables<'a> {
    /// The input's first byte: stored values are ranges of it.
    input: *const u8,
    elements: *const Stored,
    items: *const Item<'a>,
    codes: *const StoredCode,
    codes_len: usize,
    /// Every item of more than [`LINEAR_LOOKUP_MAX`] elements has them in strictly ascending
    /// tag order (as PS3.5 7.1 requires), so that a lookup there may search by halves.
    large_items_sorted: bool,
}

/// Items up to this many elements are searched one element after another (SR content items
/// and code items, the most frequent, have a handful); larger ones, such as an image header's
/// top level, by halves when the file keeps its tags in order.
const LINEAR_LOOKUP_MAX: usize = 16;

/// A dataset or sequence item: a view of a contiguous run of its tree's element table, the
/// item's elements in file order.
///
/// Items do not own their elements: every element and item of a file lives in two flat
/// tables owned by the file's [`Tree`] (one allocation each instead of one per item and per
/// sequence), and the codes of its SR code sequences in a third, each distinct code once.
///
/// Invariant (what makes the accessors sound): an `Item` is either empty (`len == 0`, such
/// as [`Item::default`]; its pointer is then never read) or was made by the [`Parser`] of a
/// [`Tree`], which, when it is finished, points `tables` at that tree's [`Tables`], whose
/// element table holds `start..start + len`, and never changes the tables again; they are
/// freed only when the tree drops. The one other way to reach a non-empty item is a visitor
/// call of [`parse_visiting`]: the parser points the tables at its tables as they are, lends
/// the item for the call, and changes its tables only after the call returns. `Item` is
/// neither `Clone` nor `Copy` and its fields are private, so outside this module a non-empty
/// item is only ever reached through a shared borrow of its tree or of the visited item, and
/// cannot outlive either.
pub(crate) struct Item<'a> {
    tables: NonNull<Tables<'a>>,
    start: u32,
    len: u32,
    /// Values are borrowed from the input for `'a`.
    _input: PhantomData<&'a [u8]>,
}

impl Default for Item<'_> {
    fn default() -> Self {
        Item {
            tables: NonNull::dangling(),
            start: 0,
            len: 0,
            _input: PhantomData,
        }
    }
}

impl fmt::Debug for Item<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.stored().iter().map(|e| (e.tag, self.view(e))))
            .finish()
    }
}

impl<'a> Item<'a> {
    /// The stored elements, in file order.
    #[inline]
    fn stored(&self) -> &[Stored] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: by the type's invariant a non-empty item belongs to a finished, live tree
        // whose element table holds `start..start + len`, not mutated while `self` is
        // borrowed.
        unsafe {
            let t = self.tables.as_ref();
            std::slice::from_raw_parts(t.elements.add(self.start as usize), self.len as usize)
        }
    }

    /// The accessor view of one of this item's stored elements.
    #[inline]
    fn view(&self, e: &Stored) -> Element<'a> {
        let value = match e.kind {
            Kind::Items => Value::Items(ItemRange {
                start: e.start,
                len: e.len,
            }),
            Kind::Code => Value::Code(e.start),
            // SAFETY: `e` is one of this item's elements (so the item is non-empty and its
            // tables are live), and the scanner stored `start..start + len` only after
            // checking it lies within the input, which the tree borrows for `'a`.
            Kind::Bytes => Value::Bytes(unsafe { self.input(e.start, e.len) }),
        };
        Element { vr: e.vr, value }
    }

    /// `len` bytes of the input from `start`.
    ///
    /// # Safety
    /// The item is non-empty (its tables are live) and the scanner checked that the range
    /// lies within the input.
    #[inline]
    unsafe fn input(&self, start: u32, len: u32) -> &'a [u8] {
        // SAFETY: as the caller promises; the tree borrows the input for `'a`.
        unsafe {
            std::slice::from_raw_parts(self.tables.as_ref().input.add(start as usize), len as usize)
        }
    }

    pub fn get(&self, tag: Tag) -> Option<Element<'a>> {
        let stored = self.stored();
        // SAFETY: a non-empty item's tables are live (see `stored`); an empty one never gets
        // past the length test.
        let e = if stored.len() > LINEAR_LOOKUP_MAX
            && unsafe { self.tables.as_ref() }.large_items_sorted
        {
            let i = stored.binary_search_by_key(&tag, |e| e.tag).ok()?;
            &stored[i]
        } else {
            // With tags out of order or repeated, the first element of the tag, as written.
            stored.iter().find(|e| e.tag == tag)?
        };
        Some(self.view(e))
    }
    /// The raw bytes of a non-sequence element.
    pub fn bytes(&self, tag: Tag) -> Option<&'a [u8]> {
        match self.get(tag)?.value {
            Value::Bytes(b) => Some(b),
            Value::Items(_) | Value::Code(_) => None,
        }
    }
    /// The items of a sequence element (empty if absent or not a sequence).
    pub fn items(&self, tag: Tag) -> &[Item<'a>] {
        match self.get(tag).map(|e| e.value) {
            Some(Value::Items(r)) => self.items_in(r),
            _ => &[],
        }
    }

    /// The items of one of this item's sequences.
    fn items_in(&self, r: ItemRange) -> &[Item<'a>] {
        if r.len == 0 {
            return &[];
        }
        // SAFETY: the range is one of this item's elements (so its tables are live); the
        // scanner stored it when it appended exactly those items to the item table, which
        // only grows.
        unsafe {
            std::slice::from_raw_parts(
                self.tables.as_ref().items.add(r.start as usize),
                r.len as usize,
            )
        }
    }

    /// The code of the code sequence `tag`: its first item's (see [`Code`]).
    pub fn code(&self, tag: Tag) -> Option<Code<'a>> {
        match self.get(tag)?.value {
            Value::Code(id) => self.code_at(id),
            Value::Items(r) => self.items_in(r).first()?.as_code(),
            Value::Bytes(_) => None,
        }
    }

    /// This item read as a code item.
    pub fn as_code(&self) -> Option<Code<'a>> {
        Code::of(self.stored().iter().map(|e| {
            (
                e.tag,
                match self.view(e).value {
                    Value::Bytes(b) => b,
                    Value::Items(_) | Value::Code(_) => &[][..],
                },
            )
        }))
    }

    /// Entry `id` of the code table.
    fn code_at(&self, id: u32) -> Option<Code<'a>> {
        if self.len == 0 {
            return None;
        }
        // SAFETY: a non-empty item's tables are live, and the code table (`codes_len`
        // entries) is never changed while the tree lives.
        let c = unsafe {
            let t = self.tables.as_ref();
            if id as usize >= t.codes_len {
                return None;
            }
            *t.codes.add(id as usize)
        };
        // SAFETY: the item is non-empty, and every part was cut from a value the scanner
        // had checked lies within the input.
        unsafe {
            Some(Code {
                value: self.input(c.value.start, c.value.len),
                scheme: self.input(c.scheme.start, c.scheme.len),
                meaning: self.input(c.meaning.start, c.meaning.len),
            })
        }
    }
    /// An ASCII value (codes, UIDs, CS, DA, TM, numbers) with padding removed; `None` when
    /// absent, empty or not ASCII.
    pub fn ascii(&self, tag: Tag) -> Option<&'a str> {
        ascii_value(self.bytes(tag)?)
    }
}

/// Owns a [`Tables`] allocation through a raw pointer, so that moving its owner (the parser,
/// then the tree) never asserts unique access to what the items point at.
struct TablesBox<'a>(NonNull<Tables<'a>>);

impl TablesBox<'_> {
    fn new() -> Self {
        TablesBox(NonNull::from(Box::leak(Box::new(Tables {
            input: std::ptr::null(),
            elements: std::ptr::null(),
            items: std::ptr::null(),
            codes: std::ptr::null(),
            codes_len: 0,
            large_items_sorted: false,
        }))))
    }
}

impl Drop for TablesBox<'_> {
    fn drop(&mut self) {
        // SAFETY: made by `Box::leak` in `new`, freed only here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// A file's dataset: the root [`Item`] and the tables every item of the file lives in.
/// Dereferences to the root item.
pub(crate) struct Tree<'a> {
    root: Item<'a>,
    // Never mutated or reallocated while the tree lives: the items point into them (moving a
    // `Tree` moves only these handles, not the heap storage). On drop they are emptied and
    // kept for this thread's next parse (see `Scratch`).
    elements: Vec<Stored>,
    items: Vec<Item<'a>>,
    codes: Vec<StoredCode>,
    _tables: TablesBox<'a>,
    content_items_without_relationship: usize,
    /// The tree borrows the input its values point into.
    _input: PhantomData<&'a [u8]>,
}

impl Drop for Tree<'_> {
    fn drop(&mut self) {
        let elements = std::mem::take(&mut self.elements);
        let items = relabel(std::mem::take(&mut self.items));
        let codes = std::mem::take(&mut self.codes);
        Scratch::keep(|s| {
            offer(&mut s.elements, elements);
            offer(&mut s.items, items);
            offer(&mut s.codes.entries, codes);
        });
    }
}

/// Table storage kept by each thread between parses: a folder scan allocates (and
/// page-faults) its tables once per worker thread instead of once per file, and the memory a
/// thread keeps is bounded by [`SCRATCH_KEEP_MAX`] per table.
#[derive(Default)]
struct Scratch<'a> {
    open_elements: Vec<Stored>,
    open_items: Vec<Span>,
    elements: Vec<Stored>,
    items: Vec<Item<'a>>,
    codes: CodeTable,
}

/// The largest table (in bytes of capacity) a thread keeps for its next parse.
const SCRATCH_KEEP_MAX: usize = 4 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch<'static>> =
        std::cell::RefCell::new(Scratch::default());
}

impl Scratch<'_> {
    /// This thread's kept storage (empty vectors when there is none).
    fn take<'a>() -> Scratch<'a> {
        SCRATCH
            .try_with(|c| match c.try_borrow_mut() {
                Ok(mut c) => {
                    let s = std::mem::take(&mut *c);
                    Scratch {
                        open_elements: s.open_elements,
                        open_items: s.open_items,
                        elements: s.elements,
                        items: relabel(s.items),
                        codes: s.codes,
                    }
                }
                Err(_) => Scratch::default(),
            })
            .unwrap_or_default()
    }

    /// Gives vectors back to this thread's storage (nothing happens while the thread exits).
    fn keep(f: impl FnOnce(&mut Scratch<'static>)) {
        let _ = SCRATCH.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                f(&mut c);
            }
        });
    }
}

/// Keeps `v`, emptied, in `slot` if it is larger than what the slot holds and small enough
/// to keep; otherwise frees it.
fn offer<T>(slot: &mut Vec<T>, mut v: Vec<T>) {
    if v.capacity() > slot.capacity() && v.capacity() * std::mem::size_of::<T>() <= SCRATCH_KEEP_MAX
    {
        v.clear();
        *slot = v;
    }
}

/// The distinct codes of a file's SR code items, each kept once (a report repeats a few
/// dozen codes thousands of times), with an open-addressing index by content.
#[derive(Default)]
struct CodeTable {
    entries: Vec<StoredCode>,
    /// `id + 1` of the entry hashed there, or 0; a power of two long, at most half full.
    slots: Vec<u32>,
}

impl CodeTable {
    /// The code sequence read earlier whose bytes are those at `start`, read the same way
    /// (the same syntax, and the same defined length or none): its id, its element count and
    /// its length. Identical bytes read the same way make the same elements and the same code.
    #[inline]
    fn find(&self, buf: &[u8], start: usize, implicit: bool, len: u32) -> Option<(u32, u32, u32)> {
        if self.slots.is_empty() {
            return None;
        }
        let defined = len != UNDEFINED;
        let hash = prefix_hash(buf, start, implicit, defined)?;
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            let e = &self.entries[slot as usize - 1];
            if e.hash == hash
                && e.implicit == implicit
                && e.defined == defined
                && (!defined || e.raw.len == len)
            {
                let bytes = |at: usize| buf.get(at..at + e.raw.len as usize);
                if bytes(start) == bytes(e.raw.start as usize) {
                    return Some((slot - 1, e.count, e.raw.len));
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds `code`, read from the code sequence whose bytes are `raw` (`count` elements and
    /// items), which [`CodeTable::find`] did not find; its id, or `None` past `u32::MAX` codes.
    #[cold]
    fn add(
        &mut self,
        buf: &[u8],
        raw: Span,
        (implicit, defined): (bool, bool),
        count: u32,
        code: Code<'_>,
    ) -> Option<u32> {
        let hash = prefix_hash(buf, raw.start as usize, implicit, defined)?;
        if self.slots.len() < 2 * (self.entries.len() + 1) {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        while self.slots[at] != 0 {
            at = (at + 1) & mask;
        }
        let part = |part: &[u8]| match part {
            [] => Some(Span { start: 0, len: 0 }),
            // A part is a sub-slice of `buf`.
            _ => {
                let start = part.as_ptr().addr() - buf.as_ptr().addr();
                span(start, start + part.len())
            }
        };
        let id = u32::try_from(self.entries.len()).ok()?;
        let entry = StoredCode {
            raw,
            hash,
            implicit,
            defined,
            count,
            value: part(code.value)?,
            scheme: part(code.scheme)?,
            meaning: part(code.meaning)?,
        };
        self.slots[at] = id.checked_add(1)?;
        self.entries.push(entry);
        Some(id)
    }

    /// Doubles the index (64 slots at first) and re-enters every entry.
    #[cold]
    fn grow(&mut self) {
        let len = (2 * self.slots.len()).max(64);
        self.slots.clear();
        self.slots.resize(len, 0);
        let mask = len - 1;
        for (id, e) in self.entries.iter().enumerate() {
            let mut at = e.hash as usize & mask;
            while self.slots[at] != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = id as u32 + 1;
        }
    }
}

/// Empties a vector of items and relabels its lifetime, keeping the allocation.
fn relabel<'x, 'y>(mut v: Vec<Item<'x>>) -> Vec<Item<'y>> {
    v.clear();
    let mut v = std::mem::ManuallyDrop::new(v);
    // SAFETY: `Item<'x>` and `Item<'y>` are the same type up to a lifetime, hence of the same
    // layout, and the vector is empty: the allocation is reused, no item changes lifetime.
    unsafe { Vec::from_raw_parts(v.as_mut_ptr().cast::<Item<'y>>(), 0, v.capacity()) }
}

impl Tree<'_> {
    /// How many SR content items (items of the Content Sequences reached from the root) lack
    /// a Relationship Type (0040,A010): counted by the scanner while each item is in cache,
    /// so that the SR stage needs no second walk of the whole tree for that warning.
    pub fn content_items_without_relationship(&self) -> usize {
        self.content_items_without_relationship
    }
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

/// Scans a whole DICOM file (with or without preamble and file meta group) up to Pixel Data,
/// keeping the whole tree.
#[cfg(any(test, fuzzing))]
pub(crate) fn parse<'a>(buf: &'a [u8], limits: &Limits) -> Result<Parsed<'a>, ParseError> {
    parse_with(Parser::new(buf, limits).with_scratch())
}

/// What [`parse_visiting`] does with each item of the root's Content Sequence, while the
/// parser holds it: the item is valid for the call only.
pub(crate) type Visitor<'v, 'a> = dyn FnMut(&Item<'a>) + 'v;

/// Scans a whole DICOM file like `parse` (which tests and fuzzing keep), but hands each item
/// of the root's first Content Sequence (an SR's top-level content items: its irradiation
/// events, accumulated doses, observer context…) to `visit` as soon as it is read, then
/// forgets it. The tree returned has that Content Sequence with no items; everything else is
/// as `parse` reads it, errors included (an error after some items were visited is still the
/// error: the caller discards what the visitor made of them).
///
/// The tables then hold the root and one top-level content item at a time: a report's index
/// does not grow with its number of events.
pub(crate) fn parse_visiting<'a>(
    buf: &'a [u8],
    limits: &Limits,
    visit: &mut Visitor<'_, 'a>,
) -> Result<Parsed<'a>, ParseError> {
    let mut p = Parser::new(buf, limits).with_scratch();
    p.visit = Some(visit);
    parse_with(p)
}

fn parse_with<'a>(mut p: Parser<'a, '_>) -> Result<Parsed<'a>, ParseError> {
    match read_file(&mut p) {
        Ok((transfer_syntax, media_sop_class, root)) => Ok(Parsed {
            transfer_syntax,
            media_sop_class,
            pixel_data_at: p.pixel_data_at,
            dataset: p.finish(root),
        }),
        Err(e) => {
            // A failed parse (often a reader's first chunk) still hands its storage back.
            p.give_back();
            Err(e)
        }
    }
}

/// The transfer syntax and media storage SOP class (as written) and the root dataset's span.
type FileParts<'a> = (Option<&'a str>, Option<&'a str>, Span);

fn read_file<'a>(p: &mut Parser<'a, '_>) -> Result<FileParts<'a>, ParseError> {
    let buf = p.buf;
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
    let root = p.read_dataset(None, 0, true, true)?;
    if root.len == 0 && p.pixel_data_at.is_none() && start == buf.len() {
        return Err(ParseError::Truncated {
            offset: start,
            needed: None,
        });
    }
    Ok((transfer_syntax, media_sop_class, root))
}

/// SOP classes of structured reports (PS3.4 B.5): no pixel data, and dense in elements.
pub(crate) fn is_structured_report(sop_class: &str) -> bool {
    sop_class.starts_with("1.2.840.10008.5.1.4.1.1.88.")
}

fn looks_like_meta(buf: &[u8]) -> bool {
    buf.len() >= 8 && buf[0] == 0x02 && buf[1] == 0x00 && buf[4].is_ascii_uppercase()
}

/// The two file meta values kerma uses (the first of each, as written).
struct Meta<'a> {
    transfer_syntax: Option<&'a [u8]>,
    media_sop_class: Option<&'a [u8]>,
}

/// A run of the element table (one item's elements), or of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

struct Parser<'a, 'l> {
    buf: &'a [u8],
    /// Where the root's Content Sequence items go, if anywhere (see [`parse_visiting`]).
    visit: Option<&'l mut Visitor<'l, 'a>>,
    pos: usize,
    syntax: Syntax,
    limits: &'l Limits,
    elements: usize,
    pixel_data_at: Option<usize>,
    /// Elements of the items being read (innermost last); an item's run moves to
    /// `element_table` when the item ends, so that each item's elements are contiguous.
    open_elements: Vec<Stored>,
    /// Items of the sequences being read (innermost last), moved to `item_table` likewise.
    open_items: Vec<Span>,
    element_table: Vec<Stored>,
    item_table: Vec<Item<'a>>,
    codes: CodeTable,
    /// What the items made here will point at, filled in by [`Parser::finish`].
    tables: TablesBox<'a>,
    content_items_without_relationship: usize,
    /// Whether an item of more than [`LINEAR_LOOKUP_MAX`] elements had them out of order.
    large_item_unsorted: bool,
    /// Whether SR code sequences go to the code table (see [`Parser::code_sequence`]); tests
    /// turn it off to check that the two ways read alike.
    code_table: bool,
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
            visit: None,
            pos: 0,
            syntax: Syntax::ExplicitLittle,
            limits,
            elements: 0,
            pixel_data_at: None,
            open_elements: Vec::new(),
            open_items: Vec::new(),
            element_table: Vec::new(),
            item_table: Vec::new(),
            codes: CodeTable::default(),
            tables: TablesBox::new(),
            content_items_without_relationship: 0,
            large_item_unsorted: false,
            code_table: true,
        }
    }

    /// Takes this thread's kept table storage (see [`Scratch`]).
    fn with_scratch(mut self) -> Self {
        let s = Scratch::take();
        self.open_elements = s.open_elements;
        self.open_items = s.open_items;
        self.element_table = s.elements;
        self.item_table = s.items;
        self.codes = s.codes;
        self
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

    /// The common case of [`Parser::header`], with no error to build: a data element below
    /// the Pixel Data group (so neither an item, a delimiter nor the end of the top-level
    /// dataset) whose whole header is present and, in explicit VR, whose VR is well-formed.
    /// `None` sends the caller to the general path, which decides every other case. Returning
    /// a small `Option` keeps the header in registers on the hottest path of the scanner.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn header_fast(&mut self) -> Option<Header> {
        let at = self.pos;
        let b = self.buf.get(at..at + 8)?;
        let tag = tag_of(b);
        if tag >= PIXEL_DATA_GROUP_START {
            return None;
        }
        match self.syntax {
            Syntax::ExplicitLittle => {
                let vr = Vr([b[4], b[5]]);
                let long = vr_class(vr)?;
                if long {
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

    #[cfg_attr(not(debug_assertions), inline(always))]
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

    /// Like [`Parser::take`], for a value stored in the element table: its offset, which must
    /// fit in 32 bits.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn take_stored(&mut self, len: u32) -> Result<u32, ParseError> {
        let at = self.pos;
        self.take(len)?;
        match u32::try_from(self.pos) {
            Ok(_) => Ok(at as u32),
            Err(_) => Err(ParseError::LimitExceeded {
                what: "header bytes",
                limit: u64::from(u32::MAX),
            }),
        }
    }

    /// Borrows `len` bytes of value; a length beyond the input is truncation, never an
    /// allocation.
    #[cfg_attr(not(debug_assertions), inline(always))]
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
    fn close_item(&mut self, mark: usize) -> Result<Span, ParseError> {
        let start = self.element_table.len();
        let len = self.open_elements.len() - mark;
        if len > LINEAR_LOOKUP_MAX
            && !self.open_elements[mark..]
                .windows(2)
                .all(|w| w[0].tag < w[1].tag)
        {
            self.large_item_unsorted = true;
        }
        self.element_table
            .extend_from_slice(&self.open_elements[mark..]);
        self.open_elements.truncate(mark);
        match (u32::try_from(start), u32::try_from(len)) {
            (Ok(start), Ok(len)) if start.checked_add(len).is_some() => Ok(Span { start, len }),
            _ => Err(too_many_elements()),
        }
    }

    /// Reads elements until `end` (defined length), an Item Delimitation (undefined-length
    /// item), or the end of input / Pixel Data (top level). `content`: this is the root or an
    /// SR content item reached from it through Content Sequences.
    fn read_dataset(
        &mut self,
        end: Option<usize>,
        depth: usize,
        top: bool,
        content: bool,
    ) -> Result<Span, ParseError> {
        let mark = self.open_elements.len();
        loop {
            match end {
                Some(end) if self.pos == end => return self.close_item(mark),
                Some(end) if self.pos > end => {
                    return Err(ParseError::Malformed {
                        offset: self.pos,
                        reason: "element runs past the end of its item",
                    });
                }
                None if self.pos == self.buf.len() => {
                    return if top {
                        self.close_item(mark)
                    } else {
                        Err(self.truncated(None))
                    };
                }
                _ => {}
            }
            let h = match self.header_fast() {
                Some(h) => {
                    self.count()?;
                    h
                }
                None => {
                    // The end of an undefined-length item, as common as items themselves.
                    if end.is_none()
                        && !top
                        && self
                            .buf
                            .get(self.pos..self.pos + 8)
                            .is_some_and(|b| tag_of(b) == ITEM_DELIMITATION)
                    {
                        self.pos += 8;
                        return self.close_item(mark);
                    }
                    match self.header_general(end.is_some(), top)? {
                        Some(h) => h,
                        None => return self.close_item(mark),
                    }
                }
            };
            let is_sequence = h.vr == Vr::SQ || (h.len == UNDEFINED && h.vr == Vr::UN);
            let (kind, start, len) = if is_sequence {
                // An undefined-length UN is an implicit VR sequence (PS3.5 6.2.2).
                let saved = self.syntax;
                if h.vr == Vr::UN {
                    self.syntax = Syntax::ImplicitLittle;
                }
                let code = match h.tag {
                    CONCEPT_NAME | CONCEPT_CODE | UNITS if self.code_table => {
                        self.code_sequence(h.len, depth + 1)
                    }
                    _ => None,
                };
                let read = match code {
                    Some(id) => Ok((Kind::Code, id, 0)),
                    None => {
                        let content = content && h.tag == CONTENT_SEQUENCE;
                        // The first Content Sequence of the root goes to the visitor, if any.
                        if top && content && self.visit.is_some() {
                            self.read_visited_sequence(h.len, depth + 1)
                        } else {
                            self.read_sequence::<false>(h.len, depth + 1, content)
                        }
                        .map(|items| (Kind::Items, items.start, items.len))
                    }
                };
                self.syntax = saved;
                read?
            } else {
                (Kind::Bytes, self.take_stored(h.len)?, h.len)
            };
            self.open_elements.push(Stored {
                tag: h.tag,
                vr: h.vr,
                kind,
                start,
                len,
            });
        }
    }

    /// The next element's header when [`Parser::header_fast`] declined it (out of line, so
    /// that the scanner's frame stays small: it recurses once per nesting level). `None` when
    /// the item ends here: Pixel Data at the top level, or an Item Delimitation.
    #[cold]
    #[inline(never)]
    fn header_general(
        &mut self,
        defined_end: bool,
        top: bool,
    ) -> Result<Option<Header>, ParseError> {
        let tag = self.tag_at(self.pos)?;
        if top && tag >= PIXEL_DATA_GROUP_START {
            self.pixel_data_at = Some(self.pos);
            return Ok(None);
        }
        if tag == ITEM_DELIMITATION {
            self.header()?;
            if defined_end || top {
                return Err(ParseError::Malformed {
                    offset: self.pos,
                    reason: "item delimiter outside an undefined-length item",
                });
            }
            return Ok(None);
        }
        if tag >> 16 == 0xFFFE {
            return Err(ParseError::Malformed {
                offset: self.pos,
                reason: "item or delimiter where a data element was expected",
            });
        }
        self.count()?;
        self.header().map(Some)
    }

    /// Closes a sequence whose items are `open_items[mark..]`: moves them to the item table.
    fn close_sequence(&mut self, mark: usize) -> Result<ItemRange, ParseError> {
        let start = self.item_table.len();
        let len = self.open_items.len() - mark;
        let tables = self.tables.0;
        self.item_table
            .extend(self.open_items[mark..].iter().map(|s| Item {
                tables,
                start: s.start,
                len: s.len,
                _input: PhantomData,
            }));
        self.open_items.truncate(mark);
        match (u32::try_from(start), u32::try_from(len)) {
            (Ok(start), Ok(len)) if start.checked_add(len).is_some() => {
                Ok(ItemRange { start, len })
            }
            _ => Err(too_many_elements()),
        }
    }

    /// Reads an SR code sequence (Concept Name, Concept or Measurement Units Code Sequence)
    /// into the code table when it is the common one: a single item of at most
    /// [`CODE_ITEM_MAX`] plain values that make a [`Code`]. Half of a report's elements are in
    /// such items, and a report repeats a few dozen codes: kept once each, they halve its
    /// tables, and the SR stage reads a code without a search.
    ///
    /// `None` when the sequence is anything else, or would fail to read or exceed a limit:
    /// then nothing is consumed, and [`Parser::read_sequence`] reads it (or reports the error)
    /// as any other sequence; [`Item::code`] reads the codes of both alike.
    fn code_sequence(&mut self, len: u32, depth: usize) -> Option<u32> {
        if depth > self.limits.max_depth.min(HARD_MAX_DEPTH) {
            return None;
        }
        let (pos, elements) = (self.pos, self.elements);
        let id = self.try_code_sequence(len);
        if id.is_none() {
            (self.pos, self.elements) = (pos, elements);
        }
        id
    }

    fn try_code_sequence(&mut self, len: u32) -> Option<u32> {
        let start = self.pos;
        let implicit = self.syntax == Syntax::ImplicitLittle;
        let end = match len {
            UNDEFINED => None,
            _ => Some(
                start
                    .checked_add(len as usize)
                    .filter(|&e| e <= self.buf.len())?,
            ),
        };
        if let Some((id, count, raw_len)) = self.codes.find(self.buf, start, implicit, len) {
            self.add_elements(count)?;
            self.pos = start + raw_len as usize;
            return Some(id);
        }
        let (tag, item_len) = self.delimiter_at(self.pos)?;
        if tag != ITEM {
            return None;
        }
        self.pos += 8;
        self.add_elements(1)?;
        let item_end = match item_len {
            UNDEFINED => None,
            _ => Some(
                self.pos
                    .checked_add(item_len as usize)
                    .filter(|&e| e <= end.unwrap_or(self.buf.len()))?,
            ),
        };
        let mut values = [(0, &[][..]); CODE_ITEM_MAX];
        let mut n = 0;
        loop {
            match item_end {
                Some(e) if self.pos == e => break,
                Some(e) if self.pos > e => return None,
                None if self.delimiter_at(self.pos)?.0 == ITEM_DELIMITATION => {
                    self.pos += 8;
                    break;
                }
                _ => {}
            }
            let h = self.header_fast()?;
            if h.vr == Vr::SQ || h.len == UNDEFINED || n == CODE_ITEM_MAX {
                return None;
            }
            self.add_elements(1)?;
            let value = self.take(h.len).ok()?;
            values[n] = (h.tag, value);
            n += 1;
        }
        match end {
            Some(e) if self.pos != e => return None,
            Some(_) => {}
            None => {
                if self.delimiter_at(self.pos)?.0 != SEQUENCE_DELIMITATION {
                    return None;
                }
                self.pos += 8;
            }
        }
        let raw = span(start, self.pos)?;
        let code = Code::of(values[..n].iter().copied())?;
        let form = (implicit, end.is_some());
        self.codes.add(self.buf, raw, form, n as u32 + 1, code)
    }

    /// The tag and length of the item or delimiter header at `at`, if 8 bytes are there.
    #[inline]
    fn delimiter_at(&self, at: usize) -> Option<(Tag, u32)> {
        let b = self.buf.get(at..at + 8)?;
        Some((tag_of(b), u32::from_le_bytes([b[4], b[5], b[6], b[7]])))
    }

    /// Counts `n` more elements; `None` past the limit (the caller then reads them again, and
    /// fails where [`Parser::count`] does).
    #[inline]
    fn add_elements(&mut self, n: u32) -> Option<()> {
        let total = self.elements.checked_add(n as usize)?;
        (total <= self.limits.max_elements).then(|| self.elements = total)
    }

    /// The root's Content Sequence, its items handed to the visitor (out of line: it is read
    /// once per file, and the scanner's hot loop stays as small as without a visitor).
    #[inline(never)]
    fn read_visited_sequence(&mut self, len: u32, depth: usize) -> Result<ItemRange, ParseError> {
        self.read_sequence::<true>(len, depth, true)
    }

    /// Reads a sequence's items; `content`: they are SR content items (see
    /// [`Tree::content_items_without_relationship`]). `VISIT`: each item goes to the parser's
    /// visitor, taken for this sequence only, once read, and is then forgotten: the sequence is
    /// stored with no items. (A constant, so that every other sequence is read by code that
    /// does not look for a visitor.)
    fn read_sequence<const VISIT: bool>(
        &mut self,
        len: u32,
        depth: usize,
        content: bool,
    ) -> Result<ItemRange, ParseError> {
        let mut visit = if VISIT { self.visit.take() } else { None };
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
                    let marks = if VISIT {
                        (self.element_table.len(), self.item_table.len())
                    } else {
                        (0, 0)
                    };
                    let span = self.read_dataset(item_end, depth, false, content)?;
                    if content {
                        // The item's elements were just written: checked while they are hot.
                        let own = &self.element_table
                            [span.start as usize..span.start as usize + span.len as usize];
                        if !own.iter().any(|e| e.tag == RELATIONSHIP_TYPE) {
                            self.content_items_without_relationship += 1;
                        }
                    }
                    match visit.as_deref_mut() {
                        Some(visit) if VISIT => self.hand_over(span, marks, visit),
                        _ => self.open_items.push(span),
                    }
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

    /// Hands the item just read (`span`, its elements and nested items appended to the tables
    /// since their lengths were `marks`) to `visit`, then removes it from the tables.
    fn hand_over(&mut self, span: Span, marks: (usize, usize), visit: &mut Visitor<'_, 'a>) {
        self.point_tables();
        let item = Item {
            tables: self.tables.0,
            start: span.start,
            len: span.len,
            _input: PhantomData,
        };
        // The visitor sees the item through a shared borrow for the call only: it cannot keep
        // it, nor anything borrowed from the tables (values borrow the input, not the tables).
        visit(&item);
        self.element_table.truncate(marks.0);
        self.item_table.truncate(marks.1);
    }

    /// Points the items' shared [`Tables`] at the tables as they are now.
    fn point_tables(&mut self) {
        debug_assert!(
            self.element_table.iter().all(|e| e.kind != Kind::Items
                || (e.start as usize + e.len as usize) <= self.item_table.len())
                && self
                    .element_table
                    .iter()
                    .all(|e| e.kind != Kind::Code || (e.start as usize) < self.codes.entries.len())
                && self
                    .item_table
                    .iter()
                    .all(|i| i.start as usize + i.len as usize <= self.element_table.len()),
            "element and item tables are consistent"
        );
        // SAFETY: the parser owns the allocation. No item is being read: the items made so far
        // are in the parser's tables (read only through the tree `finish` makes, or by a
        // visitor, whose call has ended before the tables change again).
        unsafe {
            *self.tables.0.as_ptr() = Tables {
                input: self.buf.as_ptr(),
                elements: self.element_table.as_ptr(),
                items: self.item_table.as_ptr(),
                codes: self.codes.entries.as_ptr(),
                codes_len: self.codes.entries.len(),
                large_items_sorted: !self.large_item_unsorted,
            };
        }
    }

    /// Builds the [`Tree`]: points the items' shared [`Tables`] at the finished tables.
    /// Hands the parser's storage back to this thread (see [`Scratch`]), emptied.
    fn give_back(self) {
        Scratch::keep(|s| {
            offer(&mut s.open_elements, self.open_elements);
            offer(&mut s.open_items, self.open_items);
            offer(&mut s.elements, self.element_table);
            offer(&mut s.items, relabel(self.item_table));
            offer(&mut s.codes.entries, self.codes.entries);
            offer(&mut s.codes.slots, self.codes.slots);
        });
    }

    fn finish(mut self, root: Span) -> Tree<'a> {
        // Every sequence range indexes the item table, and every item (the root too) the
        // element table, by construction: `close_item` and `close_sequence` take each range's
        // start from their table's length just before appending exactly `len` entries, and the
        // tables only grow (but for a visited item, removed with all it appended). The
        // accessors rely on it; debug builds (tests, fuzzing) check it.
        debug_assert!(root.start as usize + root.len as usize <= self.element_table.len());
        // From here on the tables are never changed: the vectors move into the tree untouched
        // (moving a vector does not move its heap storage).
        self.point_tables();
        let elements = self.element_table;
        let items = self.item_table;
        let codes = self.codes.entries;
        Scratch::keep(|s| {
            offer(&mut s.open_elements, self.open_elements);
            offer(&mut s.open_items, self.open_items);
            offer(&mut s.codes.slots, self.codes.slots);
        });
        Tree {
            root: Item {
                tables: self.tables.0,
                start: root.start,
                len: root.len,
                _input: PhantomData,
            },
            elements,
            items,
            codes,
            _tables: self.tables,
            content_items_without_relationship: self.content_items_without_relationship,
            _input: PhantomData,
        }
    }
}

fn too_many_elements() -> ParseError {
    // Only with `max_elements` raised past 4 billion and that many elements present.
    ParseError::LimitExceeded {
        what: "data elements",
        limit: u64::from(u32::MAX),
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
        // SR content tree and code sequences, the hot path of every implicit VR RDSR; a test
        // checks each line against the standard dictionary.
        0x0040_A730 | 0x0040_A043 | 0x0040_A300 | 0x0040_08EA | 0x0040_A168 | 0x0040_A504
        | 0x0008_1199 | 0x0008_1115 | 0x0008_1111 | 0x0008_1032 | 0x0040_A375 | 0x0040_A385
        | 0x0040_A301 | 0x0040_A073 | 0x0040_A078 | 0x5200_9229 | 0x5200_9230 | 0x0040_A370
        | 0x0040_A372 | 0x0040_0275 | 0x0008_114A | 0x0040_A360 | 0x0040_A525 | 0x0040_A088 => {
            Vr::SQ
        }
        0x0040_A010 | 0x0040_A040 | 0x0040_A050 | 0x0040_A491 | 0x0040_A493 | 0x0008_0105
        | 0x0008_010F => Vr(*b"CS"),
        0x0008_0100 | 0x0008_0102 | 0x0008_0103 => Vr(*b"SH"),
        0x0008_0104 | 0x0040_A027 => Vr(*b"LO"),
        0x0040_A30A => Vr(*b"DS"),
        0x0040_A160 => Vr(*b"UT"),
        0x0040_A124 | 0x0008_1150 | 0x0008_1155 | 0x0040_A171 | 0x0008_0117 => Vr(*b"UI"),
        0x0040_A120 | 0x0040_A032 | 0x0008_0106 | 0x0040_A030 => Vr(*b"DT"),
        0x0040_A121 => Vr(*b"DA"),
        0x0040_A122 => Vr(*b"TM"),
        0x0040_A123 | 0x0040_A075 => Vr(*b"PN"),
        0x0040_A161 => Vr(*b"FD"),
        0x0040_DB73 => Vr(*b"UL"),
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

/// Reading with and without the code table, compared: the property that makes the code table
/// safe to use, checked by the tests and by the `code_table` fuzz target.
#[cfg(any(test, fuzzing))]
pub(crate) mod differential {
    use super::*;

    /// The code an element holds: its code table entry, or its first item's.
    fn code_of<'a>(item: &Item<'a>, e: &Stored) -> Option<Code<'a>> {
        match item.view(e).value {
            Value::Code(id) => item.code_at(id),
            Value::Items(r) => item.items_in(r).first()?.as_code(),
            Value::Bytes(_) => None,
        }
    }

    /// Asserts that two items read alike: the same elements, values and items, and the same
    /// code where either kept a code sequence in its code table.
    fn assert_alike(a: &Item<'_>, b: &Item<'_>, path: &str) {
        assert_alike_but(a, b, path, false);
    }

    /// [`assert_alike`]; `visited`: `b` is the root of a tree read by [`parse_visiting`], whose
    /// first Content Sequence has no items.
    fn assert_alike_but(a: &Item<'_>, b: &Item<'_>, path: &str, mut visited: bool) {
        let (x, y) = (a.stored(), b.stored());
        assert_eq!(x.len(), y.len(), "{path}: element count");
        for (e, f) in x.iter().zip(y) {
            let here = format!("{path}/{:08X}", e.tag);
            assert_eq!((e.tag, e.vr), (f.tag, f.vr), "{here}");
            match (a.view(e).value, b.view(f).value) {
                (Value::Bytes(p), Value::Bytes(q)) => assert_eq!(p, q, "{here}"),
                (Value::Items(_), Value::Items(q)) if visited && e.tag == CONTENT_SEQUENCE => {
                    assert_eq!(q.len, 0, "{here}: a visited sequence keeps no items");
                    visited = false;
                }
                (Value::Items(p), Value::Items(q)) => {
                    let (p, q) = (a.items_in(p), b.items_in(q));
                    assert_eq!(p.len(), q.len(), "{here}: items");
                    for (i, (p, q)) in p.iter().zip(q).enumerate() {
                        assert_alike(p, q, &format!("{here}[{i}]"));
                    }
                }
                (Value::Code(_), Value::Items(_) | Value::Code(_))
                | (Value::Items(_), Value::Code(_)) => {
                    assert_eq!(code_of(a, e), code_of(b, f), "{here}");
                    assert!(code_of(a, e).is_some(), "{here}: a kept code has a value");
                }
                (p, q) => panic!("{here}: {p:?} / {q:?}"),
            }
        }
    }

    /// Parses `buf` with and without the code table, and asserts the two read alike (the same
    /// error, or trees that read alike). The number of codes in the table.
    pub(crate) fn read_alike(buf: &[u8], limits: &Limits) -> usize {
        let with = parse(buf, limits);
        let mut plain = Parser::new(buf, limits);
        plain.code_table = false;
        let without = parse_with(plain);
        let codes = match (&with, &without) {
            (Ok(p), Ok(q)) => {
                assert!(q.dataset.codes.is_empty());
                assert_eq!(p.pixel_data_at, q.pixel_data_at);
                assert_eq!(
                    p.dataset.content_items_without_relationship(),
                    q.dataset.content_items_without_relationship()
                );
                assert_alike(&p.dataset, &q.dataset, "");
                p.dataset.codes.len()
            }
            (Err(e), Err(f)) => {
                assert_eq!(format!("{e:?}"), format!("{f:?}"));
                0
            }
            _ => panic!("{with:?} / {without:?}"),
        };
        visiting_reads_alike(buf, limits, &with);
        codes
    }

    /// Parses `buf` handing the root's content items to a visitor, and asserts that each reads
    /// as the same item of `whole` (the tree [`parse`] makes), and the rest of the tree alike.
    fn visiting_reads_alike(buf: &[u8], limits: &Limits, whole: &Result<Parsed<'_>, ParseError>) {
        let items = match whole {
            Ok(p) => p.dataset.items(CONTENT_SEQUENCE),
            Err(_) => &[],
        };
        let mut visited = 0;
        let visiting = parse_visiting(buf, limits, &mut |item| {
            if let Some(w) = items.get(visited) {
                assert_alike(w, item, &format!("content[{visited}]"));
            }
            visited += 1;
        });
        match (whole, &visiting) {
            (Ok(p), Ok(v)) => {
                assert_eq!(visited, items.len(), "content items visited");
                assert_eq!(p.pixel_data_at, v.pixel_data_at);
                assert_eq!(
                    p.dataset.content_items_without_relationship(),
                    v.dataset.content_items_without_relationship()
                );
                assert_alike_but(&p.dataset, &v.dataset, "", true);
                // Each content item left the tables once visited.
                if !items.is_empty() {
                    assert!(v.dataset.elements.len() < p.dataset.elements.len());
                    assert!(v.dataset.items.len() < p.dataset.items.len());
                }
            }
            (Err(e), Err(f)) => assert_eq!(format!("{e:?}"), format!("{f:?}")),
            _ => panic!("{whole:?} / {visiting:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::differential::read_alike;
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
    fn implicit_vr_shortcuts_agree_with_the_dictionary() {
        let shortcuts = [
            0x0040_A730,
            0x0040_A043,
            0x0040_A300,
            0x0040_08EA,
            0x0040_A168,
            0x0040_A504,
            0x0008_1199,
            0x0008_1115,
            0x0008_1111,
            0x0008_1032,
            0x0040_A375,
            0x0040_A385,
            0x0040_A301,
            0x0040_A073,
            0x0040_A078,
            0x5200_9229,
            0x5200_9230,
            0x0040_A370,
            0x0040_A372,
            0x0040_0275,
            0x0008_114A,
            0x0040_A360,
            0x0040_A525,
            0x0040_A088,
            0x0040_A010,
            0x0040_A040,
            0x0040_A050,
            0x0040_A491,
            0x0040_A493,
            0x0008_0105,
            0x0008_010F,
            0x0008_0100,
            0x0008_0102,
            0x0008_0103,
            0x0008_0104,
            0x0040_A027,
            0x0040_A30A,
            0x0040_A160,
            0x0040_A124,
            0x0008_1150,
            0x0008_1155,
            0x0040_A171,
            0x0008_0117,
            0x0040_A120,
            0x0040_A032,
            0x0008_0106,
            0x0040_A030,
            0x0040_A121,
            0x0040_A122,
            0x0040_A123,
            0x0040_A075,
            0x0040_A161,
            0x0040_DB73,
        ];
        for tag in shortcuts {
            assert_eq!(implicit_vr(tag), dictionary_vr(tag), "{tag:08X}");
        }
    }

    #[test]
    fn table_entries_stay_small() {
        assert_eq!(std::mem::size_of::<Stored>(), 16);
        assert_eq!(std::mem::size_of::<Item<'_>>(), 16);
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
        assert_eq!(ds.stored().len(), 3);
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
    fn tables_kept_between_parses_hold_only_the_new_file() {
        let mut a = el(0x0008_0016, b"UI", b"1.2.3\0");
        a.extend(el(0x0010_0020, b"LO", b"FIRST "));
        let b = el(0x0010_0020, b"LO", b"SECOND");
        let first = parse(&a, &Limits::default()).unwrap();
        assert_eq!(first.dataset.ascii(0x0010_0020), Some("FIRST"));
        // A second tree while the first is alive: its own tables.
        let second = parse(&b, &Limits::default()).unwrap();
        assert_eq!(second.dataset.ascii(0x0010_0020), Some("SECOND"));
        assert_eq!(first.dataset.ascii(0x0010_0020), Some("FIRST"));
        drop(first);
        drop(second);
        // Then one made with the kept storage: nothing of the earlier files shows through.
        let third = parse(&b, &Limits::default()).unwrap();
        assert_eq!(third.dataset.stored().len(), 1);
        assert_eq!(third.dataset.ascii(0x0008_0016), None);
        assert_eq!(third.dataset.ascii(0x0010_0020), Some("SECOND"));
    }

    #[test]
    fn large_items_are_searched_by_halves_only_when_in_order() {
        let value = |i: u32| format!("V{i:03}").into_bytes();
        let tags: Vec<Tag> = (0..40).map(|i| 0x0008_1000 + 2 * i).collect();
        let dataset = |order: &[Tag]| -> Vec<u8> {
            order
                .iter()
                .flat_map(|&t| el(t, b"LO", &value(t & 0xFFF)))
                .collect()
        };
        // In order: binary search finds every tag, and nothing between them.
        let sorted = dataset(&tags);
        let p = parse(&sorted, &Limits::default()).unwrap();
        assert!(p.dataset.stored().len() > LINEAR_LOOKUP_MAX);
        assert!(unsafe { p.dataset.tables.as_ref() }.large_items_sorted);
        for &t in &tags {
            assert_eq!(p.dataset.bytes(t), Some(&value(t & 0xFFF)[..]), "{t:08X}");
            assert_eq!(p.dataset.bytes(t + 1), None);
        }
        // A tag repeated out of order: every lookup reads the elements in file order and
        // finds the first one written.
        let mut shuffled = tags.clone();
        shuffled.swap(3, 30);
        shuffled.push(tags[10]);
        let mut bytes = dataset(&shuffled);
        bytes.truncate(bytes.len() - 12);
        bytes.extend(el(tags[10], b"LO", b"LATE"));
        let p = parse(&bytes, &Limits::default()).unwrap();
        assert!(!unsafe { p.dataset.tables.as_ref() }.large_items_sorted);
        for &t in &tags {
            assert_eq!(p.dataset.bytes(t), Some(&value(t & 0xFFF)[..]), "{t:08X}");
        }
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

    /// Encodes SR test data in explicit or implicit VR little endian.
    #[derive(Clone, Copy)]
    struct Enc {
        explicit: bool,
    }

    impl Enc {
        fn el(self, tag: Tag, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
            let mut v = Vec::new();
            v.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
            v.extend_from_slice(&((tag & 0xFFFF) as u16).to_le_bytes());
            match (self.explicit, Vr(*vr).has_long_length()) {
                (true, false) => {
                    v.extend_from_slice(vr);
                    v.extend_from_slice(&(value.len() as u16).to_le_bytes());
                }
                (true, true) => {
                    v.extend_from_slice(vr);
                    v.extend_from_slice(&[0, 0]);
                    v.extend_from_slice(&(value.len() as u32).to_le_bytes());
                }
                (false, _) => v.extend_from_slice(&(value.len() as u32).to_le_bytes()),
            }
            v.extend_from_slice(value);
            v
        }

        /// A sequence of `items`, each of the given bytes; `defined`: with lengths (the
        /// sequence's and its items'), else with delimiters.
        fn sq(self, tag: Tag, vr: &[u8; 2], items: &[Vec<u8>], defined: bool) -> Vec<u8> {
            let mut value = Vec::new();
            for item in items {
                value.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
                if defined {
                    value.extend_from_slice(&(item.len() as u32).to_le_bytes());
                    value.extend_from_slice(item);
                } else {
                    value.extend_from_slice(&UNDEFINED.to_le_bytes());
                    value.extend_from_slice(item);
                    value.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
                }
            }
            if !defined {
                value.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
            }
            let mut v = self.el(tag, vr, &[]);
            let len = if defined {
                value.len() as u32
            } else {
                UNDEFINED
            };
            let at = v.len() - 4;
            v[at..].copy_from_slice(&len.to_le_bytes());
            v.extend(value);
            v
        }

        fn code(self, value: &[u8], scheme: &[u8], meaning: &[u8]) -> Vec<u8> {
            let mut v = self.el(CODE_VALUE, b"SH", value);
            v.extend(self.el(CODING_SCHEME, b"SH", scheme));
            v.extend(self.el(CODE_MEANING, b"LO", meaning));
            v
        }

        /// A NUM content item: concept, value and unit, the sequences with lengths or not.
        fn num(self, concept: &[u8], meaning: &[u8], unit: &[u8], defined: bool) -> Vec<u8> {
            let mut v = self.el(RELATIONSHIP_TYPE, b"CS", b"CONTAINS");
            v.extend(self.el(0x0040_A040, b"CS", b"NUM "));
            let name = self.code(concept, b"DCM ", meaning);
            v.extend(self.sq(CONCEPT_NAME, b"SQ", &[name], defined));
            let mut mv = self.sq(UNITS, b"SQ", &[self.code(unit, b"UCUM", unit)], !defined);
            mv.extend(self.el(0x0040_A30A, b"DS", b"1.5 "));
            v.extend(self.sq(0x0040_A300, b"SQ", &[mv], defined));
            v
        }

        /// A report's dataset holding every form of code sequence: repeated codes (read once
        /// each), with lengths and without, a fourth value, a Long Code Value, no value, two
        /// items, none, a nested sequence, too many values; in explicit data, a UN sequence.
        fn report(self) -> Vec<u8> {
            let mut items = Vec::new();
            for round in 0..3 {
                for defined in [false, true] {
                    items.push(self.num(b"113722", b"Dose Area Product Total", b"Gy.m2", defined));
                    items.push(self.num(b"113725", b"Dose (RP) Total", b"Gy", defined));
                    if round == 0 {
                        items.push(self.num(b"113725", b"Dose (RP) total", b"Gy", defined));
                    }
                }
            }
            let mut odd = Vec::new();
            let mut with_version = self.code(b"113738", b"DCM", b"Dose (RP)");
            with_version.extend(self.el(0x0008_0103, b"SH", b"01"));
            odd.push(vec![with_version]);
            let mut long = self.el(CODE_VALUE, b"SH", b"  ");
            long.extend(self.el(LONG_CODE_VALUE, b"UC", b"a-long-code-value-of-more-than-16"));
            long.extend(self.el(CODING_SCHEME, b"SH", b"99X"));
            odd.push(vec![long]);
            odd.push(vec![self.el(CODE_MEANING, b"LO", b"no value")]);
            odd.push(vec![
                self.code(b"1", b"DCM", b"first"),
                self.code(b"2", b"DCM", b"second"),
            ]);
            odd.push(vec![]);
            let mut nested = self.code(b"3", b"DCM", b"with an equivalent code");
            nested.extend(self.sq(0x0008_0121, b"SQ", &[self.code(b"4", b"DCM", b"x")], true));
            odd.push(vec![nested]);
            let mut many = self.code(b"5", b"DCM", b"many values");
            for i in 0..6u32 {
                many.extend(self.el(0x0009_1000 + i, b"LO", b"x "));
            }
            odd.push(vec![many]);
            for (i, code) in odd.iter().enumerate() {
                let mut v = self.el(RELATIONSHIP_TYPE, b"CS", b"HAS PROPERTIES");
                v.extend(self.el(0x0040_A040, b"CS", b"CODE"));
                v.extend(self.sq(CONCEPT_NAME, b"SQ", &[self.code(b"9", b"DCM", b"n")], true));
                v.extend(self.sq(CONCEPT_CODE, b"SQ", code, i % 2 == 0));
                items.push(v);
            }
            if self.explicit {
                // A UN sequence of undefined length: implicit VR inside (PS3.5 6.2.2).
                let implicit = Enc { explicit: false };
                let mut v = self.el(RELATIONSHIP_TYPE, b"CS", b"CONTAINS");
                v.extend(implicit_un(&implicit.sq(
                    CONCEPT_NAME,
                    b"SQ",
                    &[implicit.code(b"113722", b"DCM ", b"Dose Area Product Total")],
                    false,
                )));
                items.push(v);
            }
            let mut ds = self.el(0x0008_0016, b"UI", b"1.2.840.10008.5.1.4.1.1.88.67\0");
            ds.extend(self.sq(0x0040_A730, b"SQ", &items, false));
            ds
        }
    }

    /// An implicit VR sequence of undefined length re-encoded as an explicit VR UN element.
    fn implicit_un(implicit_sq: &[u8]) -> Vec<u8> {
        let mut v = implicit_sq[..4].to_vec();
        v.extend_from_slice(b"UN\0\0");
        v.extend_from_slice(&implicit_sq[4..]);
        v
    }

    #[test]
    fn the_roots_first_content_sequence_is_visited_in_any_encoding() {
        // The root's Content Sequence with lengths or delimiters, as an undefined-length UN (an
        // implicit VR sequence inside explicit data), and twice at the top level (only the first
        // is visited; the second stays in the tree). Each way, items nested in content items
        // and a limit hit after some items were visited read as from the whole tree.
        for explicit in [true, false] {
            let e = Enc { explicit };
            // Five content items, each with 0 to 4 items nested in it, encoded by `enc`.
            let items_in = |enc: Enc| -> Vec<Vec<u8>> {
                (0..5)
                    .map(|n| {
                        let mut item =
                            enc.num(b"113722", b"Dose Area Product Total", b"Gy.m2", true);
                        let nested = vec![enc.num(b"113725", b"Dose", b"Gy", false); n];
                        item.extend(enc.sq(CONTENT_SEQUENCE, b"SQ", &nested, false));
                        item
                    })
                    .collect()
            };
            let items = items_in(e);
            let mut forms = vec![
                e.sq(CONTENT_SEQUENCE, b"SQ", &items, true),
                e.sq(CONTENT_SEQUENCE, b"SQ", &items, false),
            ];
            if explicit {
                let as_implicit = items_in(Enc { explicit: false });
                forms.push(e.sq(CONTENT_SEQUENCE, b"UN", &as_implicit, false));
            }
            let twice = {
                let mut v = e.sq(CONTENT_SEQUENCE, b"SQ", &items[..2], false);
                v.extend(e.sq(CONTENT_SEQUENCE, b"SQ", &items[2..], true));
                v
            };
            forms.push(twice.clone());
            for content in forms {
                let mut ds = e.el(0x0008_0016, b"UI", b"1.2.840.10008.5.1.4.1.1.88.67\0");
                ds.extend(e.el(0x0040_A040, b"CS", b"CONTAINER "));
                ds.extend(content);
                ds.extend(e.el(0x0040_DB73, b"LO", b"after the content"));
                assert!(parse(&ds, &Limits::default()).is_ok());
                read_alike(&ds, &Limits::default());
                for max_elements in [20, 60, 120] {
                    read_alike(
                        &ds,
                        &Limits {
                            max_elements,
                            ..Limits::default()
                        },
                    );
                }
            }
            // Twice at the top level: the first sequence's items are visited, the second's kept.
            let mut ds = e.el(0x0008_0016, b"UI", b"1.2.840.10008.5.1.4.1.1.88.67\0");
            ds.extend(twice);
            let mut visited = 0;
            let p = parse_visiting(&ds, &Limits::default(), &mut |_| visited += 1).unwrap();
            assert_eq!(visited, 2);
            let sequences: Vec<usize> = p
                .dataset
                .stored()
                .iter()
                .filter(|s| s.tag == CONTENT_SEQUENCE)
                .map(|s| s.len as usize)
                .collect();
            assert_eq!(sequences, [0, 3]);
        }
    }

    #[test]
    fn code_sequences_kept_as_codes_read_as_their_items_do() {
        for explicit in [true, false] {
            let report = Enc { explicit }.report();
            let codes = read_alike(&report, &Limits::default());
            // Dose Area Product Total, Dose (RP) Total, Dose (RP) total, Gy.m2 and Gy, each with
            // lengths and without, whatever the repeats: 10 entries. Then the 4-value code, the
            // Long Code Value and "n" (7 times): 13, and the UN sequence's in explicit data.
            assert_eq!(codes, if explicit { 14 } else { 13 });
            let p = parse(&report, &Limits::default()).unwrap();
            let content = p.dataset.items(CONTENT_SEQUENCE);
            let dap = content[0].code(CONCEPT_NAME).unwrap();
            assert_eq!((dap.value, dap.scheme), (&b"113722"[..], &b"DCM"[..]));
            assert_eq!(dap.meaning, b"Dose Area Product Total");
            let unit = content[0].items(0x0040_A300)[0].code(UNITS).unwrap();
            assert_eq!(unit.value, b"Gy.m2");
            // The odd forms, after the 14 NUM items.
            let coded = |i: usize| content[14 + i].code(CONCEPT_CODE).map(|c| c.value);
            assert_eq!(coded(0), Some(&b"113738"[..]));
            assert_eq!(coded(1), Some(&b"a-long-code-value-of-more-than-16"[..]));
            assert_eq!(coded(2), None);
            assert_eq!(coded(3), Some(&b"1"[..]));
            assert_eq!(coded(4), None);
            assert_eq!(coded(5), Some(&b"3"[..]));
            assert_eq!(coded(6), Some(&b"5"[..]));
            if explicit {
                let un = content[21].code(CONCEPT_NAME).unwrap();
                assert_eq!(un.value, b"113722");
            }
            // Under Miri (which checks the unsafe accessors on these trees), a sample of each.
            let step = if cfg!(miri) { 293 } else { 1 };
            // Every element limit and depth limit fails (or not) at the same place both ways.
            for max_elements in (1..400).step_by(step) {
                let limits = Limits {
                    max_elements,
                    ..Limits::default()
                };
                read_alike(&report, &limits);
            }
            for max_depth in 0..6 {
                let limits = Limits {
                    max_depth,
                    ..Limits::default()
                };
                read_alike(&report, &limits);
            }
            // Every truncation, and bytes flipped at random.
            for cut in (0..report.len()).step_by(step) {
                read_alike(&report[..cut], &Limits::default());
            }
            let mut x = 0x2545_F491_4F6C_DD1Du64;
            for _ in 0..3_000 / step {
                let mut b = report.clone();
                for _ in 0..1 + (x >> 60) % 3 {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let at = (x >> 20) as usize % b.len();
                    b[at] ^= (x >> 8) as u8 | 1;
                }
                read_alike(&b, &Limits::default());
            }
        }
    }

    #[test]
    fn a_code_read_in_one_syntax_is_not_reused_in_another() {
        // An explicit VR code sequence of undefined length, then a UN sequence whose value is
        // the same bytes: read as implicit VR they are not a code item (the VR reads as part
        // of a length), and reading fails, as it does without the code table.
        let e = Enc { explicit: true };
        let code = e.sq(
            CONCEPT_NAME,
            b"SQ",
            &[e.code(b"113722", b"DCM", b"DAP")],
            false,
        );
        let mut un = code[..4].to_vec();
        un.extend_from_slice(b"UN\0\0");
        un.extend_from_slice(&code[8..]);
        let mut item = e.el(RELATIONSHIP_TYPE, b"CS", b"CONTAINS");
        item.extend(code);
        let mut ds = e.el(0x0008_0016, b"UI", b"1.2.840.10008.5.1.4.1.1.88.67\0");
        let mut second = item.clone();
        second.extend(un);
        ds.extend(e.sq(CONTENT_SEQUENCE, b"SQ", &[item, second], false));
        read_alike(&ds, &Limits::default());
        assert!(parse(&ds, &Limits::default()).is_err());
    }

    #[test]
    fn corpus_code_sequences_read_alike() {
        // The corpus when the environment names it (as CI does); its reports are checked
        // whole, and cut and flipped, both ways.
        let Some(dir) = std::env::var_os("KERMA_CORPUS") else {
            return;
        };
        let mut reports = 0;
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry.unwrap();
            if !entry.file_type().is_file() {
                continue;
            }
            let bytes = std::fs::read(entry.path()).unwrap();
            if read_alike(&bytes, &Limits::default()) > 0 {
                reports += 1;
                let mut x = bytes.len() as u64;
                for i in 0..40 {
                    read_alike(&bytes[..bytes.len() * i / 40], &Limits::default());
                    let mut b = bytes.clone();
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let at = (x >> 20) as usize % b.len();
                    b[at] ^= (x >> 8) as u8 | 1;
                    read_alike(&b, &Limits::default());
                }
            }
        }
        assert!(reports >= 20, "{reports} reports with codes in the corpus");
    }
}
