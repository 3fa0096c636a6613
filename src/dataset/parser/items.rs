//! Items and sequences: reading a dataset's elements, its sequences and their items, SR
//! code sequences into the code table, and the visitor's hand-over.

use super::header::Header;
use super::{Parser, too_many_elements};
use crate::dataset::code_table::{CODE_ITEM_MAX, Code};
use crate::dataset::tag::{
    CONCEPT_CODE, CONCEPT_NAME, CONTENT_SEQUENCE, ITEM, ITEM_DELIMITATION, RELATIONSHIP_TYPE,
    SEQUENCE_DELIMITATION, UNDEFINED, UNITS, Vr, standard_vr, tag_of,
};
use crate::dataset::tree::{ItemRange, Kind, LINEAR_LOOKUP_MAX, Span, Stored, span};
use crate::dataset::{HARD_MAX_DEPTH, Syntax, Visitor};
use crate::error::ParseError;

impl<'a, 'l> Parser<'a, 'l> {
    /// Closes an item whose elements are `open_elements[mark..]`: moves them to the element
    /// table, where they are contiguous.
    fn close_item(&mut self, mark: usize) -> Result<Span, ParseError> {
        let start = self.tables.elements.len();
        let len = self.open_elements.len() - mark;
        if len > LINEAR_LOOKUP_MAX
            && !self.open_elements[mark..]
                .windows(2)
                .all(|w| w[0].tag < w[1].tag)
        {
            self.tables.large_items_sorted = false;
        }
        self.tables
            .elements
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
    pub(super) fn read_dataset(
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
            let (vr, (kind, start, len)) = if h.vr == Vr::SQ {
                (h.vr, self.sequence_value(&h, depth, top, content)?)
            } else if h.vr == Vr::UN {
                self.un_value(&h, depth, top, content)?
            } else {
                (h.vr, (Kind::Bytes, self.take_stored(h.len)?, h.len))
            };
            self.open_elements.push(Stored {
                tag: h.tag,
                vr,
                kind,
                start,
                len,
            });
        }
    }

    /// Reads the items of the sequence whose header is `h`, as `read_dataset` stores them.
    #[inline(always)]
    fn sequence_value(
        &mut self,
        h: &Header,
        depth: usize,
        top: bool,
        content: bool,
    ) -> Result<(Kind, u32, u32), ParseError> {
        let code = match h.tag {
            CONCEPT_NAME | CONCEPT_CODE | UNITS if self.code_table => {
                self.code_sequence(h.len, depth + 1)
            }
            _ => None,
        };
        match code {
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
        }
    }

    /// Reads a UN element (PS3.5 6.2.2), the VR of a value passed on by a system that did not
    /// know its tag, and returns the VR it is stored with. A UN of undefined length is a
    /// sequence. One of defined length is read by the VR the standard dictionary gives its tag
    /// (private and unknown tags stay UN): a sequence when that is SQ, kept as UN bytes if
    /// its items cannot be read (unless it is the root's Content Sequence, which must read).
    ///
    /// A sequence's items are in implicit VR little endian, or in explicit VR when the first
    /// element of its first item has an explicit VR header: bytes kept as they were received,
    /// as some archives store them.
    #[cold]
    #[inline(never)]
    fn un_value(
        &mut self,
        h: &Header,
        depth: usize,
        top: bool,
        content: bool,
    ) -> Result<(Vr, (Kind, u32, u32)), ParseError> {
        let undefined = h.len == UNDEFINED;
        let vr = if undefined {
            Vr::SQ
        } else {
            standard_vr(h.tag)
        };
        let in_input = |p: &Self| {
            p.pos
                .checked_add(h.len as usize)
                .is_some_and(|e| e <= p.buf.len())
        };
        if vr != Vr::SQ || !(undefined || in_input(self)) {
            // A value beyond the input is truncation, as for any value.
            let stored = if vr == Vr::SQ { Vr::UN } else { vr };
            return Ok((stored, (Kind::Bytes, self.take_stored(h.len)?, h.len)));
        }
        let saved = self.syntax;
        self.syntax = match self.delimiter_at(self.pos) {
            Some((ITEM, _)) if self.explicit_header_at(self.pos + 8) => Syntax::ExplicitLittle,
            _ => Syntax::ImplicitLittle,
        };
        let may_fall_back = !(undefined || (top && content && h.tag == CONTENT_SEQUENCE));
        let mark = may_fall_back.then(|| self.mark());
        let read = self.sequence_value(h, depth, top, content);
        self.syntax = saved;
        match (read, mark) {
            (Ok(value), _) => Ok((Vr::SQ, value)),
            (Err(e @ ParseError::LimitExceeded { .. }), _) | (Err(e), None) => Err(e),
            (Err(_), Some(mark)) => {
                self.back_to(mark);
                Ok((Vr::UN, (Kind::Bytes, self.take_stored(h.len)?, h.len)))
            }
        }
    }

    /// Where the parser is, for [`Parser::back_to`].
    fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            elements: self.elements,
            open_elements: self.open_elements.len(),
            open_items: self.open_items.len(),
            element_table: self.tables.elements.len(),
            item_table: self.tables.items.len(),
            content_items_without_relationship: self.content_items_without_relationship,
            large_items_sorted: self.tables.large_items_sorted,
        }
    }

    /// Forgets everything read since `mark` (code table entries stay: each is a code as
    /// written at its place in the input, whoever reads it).
    fn back_to(&mut self, mark: Mark) {
        self.pos = mark.pos;
        self.elements = mark.elements;
        self.open_elements.truncate(mark.open_elements);
        self.open_items.truncate(mark.open_items);
        self.tables.elements.truncate(mark.element_table);
        self.tables.items.truncate(mark.item_table);
        self.content_items_without_relationship = mark.content_items_without_relationship;
        self.tables.large_items_sorted = mark.large_items_sorted;
    }

    /// Closes a sequence whose items are `open_items[mark..]`: moves them to the item table.
    fn close_sequence(&mut self, mark: usize) -> Result<ItemRange, ParseError> {
        let start = self.tables.items.len();
        let len = self.open_items.len() - mark;
        self.tables
            .items
            .extend_from_slice(&self.open_items[mark..]);
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
        if let Some((id, count, raw_len)) = self.tables.codes.find(self.buf, start, implicit, len) {
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
        self.tables
            .codes
            .add(self.buf, raw, form, n as u32 + 1, code)
    }

    /// The root's Content Sequence, its items handed to the visitor (out of line: it is read
    /// once per file, and the scanner's hot loop stays as small as without a visitor).
    #[inline(never)]
    fn read_visited_sequence(&mut self, len: u32, depth: usize) -> Result<ItemRange, ParseError> {
        self.read_sequence::<true>(len, depth, true)
    }

    /// Reads a sequence's items; `content`: they are SR content items (see
    /// `Tree::content_items_without_relationship`). `VISIT`: each item goes to the parser's
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
                        (self.tables.elements.len(), self.tables.items.len())
                    } else {
                        (0, 0)
                    };
                    let span = self.read_dataset(item_end, depth, false, content)?;
                    if content {
                        // The item's elements were just written: checked while they are hot.
                        let own = &self.tables.elements
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
        // The visitor borrows the tables for the call only: it cannot keep the item, nor
        // anything borrowed from the tables (values borrow the input, not the tables).
        visit(&self.tables.item(span));
        self.tables.elements.truncate(marks.0);
        self.tables.items.truncate(marks.1);
    }
}

/// The parser's position and table lengths, to read a value again another way.
struct Mark {
    pos: usize,
    elements: usize,
    open_elements: usize,
    open_items: usize,
    element_table: usize,
    item_table: usize,
    content_items_without_relationship: usize,
    large_items_sorted: bool,
}
