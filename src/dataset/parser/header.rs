//! Element headers: tag, VR and length, in explicit and implicit VR little endian.
//!
//! [`rules`] states the encoding rules, once; the parser's three ways of reading a header
//! (the hot path, the general path and the file meta group) all go through [`decode`].

use super::Parser;
use crate::dataset::Syntax;
use crate::dataset::tag::{
    DATA_SET_TRAILING_PADDING, ITEM_DELIMITATION, PIXEL_DATA_GROUP_START, Tag, Vr, implicit_vr,
    is_standard_vr, tag_of, vr_class,
};
use crate::error::ParseError;

/// A decoded element, item or delimiter header.
pub(in crate::dataset) struct Header {
    pub(super) tag: Tag,
    /// Two spaces for an item or a delimiter, which have no VR.
    pub(super) vr: Vr,
    pub(in crate::dataset) len: u32,
}

/// Why the bytes at a position are not a header.
pub(in crate::dataset) enum Bad {
    /// The input ends inside the header field that would end at this offset.
    Truncated(usize),
    /// Explicit VR data whose VR is not two uppercase letters.
    InvalidVr,
}

/// What the hot path learns of bytes that are not a data element below Pixel Data with its
/// whole header present: only that they are not (see [`Parser::header_fast`]).
pub(in crate::dataset) struct Declined;

/// How [`rules`] answers when the bytes are not the header wanted: the hot path wants a data
/// element and only needs to know when there is none ([`Declined`]), the general path any
/// header, and why not ([`Bad`]).
pub(in crate::dataset) trait Answer: Sized {
    /// Whether only a data element below the Pixel Data group is wanted: anything else is
    /// declined before its VR is looked at.
    const ELEMENTS_ONLY: bool;
    fn truncated(needed: usize) -> Self;
    fn invalid_vr() -> Self;
    fn declined() -> Self;
}

impl Answer for Bad {
    const ELEMENTS_ONLY: bool = false;
    #[inline(always)]
    fn truncated(needed: usize) -> Self {
        Bad::Truncated(needed)
    }
    #[inline(always)]
    fn invalid_vr() -> Self {
        Bad::InvalidVr
    }
    #[inline(always)]
    fn declined() -> Self {
        // Never called: `rules` declines only when `ELEMENTS_ONLY`.
        Bad::InvalidVr
    }
}

impl Answer for Declined {
    const ELEMENTS_ONLY: bool = true;
    #[inline(always)]
    fn truncated(_: usize) -> Self {
        Declined
    }
    #[inline(always)]
    fn invalid_vr() -> Self {
        Declined
    }
    #[inline(always)]
    fn declined() -> Self {
        Declined
    }
}

/// The header at `at` (see [`rules`]).
#[inline(always)]
pub(in crate::dataset) fn decode<A: Answer>(
    buf: &[u8],
    at: usize,
    syntax: Syntax,
) -> Result<(Header, usize), A> {
    match buf.get(at..at + 8).and_then(|h| h.first_chunk::<8>()) {
        Some(head) => rules(&Whole { head, buf, at }, syntax),
        None => decode_near_end(buf, at, syntax),
    }
}

/// [`decode`] when fewer than 8 bytes are left: some field is cut.
#[cold]
#[inline(never)]
fn decode_near_end<A: Answer>(buf: &[u8], at: usize, syntax: Syntax) -> Result<(Header, usize), A> {
    rules(&Cut { buf, at }, syntax)
}

/// The encoding rules, once: the header whose fields `f` reads.
///
/// - The tag (`tag_of`), its group and element fields read one after the other.
/// - Items and delimiters (group FFFE) have a tag and a 4-byte length, no VR, in every syntax
///   (PS3.5 7.5).
/// - Explicit VR (PS3.5 7.1.2): the VR's two letters, then for the VRs with a long length
///   (`vr_class`) two reserved bytes and a 4-byte length, else a 2-byte length.
/// - Implicit VR (PS3.5 7.1.3): a 4-byte length; the VR comes from the tag
///   (`implicit_vr`).
///
/// A cut header names the end of the first field that is cut.
#[inline(always)]
fn rules<A: Answer>(f: &impl Fields, syntax: Syntax) -> Result<(Header, usize), A> {
    let tag = read_tag(f)?;
    // One comparison for both bounds: group 0000 (which ends a data set followed by trailing
    // bytes, see `Parser::trailing_here`) wraps around to the top.
    if A::ELEMENTS_ONLY && tag.wrapping_sub(0x0001_0000) >= PIXEL_DATA_GROUP_START - 0x0001_0000 {
        return Err(A::declined());
    }
    let header = |vr, len| Header { tag, vr, len };
    // Group FFFE, tested on the tag: the hot path then knows from the test above that it is
    // not an item.
    if (0xFFFE_0000..=0xFFFE_FFFF).contains(&tag) {
        return Ok((header(Vr(*b"  "), u32::from_le_bytes(f.read(4)?)), 8));
    }
    match syntax {
        Syntax::ExplicitLittle => {
            let vr = Vr(f.read(4)?);
            match vr_class(vr) {
                Some(true) => {
                    // The reserved bytes and the length read as one field.
                    let [_, _, l @ ..] = f.read::<6, A>(6)?;
                    Ok((header(vr, u32::from_le_bytes(l)), 12))
                }
                Some(false) => Ok((header(vr, u32::from(u16::from_le_bytes(f.read(6)?))), 8)),
                None => Err(A::invalid_vr()),
            }
        }
        Syntax::ImplicitLittle => Ok((header(implicit_vr(tag), u32::from_le_bytes(f.read(4)?)), 8)),
    }
}

/// Where [`rules`] reads a header's fields from.
trait Fields {
    /// The `N` bytes at `off` in the header, or the offset in the input where the field cut
    /// there would end.
    fn read<const N: usize, A: Answer>(&self, off: usize) -> Result<[u8; N], A>;
}

/// A header whose first 8 bytes, which every header has, are present: reading them needs no
/// check once [`rules`] is inlined.
struct Whole<'b> {
    head: &'b [u8; 8],
    buf: &'b [u8],
    at: usize,
}

impl Fields for Whole<'_> {
    #[inline(always)]
    fn read<const N: usize, A: Answer>(&self, off: usize) -> Result<[u8; N], A> {
        match self.head.get(off..off + N) {
            Some(b) => Ok(array(b)),
            None => read_at(self.buf, self.at + off),
        }
    }
}

/// A header with fewer than 8 bytes left.
struct Cut<'b> {
    buf: &'b [u8],
    at: usize,
}

impl Fields for Cut<'_> {
    #[inline(always)]
    fn read<const N: usize, A: Answer>(&self, off: usize) -> Result<[u8; N], A> {
        read_at(self.buf, self.at + off)
    }
}

/// The `N` bytes of `buf` at `at`, or the offset where their field would end.
#[inline(always)]
fn read_at<const N: usize, A: Answer>(buf: &[u8], at: usize) -> Result<[u8; N], A> {
    match buf.get(at..at + N) {
        Some(b) => Ok(array(b)),
        None => Err(A::truncated(at + N)),
    }
}

/// `b` as an array (`b` is `N` bytes long).
#[inline(always)]
fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    b.first_chunk::<N>().copied().unwrap_or([0; N])
}

/// The tag, the first field of every header: its group, then its element.
#[inline(always)]
fn read_tag<A: Answer>(f: &impl Fields) -> Result<Tag, A> {
    let [g0, g1] = f.read(0)?;
    let [e0, e1] = f.read(2)?;
    Ok(tag_of(&[g0, g1, e0, e1]))
}

/// The tag at `at`, or why there is none.
#[inline(always)]
fn decode_tag(buf: &[u8], at: usize) -> Result<Tag, Bad> {
    read_tag(&Cut { buf, at })
}

impl<'a, 'l> Parser<'a, 'l> {
    /// The common case of [`Parser::header`], with no error to build: a data element above
    /// group 0000 and below the Pixel Data group (so neither an item, a delimiter nor the end
    /// of the top-level dataset) whose whole header is present and, in explicit VR, whose VR
    /// is well-formed.
    /// `None` sends the caller to the general path, which decides every other case. Returning
    /// a small `Option` keeps the header in registers on the hottest path of the scanner.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn header_fast(&mut self) -> Option<Header> {
        let (h, size) = decode::<Declined>(self.buf, self.pos, self.syntax).ok()?;
        self.pos += size;
        Some(h)
    }

    /// The header at the parser's position, whatever it is; the parser moves to its value.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn header(&mut self) -> Result<Header, ParseError> {
        match decode::<Bad>(self.buf, self.pos, self.syntax) {
            Ok((h, size)) => {
                self.pos += size;
                Ok(h)
            }
            Err(bad) => Err(self.bad(bad)),
        }
    }

    /// The error for bytes at the parser's position that are not a header.
    #[cold]
    pub(super) fn bad(&self, bad: Bad) -> ParseError {
        match bad {
            Bad::Truncated(needed) => self.truncated(Some(needed)),
            Bad::InvalidVr => ParseError::Malformed {
                offset: self.pos,
                reason: "invalid value representation in explicit VR data",
            },
        }
    }

    /// The next element's header when [`Parser::header_fast`] declined it (out of line, so
    /// that the scanner's frame stays small: it recurses once per nesting level). `None` when
    /// the item ends here: Pixel Data or trailing bytes at the top level (see
    /// [`Parser::trailing_here`]), or an Item Delimitation.
    #[cold]
    #[inline(never)]
    pub(super) fn header_general(
        &mut self,
        defined_end: bool,
        top: bool,
    ) -> Result<Option<Header>, ParseError> {
        if top && self.trailing_here() {
            self.trailing_at = Some(self.pos);
            return Ok(None);
        }
        let tag = decode_tag(self.buf, self.pos).map_err(|b| self.bad(b))?;
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

    /// Whether the top-level dataset ends here, followed by bytes that are no element of it:
    /// Data Set Trailing Padding (FFFC,FFFC; PS3.10 7.2), or padding with zeros (a tag of group
    /// 0000, which no stored dataset holds, or fewer than four bytes, all zero).
    fn trailing_here(&self) -> bool {
        match self.buf.get(self.pos..self.pos + 4) {
            Some(b) => {
                let tag = tag_of(b);
                tag >> 16 == 0 || tag == DATA_SET_TRAILING_PADDING
            }
            None => self.buf[self.pos..].iter().all(|&b| b == 0),
        }
    }

    /// Whether the element header at `at` reads as explicit VR: its bytes 4 and 5 are a VR of
    /// the standard and, for a tag the data dictionary knows, that tag's VR. (Read as implicit
    /// VR they would be the low half of a length of over 16 KiB.)
    pub(super) fn explicit_header_at(&self, at: usize) -> bool {
        let Some(b) = self.buf.get(at..at + 6) else {
            return false;
        };
        let vr = Vr([b[4], b[5]]);
        let known = implicit_vr(tag_of(b));
        // OW: a VR the dictionary leaves to the data (US or OW, US or SS...).
        is_standard_vr(vr) && (known == vr || known == Vr::UN || known == Vr(*b"OW"))
    }
}
