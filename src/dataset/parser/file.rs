//! File and meta group reading: the preamble, the file meta group and the transfer syntax.

use super::Parser;
use crate::dataset::Syntax;
use crate::dataset::tree::Span;
use crate::deflate::DEFLATED_EXPLICIT_LITTLE;
use crate::error::ParseError;
use crate::value::ascii_value;

/// Classifies a transfer syntax UID.
pub(super) fn syntax_of(uid: &str) -> Result<Syntax, ParseError> {
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

/// The transfer syntax and media storage SOP class (as written) and the root dataset's span.
type FileParts<'a> = (Option<&'a str>, Option<&'a str>, Span);

pub(in crate::dataset) fn read_file<'a>(
    p: &mut Parser<'a, '_>,
) -> Result<FileParts<'a>, ParseError> {
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
            Some(DEFLATED_EXPLICIT_LITTLE) if p.inflated => Syntax::ExplicitLittle,
            Some(uid) => {
                let named = syntax_of(uid)?;
                p.syntax_as_written(named)
            }
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

pub(in crate::dataset) fn looks_like_meta(buf: &[u8]) -> bool {
    buf.len() >= 8 && buf[0] == 0x02 && buf[1] == 0x00 && buf[4].is_ascii_uppercase()
}

/// The two file meta values kerma uses (the first of each, as written).
pub(in crate::dataset) struct Meta<'a> {
    pub(in crate::dataset) transfer_syntax: Option<&'a [u8]>,
    pub(in crate::dataset) media_sop_class: Option<&'a [u8]>,
}

impl<'a, 'l> Parser<'a, 'l> {
    /// Decides explicit or implicit VR from the first element, for data without a usable
    /// transfer syntax; rejects bytes that do not look like DICOM at all.
    pub(super) fn guess_syntax(&self) -> Result<Syntax, ParseError> {
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

    /// The encoding of the dataset whose transfer syntax names `named`, from its first
    /// element's header: some toolkits write implicit VR under an explicit transfer syntax (or
    /// the reverse), as pydicom and DCMTK read it. Recorded in `syntax_differs` when it is not
    /// `named`. Explicit VR is taken as written unless the VR bytes are not letters (where
    /// reading it so would fail), implicit VR unless they are the VR the tag has.
    fn syntax_as_written(&mut self, named: Syntax) -> Syntax {
        let at = self.pos;
        let Some(b) = self.buf.get(at..at + 8) else {
            return named;
        };
        if b[0] == 0 && b[1] == 0 {
            // Group 0000: no element, but padding (read as such whatever the encoding).
            return named;
        }
        let letters = b[4].is_ascii_uppercase() && b[5].is_ascii_uppercase();
        let written = match named {
            Syntax::ExplicitLittle if !letters => Syntax::ImplicitLittle,
            Syntax::ImplicitLittle if self.explicit_header_at(at) => Syntax::ExplicitLittle,
            _ => named,
        };
        if written != named {
            self.syntax_differs = Some(written);
        }
        written
    }

    /// Reads the group 0002 elements (always explicit VR little endian).
    pub(in crate::dataset) fn read_meta(&mut self) -> Result<Meta<'a>, ParseError> {
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
}
