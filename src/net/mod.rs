//! Live ingest: a DICOM Storage SCP (C-ECHO, C-STORE) on the dicom-rs upper layer
//! (`dicom-ul`), feature `receiver`.
//!
//! Modalities and PACS push objects to the [`Receiver`]; each association runs on its own
//! thread, each object's data set is kept up to Pixel Data ([`HeaderCut`](header::HeaderCut):
//! the pixels are drained unread, so memory per association is bounded by the maximum PDU
//! length and [`ReceiverConfig::max_header_bytes`]). Complete objects go to one committer
//! thread, which hands every object waiting from every association to the [`ObjectStore`] in
//! one batch; each C-STORE-RSP with status success is sent only after the store returned
//! `Ok` for its batch, i.e. once the object is durable (PS3.4 §B.2.2: success means the SOP
//! Instance "has been successfully stored"). A store that is down is backed by a [`Spool`]
//! through [`Fallback`].
//!
//! With the cargo feature `tls` and `ReceiverConfig::tls` set (a `TlsConfig` from PEM files),
//! every connection is TLS 1.2 or 1.3 (rustls with the *ring* provider), client certificates
//! optionally required.
//!
//! What happens is told to an [`Observer`]: one [`Event`] per association, per object and
//! per alert.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kerma::net::{Receiver, ReceiverConfig, Spool, StderrLog};
//! # fn main() -> std::io::Result<()> {
//! let spool = Spool::open("/var/spool/kerma")?;
//! let receiver = Receiver::new(ReceiverConfig::new("KERMA"), Arc::new(spool), Arc::new(StderrLog));
//! let listener = std::net::TcpListener::bind("0.0.0.0:11112")?;
//! let handle = receiver.start(listener)?;
//! // ... later, on SIGTERM: finishes the objects in flight, then returns.
//! handle.stop();
//! # Ok(())
//! # }
//! ```

mod alert;
pub mod client;
mod commit;
pub mod dimse;
pub mod header;
#[cfg(feature = "registry")]
mod registry_store;
mod server;
mod store;
#[cfg(feature = "tls")]
mod tls;

use std::net::{IpAddr, SocketAddr};

use crate::codes::sop;
use std::time::Duration;

pub use alert::AlertCommand;
pub use dimse::Status;
#[cfg(feature = "registry")]
pub use registry_store::RegistryStore;
pub use server::{Receiver, ReceiverHandle};
pub use store::{Alert, Fallback, ObjectStore, ReceivedObject, Spool, StoreError, StoreOutcome};
#[cfg(feature = "tls")]
pub use tls::TlsConfig;

/// Implementation Class UID written in the file meta of received objects (a UUID-derived
/// UID, PS3.5 §B.2).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.238474328498236104929582376918220135761";
/// Implementation Version Name written with it.
pub const IMPLEMENTATION_VERSION: &str = "KERMA_0_1";

/// SOP classes kerma reads for dose: X-Ray Radiation Dose SR, Enhanced X-Ray Radiation Dose
/// SR, Comprehensive and Enhanced SR (vendor dose summaries), XA, Enhanced XA, XRF, Enhanced
/// XRF images (PS3.4 Annex B.5).
pub const DOSE_SOP_CLASSES: [&str; 8] = [
    "1.2.840.10008.5.1.4.1.1.88.67",
    sop::ENHANCED_XRAY_RDSR,
    "1.2.840.10008.5.1.4.1.1.88.33",
    "1.2.840.10008.5.1.4.1.1.88.22",
    sop::XA,
    sop::ENHANCED_XA,
    sop::RF,
    sop::ENHANCED_XRF,
];

/// Transfer syntaxes accepted (PS3.5 Annex A): implicit and explicit VR little endian,
/// deflated, and every syntax whose data set is explicit VR little endian with encapsulated
/// pixel data (kerma never decodes pixels): encapsulated uncompressed, JPEG baseline,
/// extended, lossless and SV1, JPEG-LS, JPEG 2000, HTJ2K, RLE.
pub const TRANSFER_SYNTAXES: [&str; 16] = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.1.98",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
    "1.2.840.10008.1.2.5",
];

/// A peer allowed to associate: its calling AE title, and optionally the one address it
/// must come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedPeer {
    /// Calling AE title (compared without surrounding spaces).
    pub ae_title: String,
    /// The address it must connect from; `None`: any.
    pub host: Option<IpAddr>,
}

impl AllowedPeer {
    /// Parses `AE` or `AE@ADDRESS`.
    ///
    /// ```
    /// let p = kerma::net::AllowedPeer::parse("CT1@10.0.0.7").unwrap();
    /// assert_eq!(p.ae_title, "CT1");
    /// assert!(kerma::net::AllowedPeer::parse("CT1@nowhere").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<AllowedPeer, String> {
        let (ae, host) = match s.split_once('@') {
            Some((ae, host)) => (
                ae,
                Some(
                    host.parse::<IpAddr>()
                        .map_err(|e| format!("{s:?}: {host:?} is not an IP address: {e}"))?,
                ),
            ),
            None => (s, None),
        };
        let ae = ae.trim();
        if ae.is_empty() || ae.len() > 16 {
            return Err(format!("{s:?}: an AE title has 1 to 16 characters"));
        }
        Ok(AllowedPeer {
            ae_title: ae.to_owned(),
            host,
        })
    }
}

/// The receiver's settings; [`ReceiverConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// Own AE title; associations calling another are rejected (called AE not recognized).
    pub ae_title: String,
    /// Maximum PDU length we receive (PS3.8 D.1); a longer P-DATA PDU aborts the association.
    pub max_pdu_length: u32,
    /// Calling AE titles (and hosts) allowed; empty: any.
    pub allowed: Vec<AllowedPeer>,
    /// Accept any storage SOP class; objects of classes kerma does not read for dose are
    /// stored, never parsed as dose.
    pub promiscuous: bool,
    /// Associations served at once; one more is rejected (transient, local limit exceeded).
    pub max_associations: usize,
    /// Time a new connection has to send its A-ASSOCIATE-RQ (PS3.8 ARTIM).
    pub request_timeout: Duration,
    /// Time an association may send nothing before it is aborted.
    pub idle_timeout: Duration,
    /// Largest command set accepted, in bytes.
    pub max_command_bytes: usize,
    /// Largest data set kept before Pixel Data, in bytes; a larger object is refused (A700H).
    pub max_header_bytes: usize,
    /// Most objects committed in one batch.
    pub max_batch: usize,
    /// TLS on every connection (none: plain TCP).
    #[cfg(feature = "tls")]
    pub tls: Option<TlsConfig>,
}

impl ReceiverConfig {
    /// Defaults: 64 KiB PDUs, any calling AE, no promiscuity, 16 associations, 10 s to
    /// associate, 60 s idle, 16 KiB command sets, 16 MiB headers, batches of 64, no TLS.
    pub fn new(ae_title: &str) -> ReceiverConfig {
        ReceiverConfig {
            ae_title: ae_title.to_owned(),
            max_pdu_length: 65_536,
            allowed: Vec::new(),
            promiscuous: false,
            max_associations: 16,
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_command_bytes: 16 * 1024,
            max_header_bytes: 16 * 1024 * 1024,
            max_batch: 64,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// Something that happened in the receiver, for its log.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A connection was refused or its association rejected or failed to establish.
    Rejected {
        /// The peer.
        peer: SocketAddr,
        /// Why.
        reason: &'a str,
    },
    /// An association was established.
    Accepted {
        /// Its number (per receiver, from 1).
        id: u64,
        /// The peer.
        peer: SocketAddr,
        /// Calling AE title.
        calling_ae: &'a str,
        /// Presentation contexts accepted / proposed.
        contexts: (usize, usize),
        /// `TCP`, or `TLS` over TCP.
        transport: &'a str,
    },
    /// An association ended.
    Ended {
        /// Its number.
        id: u64,
        /// Calling AE title.
        calling_ae: &'a str,
        /// How: released, aborted by the peer, or why we aborted it.
        how: &'a str,
        /// Objects stored on it.
        stored: u64,
    },
    /// A C-ECHO was answered.
    Echo {
        /// Association number.
        id: u64,
        /// Calling AE title.
        calling_ae: &'a str,
    },
    /// A C-STORE was answered.
    Object {
        /// Association number.
        id: u64,
        /// Calling AE title.
        calling_ae: &'a str,
        /// Affected SOP Class UID.
        sop_class: &'a str,
        /// Affected SOP Instance UID.
        sop_instance: &'a str,
        /// The status sent.
        status: Status,
        /// Why, when not success; "spooled" when the spool took it.
        detail: &'a str,
        /// Data set bytes received (all of them, kept or drained).
        bytes: u64,
        /// From the last byte of the request to the response.
        latency: Duration,
    },
    /// A trigger level reached by an arriving object.
    Alert(&'a Alert),
}

/// Receives the receiver's [`Event`]s; called from the association and committer threads.
pub trait Observer: Send + Sync {
    /// One event.
    fn event(&self, event: &Event<'_>);
}

/// Writes one line per event on standard error.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrLog;

impl Observer for StderrLog {
    fn event(&self, event: &Event<'_>) {
        eprintln!("{}", log_line(event));
    }
}

/// One log line for `event`: key=value fields after a word saying what happened.
pub fn log_line(event: &Event<'_>) -> String {
    match event {
        Event::Rejected { peer, reason } => format!("rejected peer={peer} reason=\"{reason}\""),
        Event::Accepted {
            id,
            peer,
            calling_ae,
            contexts,
            transport,
        } => format!(
            "association id={id} peer={peer} calling_ae={calling_ae} contexts={}/{} \
             transport={transport}",
            contexts.0, contexts.1
        ),
        Event::Ended {
            id,
            calling_ae,
            how,
            stored,
        } => format!("end id={id} calling_ae={calling_ae} how=\"{how}\" stored={stored}"),
        Event::Echo { id, calling_ae } => format!("echo id={id} calling_ae={calling_ae}"),
        Event::Object {
            id,
            calling_ae,
            sop_class,
            sop_instance,
            status,
            detail,
            bytes,
            latency,
        } => format!(
            "object id={id} calling_ae={calling_ae} sop_class={sop_class} \
             sop_instance={sop_instance} status={status} detail=\"{detail}\" bytes={bytes} \
             latency_ms={:.3}",
            latency.as_secs_f64() * 1e3
        ),
        Event::Alert(a) => format!("alert {}", a.summary),
    }
}
