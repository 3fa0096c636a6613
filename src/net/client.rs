//! A small Storage SCU on dicom-ul that sends data sets' bytes as they are (no decoding, no
//! transcoding): for tests, benches and forwarding.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use dicom_ul::association::client::ClientAssociationOptions;
use dicom_ul::pdu::{PDataValueType, PresentationContextResultReason};
use dicom_ul::{ClientAssociation, Pdu};

use super::dimse::{self, Command};

/// Why a send failed.
#[derive(Debug)]
pub enum ScuError {
    /// The association could not be made or broke.
    Association(String),
    /// No accepted presentation context for this SOP class and transfer syntax.
    NoContext {
        /// SOP class.
        sop_class: String,
        /// Transfer syntax.
        transfer_syntax: String,
    },
    /// The peer's response was not a response to our request.
    BadResponse(String),
    /// A file that is not DICOM Part 10.
    NotPart10,
    /// Reading the data set to send failed.
    Io(io::Error),
}

impl std::fmt::Display for ScuError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScuError::Association(e) => write!(f, "association: {e}"),
            ScuError::NoContext {
                sop_class,
                transfer_syntax,
            } => write!(
                f,
                "no accepted presentation context for {sop_class} in {transfer_syntax}"
            ),
            ScuError::BadResponse(e) => write!(f, "bad response: {e}"),
            ScuError::NotPart10 => write!(f, "not a DICOM Part 10 file"),
            ScuError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ScuError {}

/// The answer to one C-STORE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Status (0000,0900) of the C-STORE-RSP.
    pub status: u16,
    /// From the last byte written to the response read.
    pub latency: Duration,
    /// When the last byte of the request was written.
    pub sent: Instant,
}

/// The file meta of a Part 10 file: SOP class, instance, transfer syntax, and where the
/// data set starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part10<'a> {
    /// Media Storage SOP Class UID (0002,0002).
    pub sop_class: String,
    /// Media Storage SOP Instance UID (0002,0003).
    pub sop_instance: String,
    /// Transfer Syntax UID (0002,0010).
    pub transfer_syntax: String,
    /// The data set after the meta group.
    pub data_set: &'a [u8],
}

impl Part10<'_> {
    /// Splits a Part 10 file (preamble, "DICM", explicit VR LE group 0002) into its meta and
    /// data set.
    pub fn split(file: &[u8]) -> Option<Part10<'_>> {
        if file.get(128..132)? != b"DICM" {
            return None;
        }
        let mut at = 132;
        let (mut class, mut instance, mut ts) = (None, None, None);
        loop {
            let head = file.get(at..at + 8)?;
            if u16::from_le_bytes([head[0], head[1]]) != 2 {
                break;
            }
            let element = u16::from_le_bytes([head[2], head[3]]);
            let (hdr, len) = if matches!(&head[4..6], b"OB" | b"UN" | b"UT" | b"SQ" | b"UC") {
                let l = file.get(at + 8..at + 12)?;
                (12, u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize)
            } else {
                (8, usize::from(u16::from_le_bytes([head[6], head[7]])))
            };
            let value = file.get(at + hdr..(at + hdr).checked_add(len)?)?;
            let text = || {
                String::from_utf8_lossy(value)
                    .trim_end_matches(['\0', ' '])
                    .to_owned()
            };
            match element {
                0x0002 => class = Some(text()),
                0x0003 => instance = Some(text()),
                0x0010 => ts = Some(text()),
                _ => {}
            }
            at += hdr + len;
        }
        Some(Part10 {
            sop_class: class?,
            sop_instance: instance?,
            transfer_syntax: ts?,
            data_set: file.get(at..)?,
        })
    }
}

/// An association as a Storage SCU.
///
/// ```no_run
/// use kerma::net::client::{Part10, Scu};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let file = std::fs::read("rdsr.dcm")?;
/// let meta = Part10::split(&file).ok_or("not Part 10")?;
/// let addr = "127.0.0.1:11112".parse()?;
/// let mut scu = Scu::connect(addr, "SCU", "KERMA",
///     &[(meta.sop_class.as_str(), meta.transfer_syntax.as_str())])?;
/// let stored = scu.store_part10(&file)?;
/// assert_eq!(stored.status, 0);
/// scu.release();
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Scu {
    assoc: ClientAssociation<TcpStream>,
    message_id: u16,
    /// Data bytes per P-DATA PDU (one PDV each).
    chunk: usize,
    buf: Vec<u8>,
}

impl Scu {
    /// Associates with `called` at `addr` as `calling`, proposing one presentation context
    /// per (SOP class, transfer syntax) pair, plus Verification.
    pub fn connect(
        addr: SocketAddr,
        calling: &str,
        called: &str,
        contexts: &[(&str, &str)],
    ) -> Result<Scu, ScuError> {
        let mut options = ClientAssociationOptions::new()
            .calling_ae_title(calling)
            .called_ae_title(called)
            .max_pdu_length(65_536)
            .read_timeout(Duration::from_secs(60))
            .write_timeout(Duration::from_secs(60))
            .with_presentation_context(dimse::VERIFICATION, vec!["1.2.840.10008.1.2"]);
        for (class, ts) in contexts {
            options = options.with_presentation_context(*class, vec![*ts]);
        }
        let mut assoc = options
            .establish(addr)
            .map_err(|e| ScuError::Association(e.to_string()))?;
        assoc
            .inner_stream()
            .set_nodelay(true)
            .map_err(|e| ScuError::Association(e.to_string()))?;
        let peer_max = assoc.acceptor_max_pdu_length();
        let peer_max = if peer_max == 0 { 65_536 } else { peer_max };
        // PDU length = one PDV item: 4 (item length) + 1 (context) + 1 (control) + data.
        let chunk = (peer_max as usize).saturating_sub(6).max(2) & !1;
        Ok(Scu {
            assoc,
            message_id: 0,
            chunk,
            buf: Vec::with_capacity(chunk + 12),
        })
    }

    fn context(&self, class: &str, ts: &str) -> Result<u8, ScuError> {
        self.assoc
            .presentation_contexts()
            .iter()
            .find(|c| {
                c.reason == PresentationContextResultReason::Acceptance
                    && c.abstract_syntax == class
                    && c.transfer_syntax == ts
            })
            .map(|c| c.id)
            .ok_or_else(|| ScuError::NoContext {
                sop_class: class.to_owned(),
                transfer_syntax: ts.to_owned(),
            })
    }

    /// Writes one P-DATA-TF PDU with one PDV.
    fn write_pdv(&mut self, ctx: u8, command: bool, last: bool, data: &[u8]) -> io::Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(&[4, 0]);
        self.buf
            .extend_from_slice(&(data.len() as u32 + 6).to_be_bytes());
        self.buf
            .extend_from_slice(&(data.len() as u32 + 2).to_be_bytes());
        self.buf.push(ctx);
        self.buf.push(u8::from(command) | (u8::from(last) << 1));
        self.buf.extend_from_slice(data);
        self.assoc.inner_stream().write_all(&self.buf)
    }

    /// Reads the next response command set.
    fn response(&mut self) -> Result<Command, ScuError> {
        let mut bytes = Vec::new();
        loop {
            match self.assoc.receive() {
                Ok(Pdu::PData { data }) => {
                    for pdv in data {
                        if pdv.value_type != PDataValueType::Command {
                            return Err(ScuError::BadResponse("a data set".into()));
                        }
                        bytes.extend_from_slice(&pdv.data);
                        if pdv.is_last {
                            return Command::decode(&bytes)
                                .map_err(|e| ScuError::BadResponse(e.to_string()));
                        }
                    }
                }
                Ok(other) => {
                    return Err(ScuError::Association(format!(
                        "got {}",
                        other.short_description()
                    )));
                }
                Err(e) => return Err(ScuError::Association(e.to_string())),
            }
        }
    }

    /// Sends a C-ECHO-RQ; returns the response status.
    pub fn echo(&mut self) -> Result<u16, ScuError> {
        let ctx = self.context(dimse::VERIFICATION, "1.2.840.10008.1.2")?;
        self.message_id = self.message_id.wrapping_add(1);
        let rq = Command::echo_rq(self.message_id).encode();
        self.write_pdv(ctx, true, true, &rq).map_err(ScuError::Io)?;
        let rsp = self.response()?;
        rsp.status
            .ok_or_else(|| ScuError::BadResponse("no status".into()))
    }

    /// Sends a Part 10 file's data set as it is.
    pub fn store_part10(&mut self, file: &[u8]) -> Result<Stored, ScuError> {
        let meta = Part10::split(file).ok_or(ScuError::NotPart10)?;
        self.store(
            &meta.sop_class,
            &meta.sop_instance,
            &meta.transfer_syntax,
            meta.data_set,
        )
    }

    /// Sends `data_set` (encoded in `ts`) in a C-STORE-RQ.
    pub fn store(
        &mut self,
        sop_class: &str,
        sop_instance: &str,
        ts: &str,
        data_set: &[u8],
    ) -> Result<Stored, ScuError> {
        self.store_from(sop_class, sop_instance, ts, &mut &data_set[..])
    }

    /// Sends a data set read from `data_set` until its end, one PDU at a time (memory:
    /// one PDU).
    pub fn store_from(
        &mut self,
        sop_class: &str,
        sop_instance: &str,
        ts: &str,
        data_set: &mut dyn Read,
    ) -> Result<Stored, ScuError> {
        let ctx = self.context(sop_class, ts)?;
        self.message_id = self.message_id.wrapping_add(1);
        let rq = Command::store_rq(self.message_id, sop_class, sop_instance).encode();
        self.write_pdv(ctx, true, true, &rq).map_err(ScuError::Io)?;
        // Read one chunk ahead, so that the last one is flagged as last.
        let mut cur = vec![0u8; self.chunk];
        let mut next = vec![0u8; self.chunk];
        let mut n = read_full(data_set, &mut cur).map_err(ScuError::Io)?;
        loop {
            let m = if n == self.chunk {
                read_full(data_set, &mut next).map_err(ScuError::Io)?
            } else {
                0
            };
            let last = m == 0;
            self.write_pdv(ctx, false, last, &cur[..n])
                .map_err(ScuError::Io)?;
            if last {
                break;
            }
            std::mem::swap(&mut cur, &mut next);
            n = m;
        }
        let sent = Instant::now();
        let rsp = self.response()?;
        let latency = sent.elapsed();
        if rsp.responded_to != Some(self.message_id) {
            return Err(ScuError::BadResponse(format!(
                "responds to {:?}, not {}",
                rsp.responded_to, self.message_id
            )));
        }
        Ok(Stored {
            status: rsp
                .status
                .ok_or_else(|| ScuError::BadResponse("no status".into()))?,
            latency,
            sent,
        })
    }

    /// The underlying association (for tests that misbehave on purpose).
    pub fn association(&mut self) -> &mut ClientAssociation<TcpStream> {
        &mut self.assoc
    }

    /// Releases the association.
    pub fn release(self) {
        let _ = self.assoc.release();
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
