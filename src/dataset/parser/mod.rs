//! The parser: its state, the reads every part of it uses, and how it ends.

mod file;
mod header;
mod items;

use super::scratch::{Scratch, offer};
use super::tag::{Tag, UNDEFINED, tag_of};
use super::tree::{Kind, Span, Stored, Tables, Tree};
use super::{Limits, Syntax, Visitor};
use crate::error::ParseError;

pub(super) use file::{looks_like_meta, read_file};
#[cfg(test)]
pub(super) use header::{Bad, decode};

pub(super) struct Parser<'a, 'l> {
    buf: &'a [u8],
    /// Where the root's Content Sequence items go, if anywhere (see `parse_visiting`).
    pub(super) visit: Option<&'l mut Visitor<'l, 'a>>,
    pub(super) pos: usize,
    syntax: Syntax,
    limits: &'l Limits,
    elements: usize,
    pub(super) pixel_data_at: Option<usize>,
    /// Where bytes that are no element follow the top-level dataset (see `trailing_here`).
    pub(super) trailing_at: Option<usize>,
    /// How the dataset is encoded, when its first element shows another VR encoding than its
    /// transfer syntax names.
    pub(super) syntax_differs: Option<Syntax>,
    /// Elements of the items being read (innermost last); an item's run moves to the element
    /// table when the item ends, so that each item's elements are contiguous.
    open_elements: Vec<Stored>,
    /// Items of the sequences being read (innermost last), moved to the item table likewise.
    open_items: Vec<Span>,
    /// The tables the items read so far are in, which become the tree's.
    tables: Tables<'a>,
    content_items_without_relationship: usize,
    /// Whether SR code sequences go to the code table (see [`Parser::code_sequence`]); tests
    /// turn it off to check that the two ways read alike.
    pub(super) code_table: bool,
    /// Whether a deflated file's dataset was inflated (see `parse_visiting`).
    pub(super) inflated: bool,
}

impl<'a, 'l> Parser<'a, 'l> {
    pub(super) fn new(buf: &'a [u8], limits: &'l Limits) -> Parser<'a, 'l> {
        Parser {
            buf,
            visit: None,
            pos: 0,
            syntax: Syntax::ExplicitLittle,
            limits,
            elements: 0,
            pixel_data_at: None,
            trailing_at: None,
            syntax_differs: None,
            open_elements: Vec::new(),
            open_items: Vec::new(),
            tables: Tables {
                input: buf,
                large_items_sorted: true,
                ..Tables::default()
            },
            content_items_without_relationship: 0,
            code_table: true,
            inflated: false,
        }
    }

    /// Takes this thread's kept table storage (see [`Scratch`]).
    pub(super) fn with_scratch(mut self) -> Self {
        let s = Scratch::take();
        self.open_elements = s.open_elements;
        self.open_items = s.open_items;
        self.tables.elements = s.elements;
        self.tables.items = s.items;
        self.tables.codes.slots = s.code_slots;
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

    /// Hands the parser's storage back to this thread (see [`Scratch`]), emptied.
    pub(super) fn give_back(self) {
        Scratch::keep(|s| {
            offer(&mut s.open_elements, self.open_elements);
            offer(&mut s.open_items, self.open_items);
            offer(&mut s.elements, self.tables.elements);
            offer(&mut s.items, self.tables.items);
            offer(&mut s.code_slots, self.tables.codes.slots);
        });
    }

    /// Builds the [`Tree`] of the root dataset `root`: the tables move into it.
    pub(super) fn finish(mut self, root: Span) -> Tree<'a> {
        // Every sequence range indexes the item table, every code the code table, and every
        // item (the root too) the element table, by construction: `close_item` and
        // `close_sequence` take each range's start from their table's length just before
        // appending exactly `len` entries, and the tables only grow (but for a visited item,
        // removed with all it appended). Debug builds (tests, fuzzing) check it; the accessors
        // read a range out of its table as absent.
        let t = &self.tables;
        debug_assert!(
            t.elements
                .iter()
                .all(|e| e.kind != Kind::Items
                    || (e.start as usize + e.len as usize) <= t.items.len())
                && t.elements
                    .iter()
                    .all(|e| e.kind != Kind::Code || (e.start as usize) < t.codes.entries.len())
                && t.items
                    .iter()
                    .all(|i| i.start as usize + i.len as usize <= t.elements.len())
                && root.start as usize + root.len as usize <= t.elements.len(),
            "element and item tables are consistent"
        );
        let slots = std::mem::take(&mut self.tables.codes.slots);
        Scratch::keep(|s| {
            offer(&mut s.open_elements, self.open_elements);
            offer(&mut s.open_items, self.open_items);
            offer(&mut s.code_slots, slots);
        });
        Tree {
            tables: self.tables,
            root,
            content_items_without_relationship: self.content_items_without_relationship,
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
