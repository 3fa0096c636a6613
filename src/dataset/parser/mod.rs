//! The parser: its state, the reads every part of it uses, and how it ends.

mod file;
mod header;
mod items;

use std::marker::PhantomData;

use super::code_table::CodeTable;
use super::scratch::{Scratch, offer};
use super::tag::{Tag, UNDEFINED, tag_of};
use super::tree::{Item, Kind, Span, Stored, Tables, TablesBox, Tree, relabel};
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
    /// Whether an item of more than `LINEAR_LOOKUP_MAX` elements had them out of order.
    large_item_unsorted: bool,
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
            element_table: Vec::new(),
            item_table: Vec::new(),
            codes: CodeTable::default(),
            tables: TablesBox::new(),
            content_items_without_relationship: 0,
            large_item_unsorted: false,
            code_table: true,
            inflated: false,
        }
    }

    /// Takes this thread's kept table storage (see [`Scratch`]).
    pub(super) fn with_scratch(mut self) -> Self {
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

    /// Hands the parser's storage back to this thread (see [`Scratch`]), emptied.
    pub(super) fn give_back(self) {
        Scratch::keep(|s| {
            offer(&mut s.open_elements, self.open_elements);
            offer(&mut s.open_items, self.open_items);
            offer(&mut s.elements, self.element_table);
            offer(&mut s.items, relabel(self.item_table));
            offer(&mut s.codes.entries, self.codes.entries);
            offer(&mut s.codes.slots, self.codes.slots);
        });
    }

    /// Builds the [`Tree`]: points the items' shared [`Tables`] at the finished tables.
    pub(super) fn finish(mut self, root: Span) -> Tree<'a> {
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
