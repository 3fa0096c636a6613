//! The code table: the distinct codes of a file's SR code items, each kept once.

use super::tag::{
    CODE_MEANING, CODE_VALUE, CODING_SCHEME, LONG_CODE_VALUE, Tag, UNDEFINED, URN_CODE_VALUE,
};
use super::tree::Span;
use crate::value::trim_padding;

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
    pub(super) fn of(elements: impl Iterator<Item = (Tag, &'a [u8])>) -> Option<Code<'a>> {
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

/// The most values a code item may have to be kept in the code table (a code item has 3 or 4:
/// Code Value, Coding Scheme Designator, Code Meaning, perhaps Coding Scheme Version).
pub(super) const CODE_ITEM_MAX: usize = 8;

/// A code of the code table: the bytes of the code sequence it was read from, and the code.
#[derive(Debug, Clone, Copy)]
pub(super) struct StoredCode<'a> {
    pub(super) raw: Span,
    pub(super) hash: u32,
    pub(super) implicit: bool,
    /// Whether the sequence had a defined length (then `raw` is all of it).
    pub(super) defined: bool,
    /// Elements and items in `raw`, for `Limits::max_elements`.
    pub(super) count: u32,
    pub(super) code: Code<'a>,
}

/// A hash of the first 24 bytes of a code sequence's value (its item's header, its first
/// element's header and 8 bytes of value, most often the Code Value) and of how it is read;
/// `None` when fewer bytes are left.
#[inline]
pub(super) fn prefix_hash(buf: &[u8], start: usize, implicit: bool, defined: bool) -> Option<u32> {
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
/// The distinct codes of a file's SR code items, each kept once (a report repeats a few
/// dozen codes thousands of times), with an open-addressing index by content.
#[derive(Default)]
pub(super) struct CodeTable<'a> {
    pub(super) entries: Vec<StoredCode<'a>>,
    /// `id + 1` of the entry hashed there, or 0; a power of two long, at most half full.
    pub(super) slots: Vec<u32>,
}

impl<'a> CodeTable<'a> {
    /// An empty table.
    pub(super) const fn new() -> Self {
        CodeTable {
            entries: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// The code sequence read earlier whose bytes are those at `start`, read the same way
    /// (the same syntax, and the same defined length or none): its id, its element count and
    /// its length. Identical bytes read the same way make the same elements and the same code.
    #[inline]
    pub(super) fn find(
        &self,
        buf: &[u8],
        start: usize,
        implicit: bool,
        len: u32,
    ) -> Option<(u32, u32, u32)> {
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
    pub(super) fn add(
        &mut self,
        buf: &[u8],
        raw: Span,
        (implicit, defined): (bool, bool),
        count: u32,
        code: Code<'a>,
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
        let id = u32::try_from(self.entries.len()).ok()?;
        self.slots[at] = id.checked_add(1)?;
        self.entries.push(StoredCode {
            raw,
            hash,
            implicit,
            defined,
            count,
            code,
        });
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
