//! Element headers: tag, VR and length, in explicit and implicit VR little endian.

use super::Parser;
use crate::dataset::Syntax;
use crate::dataset::tag::{
    DATA_SET_TRAILING_PADDING, ITEM_DELIMITATION, PIXEL_DATA_GROUP_START, Tag, Vr, implicit_vr,
    is_standard_vr, tag_of, vr_class,
};
use crate::error::ParseError;

pub(super) struct Header {
    pub(super) tag: Tag,
    pub(super) vr: Vr,
    pub(super) len: u32,
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
        let at = self.pos;
        let b = self.buf.get(at..at + 8)?;
        let tag = tag_of(b);
        // One comparison for both bounds: group 0000 wraps around to the top.
        if tag.wrapping_sub(0x0001_0000) >= PIXEL_DATA_GROUP_START - 0x0001_0000 {
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
    pub(super) fn header(&mut self) -> Result<Header, ParseError> {
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
