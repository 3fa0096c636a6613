//! The item tables: [`Item`], [`Tree`] and the tables they view.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::code_table::{Code, StoredCode};
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
    /// The items of a sequence: a range of the tree's item table (see [`Item::items`]).
    Items(ItemRange),
    /// An SR code sequence of one plain code item, kept as an entry of the tree's code table
    /// (see [`Item::code`]).
    Code(u32),
}

/// A contiguous range of a [`Tree`]'s item table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemRange {
    pub(super) start: u32,
    pub(super) len: u32,
}

/// A run of the element table (one item's elements), or of the input.
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

/// Where a tree's tables live, shared by all its items (one small allocation per file, so
/// that an item is 16 bytes).
pub(super) struct Tables<'a> {
    /// The input's first byte: stored values are ranges of it.
    pub(super) input: *const u8,
    pub(super) elements: *const Stored,
    pub(super) items: *const Item<'a>,
    pub(super) codes: *const StoredCode,
    pub(super) codes_len: usize,
    /// Every item of more than [`LINEAR_LOOKUP_MAX`] elements has them in strictly ascending
    /// tag order (as PS3.5 7.1 requires), so that a lookup there may search by halves.
    pub(super) large_items_sorted: bool,
}

/// Items up to this many elements are searched one element after another (SR content items
/// and code items, the most frequent, have a handful); larger ones, such as an image header's
/// top level, by halves when the file keeps its tags in order.
pub(super) const LINEAR_LOOKUP_MAX: usize = 16;

/// A dataset or sequence item: a view of a contiguous run of its tree's element table, the
/// item's elements in file order.
///
/// Items do not own their elements: every element and item of a file lives in two flat
/// tables owned by the file's [`Tree`] (one allocation each instead of one per item and per
/// sequence), and the codes of its SR code sequences in a third, each distinct code once.
///
/// Invariant (what makes the accessors sound): an `Item` is either empty (`len == 0`, such
/// as [`Item::default`]; its pointer is then never read) or was made by the `Parser` of a
/// [`Tree`], which, when it is finished, points `tables` at that tree's [`Tables`], whose
/// element table holds `start..start + len`, and never changes the tables again; they are
/// freed only when the tree drops. The one other way to reach a non-empty item is a visitor
/// call of `parse_visiting`: the parser points the tables at its tables as they are, lends
/// the item for the call, and changes its tables only after the call returns. `Item` is
/// neither `Clone` nor `Copy` and its fields are private, so outside this module a non-empty
/// item is only ever reached through a shared borrow of its tree or of the visited item, and
/// cannot outlive either.
pub(crate) struct Item<'a> {
    pub(super) tables: NonNull<Tables<'a>>,
    pub(super) start: u32,
    pub(super) len: u32,
    /// Values are borrowed from the input for `'a`.
    pub(super) _input: PhantomData<&'a [u8]>,
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
    pub(super) fn stored(&self) -> &[Stored] {
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
    pub(super) fn view(&self, e: &Stored) -> Element<'a> {
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
    pub(super) fn items_in(&self, r: ItemRange) -> &[Item<'a>] {
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
    pub(super) fn code_at(&self, id: u32) -> Option<Code<'a>> {
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
pub(super) struct TablesBox<'a>(pub(super) NonNull<Tables<'a>>);

impl TablesBox<'_> {
    pub(super) fn new() -> Self {
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
    pub(super) root: Item<'a>,
    // Never mutated or reallocated while the tree lives: the items point into them (moving a
    // `Tree` moves only these handles, not the heap storage). On drop they are emptied and
    // kept for this thread's next parse (see `Scratch`).
    pub(super) elements: Vec<Stored>,
    pub(super) items: Vec<Item<'a>>,
    pub(super) codes: Vec<StoredCode>,
    pub(super) _tables: TablesBox<'a>,
    pub(super) content_items_without_relationship: usize,
    /// The tree borrows the input its values point into.
    pub(super) _input: PhantomData<&'a [u8]>,
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

/// Empties a vector of items and relabels its lifetime, keeping the allocation.
pub(super) fn relabel<'x, 'y>(mut v: Vec<Item<'x>>) -> Vec<Item<'y>> {
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
