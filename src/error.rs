//! Errors: why a file gave no result at all.
//!
//! A file that is DICOM but carries no dose is not an error (it gets an
//! [`Outcome`](crate::Outcome)); a value that could not be used is a
//! [`Warning`](crate::Warning) on an otherwise good file. An [`Error`] means the file as a
//! whole could not be read.

use std::io;
use std::path::PathBuf;

/// Why the bytes of a file could not be scanned as DICOM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Neither a DICOM preamble and meta group nor a plausible raw dataset.
    #[error("not a DICOM file")]
    NotDicom,
    /// The data ends inside an element, item or sequence.
    #[error("truncated at byte {offset}")]
    Truncated {
        /// Where reading stopped.
        offset: usize,
        /// The offset the data would have to reach, when a length said so.
        needed: Option<usize>,
    },
    /// The bytes break the encoding rules.
    #[error("malformed data at byte {offset}: {reason}")]
    Malformed {
        /// Where the problem was found.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A transfer syntax kerma recognises but does not read (explicit VR big endian).
    #[error("unsupported transfer syntax {uid}")]
    UnsupportedTransferSyntax {
        /// The Transfer Syntax UID (0002,0010).
        uid: String,
    },
    /// A transfer syntax UID that is not in the standard.
    #[error("unknown transfer syntax {uid:?}")]
    UnknownTransferSyntax {
        /// The Transfer Syntax UID (0002,0010) as written.
        uid: String,
    },
    /// A configured [`Limits`](crate::Limits) cap was reached.
    #[error("more {what} than the limit of {limit}")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: u64,
    },
}

/// Why kerma produced no result for an input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The path given.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Reading from a stream failed.
    #[error("cannot read input")]
    Stream(#[source] io::Error),
    /// The bytes are not readable DICOM.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// kerma failed on this file in a way it should not (a bug); the other files are unaffected.
    #[error("internal error while reading {}: please report it with the file", path.display())]
    Internal {
        /// The file.
        path: PathBuf,
    },
    /// An in-memory dicom-object could not be encoded for extraction.
    #[error("cannot encode the DICOM object")]
    Object(#[source] Box<dicom_object::WriteError>),
}

/// A `Result` whose error defaults to kerma's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes, joined by ": ".
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
