//! The item tables: [`Tables`], and [`Item`] and [`Tree`], the views of them the rest of
//! the crate reads.

use std::fmt;

use super::code_table::{Code, CodeTable};
use super::scratch::{Scratch, offer};
use super::tag::{Tag, Vr};
use crate::value::ascii_value;

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
    /// The items of a sequence: a range of the item table (see [`Item::items`]).
    Items(ItemRange),
    /// An SR code sequence of one plain code item, kept as an entry of the code table (see
    /// [`Item::code`]).
    Code(u32),
}

/// A contiguous range of the item table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemRange {
    pub(super) start: u32,
    pub(super) len: u32,
}

/// A run of the element table (one item's elements, an entry of the item table), or of
/// the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: u32,
    pub(super) len: u32,
}

/// The span `start..end` of the input, if its offsets fit in 32 bits.
pub(super) fn span(start: usize, end: usize) -> Option<Span> {
    Some(Span {
        start: u32::try_from(start).ok()?,
        len: u32::try_from(end.checked_sub(start)?).ok()?,
    })
}

/// What a [`Stored`] element's `start` and `len` designate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Kind {
    /// A value: a range of the input.
    Bytes,
    /// A sequence: a range of the item table.
    Items,
    /// A code sequence kept as entry `start` of the code table (see `Parser::code_sequence`).
    Code,
}

/// How an element is stored in its tree's table: 16 bytes, the value as a range of the input
/// (or, for a sequence, of the item table). Offsets and counts are 32-bit: the scanner refuses
/// a header reaching past 4 GiB and more than `u32::MAX` elements.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stored {
    pub(super) tag: Tag,
    pub(super) vr: Vr,
    pub(super) kind: Kind,
    pub(super) start: u32,
    pub(super) len: u32,
}

/// A file's tables: every element of the file in one table, every item as a run of it in
/// another, and the codes of its SR code sequences in a third, each distinct code once (one
/// allocation each instead of one per item and per sequence). Every range stored in them is
/// checked against the table or input it designates as it is stored; the accessors still read
/// them with checked indexing, and an out-of-range read (which the scanner never stores)
/// reads as absent.
#[derive(Default)]
pub(super) struct Tables<'a> {
    /// The input: stored values are ranges of it.
    pub(super) input: &'a [u8],
    pub(super) elements: Vec<Stored>,
    pub(super) items: Vec<Span>,
    pub(super) codes: CodeTable<'a>,
    /// Every item of more than [`LINEAR_LOOKUP_MAX`] elements has them in strictly ascending
    /// tag order (as PS3.5 7.1 requires), so that a lookup there may search by halves.
    pub(super) large_items_sorted: bool,
}

/// The tables of [`Item::default`]: none.
static EMPTY: Tables<'static> = Tables {
    input: &[],
    elements: Vec::new(),
    items: Vec::new(),
    codes: CodeTable::new(),
    large_items_sorted: true,
};

impl<'a> Tables<'a> {
    /// The item whose elements are the run `span` of the element table.
    #[inline]
    pub(super) fn item(&self, span: Span) -> Item<'_, 'a> {
        Item {
            tables: self,
            start: span.start,
            len: span.len,
        }
    }
}

/// Items up to this many elements are searched one element after another (SR content items
/// and code items, the most frequent, have a handful); larger ones, such as an image header's
/// top level, by halves when the file keeps its tags in order.
pub(super) const LINEAR_LOOKUP_MAX: usize = 16;

/// A dataset or sequence item: a view of a run of its file's element table, the item's
/// elements in file order. It borrows the [`Tables`] for `'t` (a [`Tree`], or the parser's
/// tables while a visitor reads a content item) and hands out values borrowed from the input
/// for `'a`, which outlive it.
#[derive(Clone, Copy)]
pub(crate) struct Item<'t, 'a> {
    tables: &'t Tables<'a>,
    start: u32,
    len: u32,
}

impl Default for Item<'_, '_> {
    /// An item with no elements.
    fn default() -> Self {
        Item {
            tables: &EMPTY,
            start: 0,
            len: 0,
        }
    }
}

impl fmt::Debug for Item<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.stored().iter().map(|e| (e.tag, self.view(e))))
            .finish()
    }
}

impl<'t, 'a> Item<'t, 'a> {
    /// The stored elements, in file order.
    #[inline]
    pub(super) fn stored(&self) -> &'t [Stored] {
        let start = self.start as usize;
        self.tables
            .elements
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }

    /// The accessor view of one of this item's stored elements.
    #[inline]
    pub(super) fn view(&self, e: &Stored) -> Element<'a> {
        let value = match e.kind {
            Kind::Items => Value::Items(ItemRange {
                start: e.start,
                len: e.len,
            }),
            Kind::Code => Value::Code(e.start),
            Kind::Bytes => Value::Bytes(self.input(Span {
                start: e.start,
                len: e.len,
            })),
        };
        Element { vr: e.vr, value }
    }

    /// The bytes of the input in `span`.
    #[inline]
    fn input(&self, span: Span) -> &'a [u8] {
        let input: &'a [u8] = self.tables.input;
        let start = span.start as usize;
        input
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    pub fn get(&self, tag: Tag) -> Option<Element<'a>> {
        let stored = self.stored();
        let e = if stored.len() > LINEAR_LOOKUP_MAX && self.tables.large_items_sorted {
            let i = stored.binary_search_by_key(&tag, |e| e.tag).ok()?;
            stored.get(i)?
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
    /// The items of a sequence element (none if absent or not a sequence).
    pub fn items(&self, tag: Tag) -> Items<'t, 'a> {
        match self.get(tag).map(|e| e.value) {
            Some(Value::Items(r)) => self.items_in(r),
            _ => Items {
                tables: self.tables,
                spans: &[],
            },
        }
    }

    /// The items of one of this item's sequences.
    #[inline]
    pub(super) fn items_in(&self, r: ItemRange) -> Items<'t, 'a> {
        let start = r.start as usize;
        Items {
            tables: self.tables,
            spans: self
                .tables
                .items
                .get(start..start + r.len as usize)
                .unwrap_or_default(),
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
    pub(super) fn code_at(&self, id: u32) -> Option<Code<'a>> {
        Some(self.tables.codes.entries.get(id as usize)?.code)
    }
    /// An ASCII value (codes, UIDs, CS, DA, TM, numbers) with padding removed; `None` when
    /// absent, empty or not ASCII.
    pub fn ascii(&self, tag: Tag) -> Option<&'a str> {
        ascii_value(self.bytes(tag)?)
    }
}

/// The items of a sequence, as views of their tables.
#[derive(Clone, Copy)]
pub(crate) struct Items<'t, 'a> {
    tables: &'t Tables<'a>,
    spans: &'t [Span],
}

impl<'t, 'a> Items<'t, 'a> {
    pub fn len(&self) -> usize {
        self.spans.len()
    }
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
    /// Item `i`, if there are more.
    pub fn get(&self, i: usize) -> Option<Item<'t, 'a>> {
        Some(self.tables.item(*self.spans.get(i)?))
    }
    pub fn first(&self) -> Option<Item<'t, 'a>> {
        self.get(0)
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Item<'t, 'a>> + use<'t, 'a> {
        let tables = self.tables;
        self.spans.iter().map(move |&s| tables.item(s))
    }
}

impl fmt::Debug for Items<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A file's dataset: the tables every item of the file lives in, and which of their items is
/// the root. On drop its tables are emptied and kept for this thread's next parse (see
/// `Scratch`).
pub(crate) struct Tree<'a> {
    pub(super) tables: Tables<'a>,
    pub(super) root: Span,
    pub(super) content_items_without_relationship: usize,
}

impl Drop for Tree<'_> {
    fn drop(&mut self) {
        let elements = std::mem::take(&mut self.tables.elements);
        let items = std::mem::take(&mut self.tables.items);
        let code_slots = std::mem::take(&mut self.tables.codes.slots);
        Scratch::keep(|s| {
            offer(&mut s.elements, elements);
            offer(&mut s.items, items);
            offer(&mut s.code_slots, code_slots);
        });
    }
}

impl<'a> Tree<'a> {
    /// The root dataset.
    pub fn root(&self) -> Item<'_, 'a> {
        self.tables.item(self.root)
    }

    /// How many SR content items (items of the Content Sequences reached from the root) lack
    /// a Relationship Type (0040,A010): counted by the scanner while each item is in cache,
    /// so that the SR stage needs no second walk of the whole tree for that warning.
    pub fn content_items_without_relationship(&self) -> usize {
        self.content_items_without_relationship
    }
}

impl fmt::Debug for Tree<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root().fmt(f)
    }
}
