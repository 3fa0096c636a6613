//! The listener and one thread per association; each association hands its objects to the
//! committer ([`commit`](super::commit)) and answers once they are durable.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use dicom_ul::association::server::AccessControl;
use dicom_ul::association::{Association, CloseSocket};
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderPresentationReason,
    AssociationRJServiceUserReason, AssociationRJSource, PDataValue, PDataValueType,
    PresentationContextResultReason, UserIdentity,
};
use dicom_ul::{Pdu, ServerAssociation, ServerAssociationOptions};

use super::commit::{self, Job};
use super::dimse::{self, Command, Status};
use super::header::{Encoding, HeaderCut, part10};
use super::{
    DOSE_SOP_CLASSES, Event, ObjectStore, Observer, ReceivedObject, ReceiverConfig,
    TRANSFER_SYNTAXES,
};

/// How often a blocked read wakes to look at the stop flag and the idle time.
const POLL: Duration = Duration::from_millis(200);
/// Time a peer has to take a response we write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A Storage SCP: configuration, the store objects go to, and who hears of events.
pub struct Receiver {
    config: ReceiverConfig,
    store: Arc<dyn ObjectStore>,
    observer: Arc<dyn Observer>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A running receiver: [`stop`](ReceiverHandle::stop) it to end it.
#[derive(Debug)]
pub struct ReceiverHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ReceiverHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets every association finish the object it is receiving (its
    /// response sent), aborts them at their next message boundary, and returns once all
    /// have ended, the committer has committed the last batch and its alerts are told.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ReceiverHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What all associations share.
struct Shared {
    config: ReceiverConfig,
    observer: Arc<dyn Observer>,
    stop: Arc<AtomicBool>,
    active: AtomicUsize,
    next_id: AtomicU64,
    commit: mpsc::Sender<Job>,
}

impl Receiver {
    /// A receiver with `config`, storing into `store`, telling `observer`.
    pub fn new(
        config: ReceiverConfig,
        store: Arc<dyn ObjectStore>,
        observer: Arc<dyn Observer>,
    ) -> Receiver {
        Receiver {
            config,
            store,
            observer,
        }
    }

    /// Serves on `listener` from a thread of its own until the handle is stopped.
    pub fn start(self, listener: TcpListener) -> io::Result<ReceiverHandle> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name("kerma-listen".into())
            .spawn(move || self.serve(listener, flag))?;
        Ok(ReceiverHandle {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    fn serve(self, listener: TcpListener, stop: Arc<AtomicBool>) {
        let (tx, rx) = mpsc::channel::<Job>();
        let committer = commit::start(
            rx,
            self.store.clone(),
            self.observer.clone(),
            self.config.max_batch,
        );
        let shared = Arc::new(Shared {
            config: self.config,
            observer: self.observer,
            stop: stop.clone(),
            active: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            commit: tx,
        });
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        for conn in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            threads.retain(|t| !t.is_finished());
            let Ok(socket) = conn else {
                // Out of file descriptors, say: do not spin while it lasts.
                thread::sleep(Duration::from_millis(10));
                continue;
            };
            let Ok(peer) = socket.peer_addr() else {
                continue;
            };
            let _ = socket.set_nodelay(true);
            let shared = shared.clone();
            // The association count includes connections being negotiated; past the limit
            // plus as many again, a connection is closed without an answer.
            let active = shared.active.fetch_add(1, Ordering::SeqCst);
            if active >= 2 * shared.config.max_associations {
                shared.active.fetch_sub(1, Ordering::SeqCst);
                shared.observer.event(&Event::Rejected {
                    peer,
                    reason: "too many connections: closed unanswered",
                });
                continue;
            }
            let spawned = thread::Builder::new()
                .name(format!("kerma-assoc-{peer}"))
                .spawn(move || {
                    if active >= shared.config.max_associations {
                        reject_busy(socket, peer, &shared);
                    } else {
                        serve_association(socket, peer, &shared);
                    }
                    shared.active.fetch_sub(1, Ordering::SeqCst);
                });
            match spawned {
                Ok(t) => threads.push(t),
                Err(_) => {
                    // The closure (and its count) was dropped with the failed spawn.
                }
            }
        }
        for t in threads {
            let _ = t.join();
        }
        drop(shared);
        if let Ok(c) = committer {
            let _ = c.join();
        }
    }
}

/// Answers an association request past the limit with A-ASSOCIATE-RJ transient,
/// service-provider (presentation), local limit exceeded (PS3.8 §9.3.4).
fn reject_busy(mut socket: TcpStream, peer: SocketAddr, shared: &Shared) {
    let _ = socket.set_read_timeout(Some(shared.config.request_timeout));
    let mut buf = bytes_buffer();
    let rq = dicom_ul::association::read_pdu_from_wire(
        &mut socket,
        &mut buf,
        shared.config.max_pdu_length,
        true,
    );
    if matches!(rq, Ok(Pdu::AssociationRQ(_))) {
        let rj = Pdu::AssociationRJ(AssociationRJ {
            result: AssociationRJResult::Transient,
            source: AssociationRJSource::ServiceProviderPresentation(
                AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
            ),
        });
        let mut out = Vec::new();
        if dicom_ul::write_pdu(&mut out, &rj).is_ok() {
            let _ = io::Write::write_all(&mut socket, &out);
        }
    }
    shared.observer.event(&Event::Rejected {
        peer,
        reason: "association limit reached (transient, local limit exceeded)",
    });
}

fn bytes_buffer() -> bytes::BytesMut {
    bytes::BytesMut::with_capacity(16 * 1024)
}

/// The calling AE allow list, checked with the peer's address; and the called AE title.
struct Access<'a> {
    config: &'a ReceiverConfig,
    peer: IpAddr,
}

impl AccessControl for Access<'_> {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        if called_ae_title.trim() != this_ae_title.trim() {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        let calling = calling_ae_title.trim();
        let allowed =
            self.config.allowed.is_empty()
                || self.config.allowed.iter().any(|p| {
                    p.ae_title == calling && p.host.is_none_or(|h| same_host(h, self.peer))
                });
        if allowed {
            Ok(())
        } else {
            Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized)
        }
    }
}

/// Whether two addresses are the same host, an IPv4 address matching its IPv6-mapped form.
fn same_host(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// The kind of the first I/O error in `e`'s chain.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        cur = err.source();
    }
    None
}

fn is_timeout(e: &dicom_ul::association::Error) -> bool {
    matches!(
        io_kind(e),
        Some(io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
    )
}

/// The text of `e` with its sources.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        s.push_str(": ");
        s.push_str(&err.to_string());
        cur = err.source();
    }
    s
}

/// Negotiates and serves one association until it is released, aborted, times out, or the
/// receiver stops.
fn serve_association(socket: TcpStream, peer: SocketAddr, shared: &Shared) {
    let config = &shared.config;
    // ARTIM: the request must start within the timeout.
    let _ = socket.set_read_timeout(Some(config.request_timeout));
    match socket.peek(&mut [0u8; 1]) {
        Ok(n) if n > 0 => {}
        Ok(_) => {
            shared.observer.event(&Event::Rejected {
                peer,
                reason: "closed before an association request",
            });
            return;
        }
        Err(e) => {
            let reason = if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) {
                format!(
                    "no association request within {} s",
                    config.request_timeout.as_secs_f64()
                )
            } else {
                format!("before an association request: {e}")
            };
            shared.observer.event(&Event::Rejected {
                peer,
                reason: &reason,
            });
            return;
        }
    }
    let mut options = ServerAssociationOptions::new()
        .ae_access_control(Access {
            config,
            peer: peer.ip(),
        })
        .ae_title(config.ae_title.as_str())
        .max_pdu_length(config.max_pdu_length)
        .strict(true)
        .promiscuous(config.promiscuous)
        .read_timeout(POLL)
        .write_timeout(WRITE_TIMEOUT)
        .with_abstract_syntax(dimse::VERIFICATION);
    for uid in DOSE_SOP_CLASSES {
        options = options.with_abstract_syntax(uid);
    }
    for uid in TRANSFER_SYNTAXES {
        options = options.with_transfer_syntax(uid);
    }
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        // The handshake gets the request timeout; messages are then read in short waits.
        let options = options
            .read_timeout(config.request_timeout)
            .tls_config(tls.server.clone());
        match options.establish_tls(socket) {
            Ok(mut assoc) => {
                let _ = assoc.inner_stream().sock.set_read_timeout(Some(POLL));
                serve_established(assoc, peer, shared, "TLS");
            }
            Err(e) => refused(&e, peer, shared),
        }
        return;
    }
    match options.establish(socket) {
        Ok(assoc) => serve_established(assoc, peer, shared, "TCP"),
        Err(e) => refused(&e, peer, shared),
    }
}

/// Logs an association that could not be established.
fn refused(e: &dicom_ul::association::Error, peer: SocketAddr, shared: &Shared) {
    let reason = match e {
        dicom_ul::association::Error::Rejected { association_rj, .. } => {
            format!("association rejected: {}", association_rj.source)
        }
        e => format!("association failed: {}", chain(e)),
    };
    shared.observer.event(&Event::Rejected {
        peer,
        reason: &reason,
    });
}

/// Serves an established association (over `transport`, for the log) to its end.
fn serve_established<S: Wire>(
    assoc: ServerAssociation<S>,
    peer: SocketAddr,
    shared: &Shared,
    transport: &str,
) {
    let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let calling_ae = assoc.peer_ae_title().trim().to_owned();
    let contexts = assoc.presentation_contexts();
    let accepted = contexts
        .iter()
        .filter(|c| c.reason == PresentationContextResultReason::Acceptance)
        .count();
    shared.observer.event(&Event::Accepted {
        id,
        peer,
        calling_ae: &calling_ae,
        contexts: (accepted, contexts.len()),
        transport,
    });
    let mut session = Session {
        shared,
        id,
        calling_ae,
        stored: 0,
        state: State::Idle,
    };
    let how = session.run(assoc);
    shared.observer.event(&Event::Ended {
        id,
        calling_ae: &session.calling_ae,
        how: &how,
        stored: session.stored,
    });
}

/// A connection an association runs on: TCP, or TLS over TCP.
trait Wire: io::Read + io::Write + CloseSocket {}

impl<S: io::Read + io::Write + CloseSocket> Wire for S {}

/// Where an association is in its message stream (PS3.8 Annex E: messages are not
/// interleaved).
enum State {
    /// Between messages.
    Idle,
    /// Receiving a command set on context `ctx`.
    Command { ctx: u8, bytes: Vec<u8> },
    /// Receiving the data set of a C-STORE.
    Data {
        ctx: u8,
        command: Box<Command>,
        sink: Sink,
        received: u64,
    },
}

/// What becomes of a data set's bytes.
enum Sink {
    /// Kept up to Pixel Data.
    Keep {
        cut: HeaderCut,
        transfer_syntax: String,
        dose_class: bool,
    },
    /// Drained: the object is answered with this status.
    Drain { status: Status, why: String },
}

struct Session<'a> {
    shared: &'a Shared,
    id: u64,
    calling_ae: String,
    stored: u64,
    state: State,
}

/// The end of an association, for the log.
type Ending = String;

impl Session<'_> {
    fn run<S: Wire>(&mut self, mut assoc: ServerAssociation<S>) -> Ending {
        let config = &self.shared.config;
        let mut last_heard = Instant::now();
        loop {
            let pdu = match assoc.receive() {
                Ok(p) => p,
                Err(e) if is_timeout(&e) => {
                    let idle = matches!(self.state, State::Idle);
                    if idle && self.shared.stop.load(Ordering::SeqCst) {
                        let _ = assoc.abort();
                        return "aborted: receiver shutting down".into();
                    }
                    if last_heard.elapsed() >= config.idle_timeout {
                        let _ = assoc.abort();
                        return format!(
                            "aborted: nothing received for {} s{}",
                            config.idle_timeout.as_secs_f64(),
                            if idle {
                                ""
                            } else {
                                " in the middle of a message"
                            }
                        );
                    }
                    continue;
                }
                Err(e) => {
                    let what = chain(&e);
                    let mid = !matches!(self.state, State::Idle);
                    if matches!(e, dicom_ul::association::Error::ReceivePdu { .. })
                        && io_kind(&e).is_none()
                    {
                        // A PDU we could not decode, or one over our maximum length.
                        let _ = assoc.abort();
                        return format!("aborted: bad PDU: {what}");
                    }
                    return if mid {
                        format!("connection lost in the middle of a message: {what}")
                    } else {
                        format!("connection lost: {what}")
                    };
                }
            };
            last_heard = Instant::now();
            match pdu {
                Pdu::PData { data } => {
                    for pdv in data {
                        if let Err(why) = self.pdv(&mut assoc, pdv) {
                            let _ = assoc.abort();
                            return format!("aborted: {why}");
                        }
                    }
                }
                Pdu::ReleaseRQ => {
                    if !matches!(self.state, State::Idle) {
                        let _ = assoc.abort();
                        return "aborted: release requested in the middle of a message".into();
                    }
                    let _ = assoc.send(&Pdu::ReleaseRP);
                    return "released".into();
                }
                Pdu::AbortRQ { .. } => {
                    return if matches!(self.state, State::Idle) {
                        "aborted by the peer".into()
                    } else {
                        "aborted by the peer in the middle of a message".into()
                    };
                }
                other => {
                    let what = other.short_description().to_string();
                    let _ = assoc.abort();
                    return format!("aborted: unexpected {what}");
                }
            }
        }
    }

    /// Takes one presentation data value; an error aborts the association.
    fn pdv<S: Wire>(
        &mut self,
        assoc: &mut ServerAssociation<S>,
        pdv: PDataValue,
    ) -> Result<(), String> {
        let config = &self.shared.config;
        let ctx = pdv.presentation_context_id;
        match (&mut self.state, pdv.value_type.clone()) {
            (State::Idle, PDataValueType::Command) => {
                self.state = State::Command {
                    ctx,
                    bytes: Vec::new(),
                };
                return self.pdv(assoc, pdv);
            }
            (State::Command { ctx: c, bytes }, PDataValueType::Command) => {
                if *c != ctx {
                    return Err(format!(
                        "command fragments on presentation contexts {c} and {ctx}"
                    ));
                }
                if bytes.len() + pdv.data.len() > config.max_command_bytes {
                    return Err(format!(
                        "command set over {} bytes",
                        config.max_command_bytes
                    ));
                }
                bytes.extend_from_slice(&pdv.data);
                if pdv.is_last {
                    let bytes = std::mem::take(bytes);
                    self.state = State::Idle;
                    let command =
                        Command::decode(&bytes).map_err(|e| format!("bad command set: {e}"))?;
                    self.command(assoc, ctx, command)?;
                }
            }
            (
                State::Data {
                    ctx: c,
                    sink,
                    received,
                    ..
                },
                PDataValueType::Data,
            ) => {
                if *c != ctx {
                    return Err(format!(
                        "data set fragments on presentation contexts {c} and {ctx}"
                    ));
                }
                *received += pdv.data.len() as u64;
                if let Sink::Keep { cut, .. } = sink
                    && let Err(e) = cut.push(&pdv.data)
                {
                    *sink = Sink::Drain {
                        status: Status::OUT_OF_RESOURCES,
                        why: format!("header over {} bytes before Pixel Data", e.limit),
                    };
                }
                if pdv.is_last {
                    let State::Data {
                        ctx,
                        command,
                        sink,
                        received,
                    } = std::mem::replace(&mut self.state, State::Idle)
                    else {
                        return Err("internal: state changed".into()); // ok: matched above
                    };
                    self.finish_store(assoc, ctx, *command, sink, received)?;
                }
            }
            (State::Idle, PDataValueType::Data) => {
                return Err("data set fragment without a command".into());
            }
            (State::Command { .. }, PDataValueType::Data) => {
                return Err("data set fragment before the command set ended".into());
            }
            (State::Data { .. }, PDataValueType::Command) => {
                return Err("command fragment before the data set ended".into());
            }
        }
        Ok(())
    }

    /// Acts on a whole command set.
    fn command<S: Wire>(
        &mut self,
        assoc: &mut ServerAssociation<S>,
        ctx: u8,
        command: Command,
    ) -> Result<(), String> {
        let negotiated = assoc
            .presentation_contexts()
            .iter()
            .find(|c| c.id == ctx && c.reason == PresentationContextResultReason::Acceptance)
            .map(|c| (c.abstract_syntax.clone(), c.transfer_syntax.clone()));
        let Some((abstract_syntax, transfer_syntax)) = negotiated else {
            return Err(format!("presentation context {ctx} was not accepted"));
        };
        match command.command_field {
            dimse::C_ECHO_RQ if !command.has_data_set() => {
                send_command(assoc, ctx, &Command::echo_rsp(&command))?;
                self.shared.observer.event(&Event::Echo {
                    id: self.id,
                    calling_ae: &self.calling_ae,
                });
            }
            dimse::C_STORE_RQ if command.has_data_set() => {
                let sop_class = command
                    .affected_sop_class
                    .clone()
                    .unwrap_or_else(|| abstract_syntax.clone());
                let dose_class = DOSE_SOP_CLASSES.contains(&sop_class.as_str());
                let sink = if command.affected_sop_instance.is_none() {
                    Sink::Drain {
                        status: Status::MISTYPED_ARGUMENT,
                        why: "no Affected SOP Instance UID".into(),
                    }
                } else if !dose_class && !self.shared.config.promiscuous {
                    Sink::Drain {
                        status: Status::SOP_CLASS_NOT_SUPPORTED,
                        why: format!("SOP class {sop_class} not stored"),
                    }
                } else {
                    match Encoding::of(&transfer_syntax) {
                        Some(enc) => Sink::Keep {
                            cut: HeaderCut::new(enc, self.shared.config.max_header_bytes),
                            transfer_syntax,
                            dose_class,
                        },
                        None => Sink::Drain {
                            status: Status::CANNOT_UNDERSTAND,
                            why: format!("transfer syntax {transfer_syntax} not read"),
                        },
                    }
                };
                self.state = State::Data {
                    ctx,
                    command: Box::new(command),
                    sink,
                    received: 0,
                };
            }
            field if command.has_data_set() => {
                // Drain its data set, then answer that the operation is not known.
                let rq = Command {
                    command_field: field,
                    ..command
                };
                self.state = State::Data {
                    ctx,
                    command: Box::new(rq),
                    sink: Sink::Drain {
                        status: Status::UNRECOGNIZED_OPERATION,
                        why: format!("command {field:04X}H not served"),
                    },
                    received: 0,
                };
            }
            field => {
                let mut rsp = Command::store_rsp(&command, Status::UNRECOGNIZED_OPERATION, None);
                rsp.command_field = field | 0x8000;
                send_command(assoc, ctx, &rsp)?;
            }
        }
        Ok(())
    }

    /// Stores a whole object (or not) and answers its C-STORE-RQ.
    fn finish_store<S: Wire>(
        &mut self,
        assoc: &mut ServerAssociation<S>,
        ctx: u8,
        command: Command,
        sink: Sink,
        received: u64,
    ) -> Result<(), String> {
        let t0 = Instant::now();
        let sop_class = command.affected_sop_class.clone().unwrap_or_default();
        let sop_instance = command.affected_sop_instance.clone().unwrap_or_default();
        let (status, detail) = match sink {
            Sink::Drain { status, why } => (status, why),
            Sink::Keep {
                cut,
                transfer_syntax,
                dose_class,
            } => {
                let cut_at_pixel_data = cut.cut();
                let data_set = cut.into_bytes();
                let bytes = part10(
                    &sop_class,
                    &sop_instance,
                    &transfer_syntax,
                    &self.calling_ae,
                    &data_set,
                );
                drop(data_set);
                let object = ReceivedObject {
                    label: format!("dicom://{}/{}", self.calling_ae, sop_instance),
                    calling_ae: self.calling_ae.clone(),
                    sop_class: sop_class.clone(),
                    sop_instance: sop_instance.clone(),
                    transfer_syntax,
                    dose_class,
                    cut_at_pixel_data,
                    bytes,
                };
                match self.commit(object) {
                    Ok(false) => (Status::SUCCESS, String::new()),
                    Ok(true) => (Status::SUCCESS, "spooled".to_owned()),
                    Err(why) => (Status::OUT_OF_RESOURCES, why),
                }
            }
        };
        if command.command_field == dimse::C_STORE_RQ {
            let comment = (!status.is_success()).then_some(detail.as_str());
            send_command(assoc, ctx, &Command::store_rsp(&command, status, comment))?;
            if status.is_success() {
                self.stored += 1;
            }
        } else {
            let mut rsp = Command::store_rsp(&command, status, Some(&detail));
            rsp.command_field = command.command_field | 0x8000;
            send_command(assoc, ctx, &rsp)?;
        }
        self.shared.observer.event(&Event::Object {
            id: self.id,
            calling_ae: &self.calling_ae,
            sop_class: &sop_class,
            sop_instance: &sop_instance,
            status,
            detail: &detail,
            bytes: received,
            latency: t0.elapsed(),
        });
        Ok(())
    }

    /// Hands `object` to the committer and waits until its batch is durable (`Ok(spooled)`)
    /// or refused.
    fn commit(&self, object: ReceivedObject) -> Result<bool, String> {
        let (tx, rx) = mpsc::channel();
        let sent = self.shared.commit.send(Job { object, reply: tx });
        if sent.is_err() {
            return Err("committer gone".into());
        }
        rx.recv().map_err(|_| "committer gone".to_owned())?
    }
}

/// Sends a command set as one PDV (command sets here are far below any maximum PDU).
fn send_command<S: Wire>(
    assoc: &mut ServerAssociation<S>,
    ctx: u8,
    command: &Command,
) -> Result<(), String> {
    assoc
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: ctx,
                value_type: PDataValueType::Command,
                is_last: true,
                data: command.encode(),
            }],
        })
        .map_err(|e| format!("could not send the response: {}", chain(&e)))
}
