//! The receiver against misbehaving peers and a failing store, on 127.0.0.1: each fault
//! gets its DICOM status or abort, is logged with its reason, and the receiver keeps serving.

mod receiver_support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kerma::net::client::{Part10, Scu};
use kerma::net::dimse::Command;
use kerma::net::{
    AllowedPeer, Fallback, ObjectStore, ReceivedObject, Spool, StoreError, StoreOutcome,
};
use receiver_support::{config, start, testdata};

const RDSR_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.67";
const EXPLICIT: &str = "1.2.840.10008.1.2.1";
const WAIT: Duration = Duration::from_secs(10);

fn rdsr() -> Vec<u8> {
    std::fs::read(testdata("rdsr_canon_dgycm2_mgy.dcm")).unwrap()
}

fn scu(addr: SocketAddr, calling: &str) -> Scu {
    let file = rdsr();
    let meta = Part10::split(&file).unwrap();
    assert_eq!(meta.sop_class, RDSR_CLASS);
    assert_eq!(meta.transfer_syntax, EXPLICIT);
    Scu::connect(addr, calling, "KERMA", &[(RDSR_CLASS, EXPLICIT)]).unwrap()
}

/// A P-DATA-TF PDU with one PDV.
fn pdu(ctx: u8, command: bool, last: bool, data: &[u8]) -> Vec<u8> {
    let mut v = vec![4, 0];
    v.extend_from_slice(&(data.len() as u32 + 6).to_be_bytes());
    v.extend_from_slice(&(data.len() as u32 + 2).to_be_bytes());
    v.push(ctx);
    v.push(u8::from(command) | (u8::from(last) << 1));
    v.extend_from_slice(data);
    v
}

fn rdsr_context(scu: &mut Scu) -> u8 {
    scu.association()
        .presentation_contexts()
        .iter()
        .find(|c| c.abstract_syntax == RDSR_CLASS)
        .unwrap()
        .id
}

/// Reads until the peer closes (bounded by a read timeout); returns the bytes.
fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// A good store on a fresh association: the receiver still serves.
fn still_serves(addr: SocketAddr) {
    let mut s = scu(addr, "AFTER");
    assert_eq!(s.store_part10(&rdsr()).unwrap().status, 0);
    s.release();
}

#[test]
fn a_client_that_drops_mid_object_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Spool::open(dir.path()).unwrap());
    let (handle, events) = start(config(), spool.clone());
    let addr = handle.local_addr();
    let mut s = scu(addr, "DROPPER");
    let ctx = rdsr_context(&mut s);
    let file = rdsr();
    let meta = Part10::split(&file).unwrap();
    let stream = s.association().inner_stream();
    let rq = Command::store_rq(1, RDSR_CLASS, &meta.sop_instance).encode();
    stream.write_all(&pdu(ctx, true, true, &rq)).unwrap();
    stream
        .write_all(&pdu(ctx, false, false, &meta.data_set[..1000]))
        .unwrap();
    stream.shutdown(Shutdown::Both).unwrap();
    let line = events
        .wait_for(&["end", "calling_ae=DROPPER"], WAIT)
        .expect("the association's end is logged");
    assert!(line.contains("in the middle of a message"), "{line}");
    assert!(spool.objects().unwrap().is_empty());
    still_serves(addr);
    assert_eq!(spool.objects().unwrap().len(), 1);
}

#[test]
fn malformed_and_unknown_pdus_abort_the_association() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, events) = start(config(), Arc::new(Spool::open(dir.path()).unwrap()));
    let addr = handle.local_addr();
    for (calling, bytes) in [
        // P-DATA-TF whose PDV item length (1) is below the minimum of 2 (PS3.8 §9.3.5.1).
        ("BADPDV", vec![4u8, 0, 0, 0, 0, 6, 0, 0, 0, 1, 1, 3]),
        // An unknown PDU type.
        ("UNKNOWN", vec![0x09u8, 0, 0, 0, 0, 2, 0xAB, 0xCD]),
        // A data set fragment with no command before it.
        ("NOCMD", pdu(1, false, true, &[0, 0])),
    ] {
        let mut s = scu(addr, calling);
        let stream = s.association().inner_stream();
        stream.write_all(&bytes).unwrap();
        let reply = read_to_close(stream);
        // A-ABORT (07H), source 2 = service provider (PS3.8 §9.3.8).
        assert_eq!(reply.first(), Some(&7), "{calling}: {reply:?}");
        assert_eq!(reply.get(8), Some(&2), "{calling}: {reply:?}");
        let line = events
            .wait_for(&["end", &format!("calling_ae={calling}")], WAIT)
            .unwrap();
        assert!(line.contains("aborted:"), "{line}");
    }
    still_serves(addr);
}

#[test]
fn pdu_and_command_set_size_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.max_pdu_length = 16_384;
    c.max_command_bytes = 1024;
    let (handle, events) = start(c, Arc::new(Spool::open(dir.path()).unwrap()));
    let addr = handle.local_addr();
    // A P-DATA-TF PDU longer than the maximum we announced: refused from its header.
    let mut s = scu(addr, "BIGPDU");
    let stream = s.association().inner_stream();
    let mut big = vec![4u8, 0];
    big.extend_from_slice(&100_000u32.to_be_bytes());
    stream.write_all(&big).unwrap();
    assert_eq!(read_to_close(stream).first(), Some(&7));
    let line = events
        .wait_for(&["end", "calling_ae=BIGPDU"], WAIT)
        .unwrap();
    assert!(line.contains("bad PDU"), "{line}");
    // A command set over 1024 bytes, in fragments each within the PDU limit.
    let mut s = scu(addr, "BIGCMD");
    let ctx = rdsr_context(&mut s);
    let stream = s.association().inner_stream();
    for _ in 0..3 {
        stream
            .write_all(&pdu(ctx, true, false, &[0u8; 600]))
            .unwrap();
    }
    assert_eq!(read_to_close(stream).first(), Some(&7));
    let line = events
        .wait_for(&["end", "calling_ae=BIGCMD"], WAIT)
        .unwrap();
    assert!(line.contains("command set over 1024 bytes"), "{line}");
    still_serves(addr);
}

#[test]
fn sop_class_not_supported_and_promiscuous() {
    let file = rdsr();
    let meta = Part10::split(&file).unwrap();
    for promiscuous in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let spool = Arc::new(Spool::open(dir.path()).unwrap());
        let mut c = config();
        c.promiscuous = promiscuous;
        let (handle, events) = start(c, spool.clone());
        // Secondary Capture: proposed on its own context, it is refused unless promiscuous.
        let sc = "1.2.840.10008.5.1.4.1.1.7";
        let mut s = Scu::connect(handle.local_addr(), "SCSCU", "KERMA", &[(sc, EXPLICIT)]).unwrap();
        let got = s.store(sc, "1.2.3.4.5.6", EXPLICIT, meta.data_set);
        if promiscuous {
            assert_eq!(got.unwrap().status, 0);
            let o = spool.objects().unwrap().remove(0);
            assert!(!o.dose_class);
            assert_eq!(o.sop_class, sc);
        } else {
            assert!(got.is_err(), "context for {sc} accepted");
            assert!(spool.objects().unwrap().is_empty());
        }
        // An unknown class named in the command on an accepted context: status 0122H.
        let mut s = scu(handle.local_addr(), "LIAR");
        let ctx = rdsr_context(&mut s);
        let stream = s.association().inner_stream();
        let rq = Command::store_rq(1, "1.2.3.4", "1.2.3.4.7").encode();
        stream.write_all(&pdu(ctx, true, true, &rq)).unwrap();
        stream
            .write_all(&pdu(ctx, false, true, &[0, 0, 0, 0]))
            .unwrap();
        let Ok(dicom_ul::Pdu::PData { data }) = s.association().receive() else {
            panic!("no response");
        };
        let rsp = Command::decode(&data[0].data).unwrap();
        if promiscuous {
            assert_eq!(rsp.status, Some(0));
        } else {
            assert_eq!(rsp.status, Some(0x0122));
            assert!(
                events
                    .wait_for(&["object", "status=0122H", "not stored"], WAIT)
                    .is_some()
            );
        }
        s.release();
    }
}

#[test]
fn calling_ae_allow_list_with_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.allowed = vec![
        AllowedPeer::parse("GOOD").unwrap(),
        AllowedPeer::parse("LOCAL@127.0.0.1").unwrap(),
        AllowedPeer::parse("FAR@10.9.9.9").unwrap(),
    ];
    let (handle, events) = start(c, Arc::new(Spool::open(dir.path()).unwrap()));
    let addr = handle.local_addr();
    for ok in ["GOOD", "LOCAL"] {
        let mut s = scu(addr, ok);
        assert_eq!(s.echo().unwrap(), 0);
        s.release();
    }
    for refused in ["BAD", "FAR"] {
        let got = Scu::connect(addr, refused, "KERMA", &[(RDSR_CLASS, EXPLICIT)]);
        assert!(got.is_err(), "{refused} was let in");
    }
    let wrong_called = Scu::connect(addr, "GOOD", "OTHER", &[(RDSR_CLASS, EXPLICIT)]);
    assert!(wrong_called.is_err());
    // The log line follows the A-ASSOCIATE-RJ: wait for it.
    assert!(
        events
            .wait_for(&["called AE title not recognized"], WAIT)
            .is_some()
    );
    let refusals = || {
        events
            .lines()
            .iter()
            .filter(|l| l.contains("calling AE title not recognized"))
            .count()
    };
    let t0 = std::time::Instant::now();
    while refusals() < 2 && t0.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(refusals(), 2, "{:#?}", events.lines());
}

#[test]
fn silent_connections_and_idle_associations_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.idle_timeout = Duration::from_secs(1);
    let (handle, events) = start(c, Arc::new(Spool::open(dir.path()).unwrap()));
    let addr = handle.local_addr();
    let mut silent = TcpStream::connect(addr).unwrap();
    let line = events.wait_for(&["no association request"], WAIT).unwrap();
    assert!(line.contains("within 0.5 s"), "{line}");
    assert!(read_to_close(&mut silent).is_empty());
    let mut s = scu(addr, "IDLER");
    let reply = read_to_close(s.association().inner_stream());
    assert_eq!(reply.first(), Some(&7));
    let line = events.wait_for(&["end", "calling_ae=IDLER"], WAIT).unwrap();
    assert!(line.contains("nothing received for 1 s"), "{line}");
    still_serves(addr);
}

#[test]
fn association_limit_rejects_transiently() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.max_associations = 1;
    let (handle, events) = start(c, Arc::new(Spool::open(dir.path()).unwrap()));
    let addr = handle.local_addr();
    let first = scu(addr, "FIRST");
    let second = Scu::connect(addr, "SECOND", "KERMA", &[(RDSR_CLASS, EXPLICIT)]);
    let err = second
        .expect_err("a second association past the limit")
        .to_string();
    assert!(err.contains("rejected"), "{err}");
    assert!(
        events
            .wait_for(&["association limit reached"], WAIT)
            .is_some()
    );
    first.release();
    // The slot is free again once the first association has ended.
    assert!(
        events
            .wait_for(&["end", "calling_ae=FIRST"], WAIT)
            .is_some()
    );
    still_serves(addr);
}

/// A store that can be taken down, recording what it stored.
#[derive(Default)]
struct Flaky {
    down: AtomicBool,
    stored: Mutex<Vec<String>>,
}

#[derive(Clone)]
struct Shared(Arc<Flaky>);

impl ObjectStore for Shared {
    fn store_batch(&self, objects: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
        if self.0.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("connection refused".into()));
        }
        let mut s = self.0.stored.lock().unwrap();
        s.extend(objects.iter().map(|o| o.sop_instance.clone()));
        Ok(StoreOutcome::default())
    }
}

#[test]
fn a_store_that_is_down_spools_then_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Arc::new(Flaky::default());
    flaky.down.store(true, Ordering::SeqCst);
    let fallback = Arc::new(Fallback {
        store: Box::new(Shared(flaky.clone())),
        spool: Spool::open(dir.path()).unwrap(),
    });
    let (handle, events) = start(config(), fallback.clone());
    let file = rdsr();
    let meta = Part10::split(&file).unwrap();
    let mut s = scu(handle.local_addr(), "DURING");
    for i in 0..5 {
        let uid = format!("1.2.3.99.{i}");
        assert_eq!(
            s.store(RDSR_CLASS, &uid, EXPLICIT, meta.data_set)
                .unwrap()
                .status,
            0
        );
    }
    s.release();
    assert_eq!(
        events
            .lines()
            .iter()
            .filter(|l| l.contains("detail=\"spooled\""))
            .count(),
        5
    );
    assert!(flaky.stored.lock().unwrap().is_empty());
    assert!(fallback.catch_up().is_err(), "still down");
    // The catch-up thread moves the spool once the store is back.
    let stop = Arc::new(AtomicBool::new(false));
    let moved = Arc::new(Mutex::new(0));
    let count = moved.clone();
    let catch_up = fallback
        .clone()
        .spawn_catch_up(Duration::from_millis(50), stop.clone(), move |r| {
            if let Ok((n, _)) = r {
                *count.lock().unwrap() += n;
            }
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(*moved.lock().unwrap(), 0, "moved while the store was down");
    flaky.down.store(false, Ordering::SeqCst);
    let t0 = std::time::Instant::now();
    while *moved.lock().unwrap() < 5 && t0.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::SeqCst);
    catch_up.join().unwrap();
    assert_eq!(*moved.lock().unwrap(), 5);
    let stored = flaky.stored.lock().unwrap().clone();
    let want: Vec<String> = (0..5).map(|i| format!("1.2.3.99.{i}")).collect();
    assert_eq!(stored, want, "in arrival order, each once");
    assert!(fallback.spool.files().unwrap().is_empty());
    // Up again: objects go to the store directly.
    let mut s = scu(handle.local_addr(), "AFTER");
    assert_eq!(
        s.store(RDSR_CLASS, "1.2.3.99.9", EXPLICIT, meta.data_set)
            .unwrap()
            .status,
        0
    );
    s.release();
    assert_eq!(flaky.stored.lock().unwrap().len(), 6);
    assert!(fallback.spool.files().unwrap().is_empty());
}

/// Refuses everything: the sender must hear a failure, never success.
struct Refusing;

impl ObjectStore for Refusing {
    fn store_batch(&self, _: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
        Err(StoreError::Unavailable("disk full".into()))
    }
}

#[test]
fn no_success_without_a_durable_write_and_header_limit() {
    let (handle, events) = start(config(), Arc::new(Refusing));
    let mut s = scu(handle.local_addr(), "REFUSED");
    let got = s.store_part10(&rdsr()).unwrap();
    assert_eq!(got.status, 0xA700);
    assert!(
        events
            .wait_for(&["status=A700H", "disk full"], WAIT)
            .is_some()
    );
    s.release();
    drop(handle);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.max_header_bytes = 1000;
    let (handle, events) = start(c, Arc::new(Spool::open(dir.path()).unwrap()));
    let mut s = scu(handle.local_addr(), "HUGEHDR");
    assert_eq!(s.store_part10(&rdsr()).unwrap().status, 0xA700);
    assert!(
        events
            .wait_for(&["status=A700H", "header over 1000 bytes"], WAIT)
            .is_some()
    );
    // The association goes on after a refused object.
    assert_eq!(s.echo().unwrap(), 0);
    s.release();
}

/// Raises one alert per batch.
struct Alerting;

impl ObjectStore for Alerting {
    fn store_batch(&self, objects: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
        Ok(StoreOutcome {
            alerts: vec![kerma::net::Alert {
                summary: format!("{} reached a trigger level", objects[0].sop_instance),
                json: format!("{{\"sop_instance\":\"{}\"}}", objects[0].sop_instance),
            }],
            ..StoreOutcome::default()
        })
    }
}

#[test]
fn alerts_of_the_store_are_logged() {
    let (handle, events) = start(config(), Arc::new(Alerting));
    let mut s = scu(handle.local_addr(), "ALERTS");
    let file = rdsr();
    let meta = Part10::split(&file).unwrap();
    assert_eq!(
        s.store(RDSR_CLASS, "1.2.3.77", EXPLICIT, meta.data_set)
            .unwrap()
            .status,
        0
    );
    s.release();
    let line = events
        .wait_for(&["alert", "1.2.3.77 reached a trigger level"], WAIT)
        .unwrap();
    assert!(line.starts_with("alert "), "{line}");
}

/// Refuses any batch holding the poisoned instance; slow, so that batches gather objects
/// from several associations.
struct Poisoned {
    calls: Mutex<Vec<usize>>,
}

impl ObjectStore for Poisoned {
    fn store_batch(&self, objects: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
        std::thread::sleep(Duration::from_millis(30));
        self.calls.lock().unwrap().push(objects.len());
        if objects.iter().any(|o| o.sop_instance == "1.2.3.66.0.2") {
            return Err(StoreError::Refused("poisoned".into()));
        }
        Ok(StoreOutcome::default())
    }
}

#[test]
fn a_refused_object_does_not_fail_its_batch_mates() {
    let store = Arc::new(Poisoned {
        calls: Mutex::new(Vec::new()),
    });
    let (handle, _events) = start(config(), store.clone());
    let addr = handle.local_addr();
    let senders: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let file = rdsr();
                let meta = Part10::split(&file).unwrap();
                let mut s = scu(addr, &format!("MATE{t}"));
                let statuses: Vec<(String, u16)> = (0..5)
                    .map(|i| {
                        let uid = format!("1.2.3.66.{t}.{i}");
                        let st = s.store(RDSR_CLASS, &uid, EXPLICIT, meta.data_set).unwrap();
                        (uid, st.status)
                    })
                    .collect();
                s.release();
                statuses
            })
        })
        .collect();
    for t in senders {
        for (uid, status) in t.join().unwrap() {
            let want = if uid == "1.2.3.66.0.2" { 0xA700 } else { 0 };
            assert_eq!(status, want, "{uid}");
        }
    }
    // Batches did gather several associations' objects (else this test proves nothing).
    assert!(store.calls.lock().unwrap().iter().any(|&n| n > 1));
}
