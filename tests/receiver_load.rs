//! The receiver under load and with a large image, on 127.0.0.1: 10,000 small RDSRs over 4
//! concurrent associations (nothing lost, nothing twice); a multi-frame XA of 1 GiB
//! generated on the fly, streamed to the `kerma-report listen` program, whose peak memory
//! stays bounded; SIGTERM with an object in flight.

mod cli_support;
mod receiver_support;

use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kerma::net::Spool;
use kerma::net::client::{Part10, Scu};
use receiver_support::big_xa::{BigXa, XA_CLASS};
use receiver_support::program::Program;
use receiver_support::{config, start, testdata};

const RDSR_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.67";
const EXPLICIT: &str = "1.2.840.10008.1.2.1";

#[test]
fn ten_thousand_rdsrs_over_four_associations() {
    const THREADS: usize = 4;
    const EACH: usize = 2_500;
    let file = std::fs::read(testdata("rdsr_canon_dgycm2_mgy.dcm")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Spool::open(dir.path()).unwrap());
    let (handle, events) = start(config(), spool.clone());
    let addr = handle.local_addr();
    let t0 = Instant::now();
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let file = file.clone();
            std::thread::spawn(move || {
                let meta = Part10::split(&file).unwrap();
                let mut scu = Scu::connect(
                    addr,
                    &format!("LOAD{t}"),
                    "KERMA",
                    &[(RDSR_CLASS, EXPLICIT)],
                )
                .unwrap();
                for i in 0..EACH {
                    let uid = format!("1.2.826.0.1.3680043.10.999.{t}.{i}");
                    let got = scu
                        .store(RDSR_CLASS, &uid, EXPLICIT, meta.data_set)
                        .unwrap();
                    assert_eq!(got.status, 0, "{uid}");
                }
                scu.release();
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let elapsed = t0.elapsed();
    handle.stop();
    eprintln!(
        "{} objects in {:.2} s ({:.0}/s, debug build)",
        THREADS * EACH,
        elapsed.as_secs_f64(),
        (THREADS * EACH) as f64 / elapsed.as_secs_f64()
    );
    let objects = spool.objects().unwrap();
    let want: HashSet<String> = (0..THREADS)
        .flat_map(|t| (0..EACH).map(move |i| format!("1.2.826.0.1.3680043.10.999.{t}.{i}")))
        .collect();
    let got: HashSet<String> = objects.iter().map(|o| o.sop_instance.clone()).collect();
    assert_eq!(objects.len(), THREADS * EACH, "nothing twice");
    assert_eq!(got, want, "nothing lost");
    // Group commit: fewer batches than objects.
    let batches = spool.batches().unwrap().len();
    assert!(batches < objects.len(), "{batches} batches");
    let ends = events
        .lines()
        .iter()
        .filter(|l| l.contains("how=\"released\"") && l.contains(&format!("stored={EACH}")))
        .count();
    assert_eq!(ends, THREADS);
}

#[test]
fn one_gib_multiframe_xa_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut program = Program::start(
        cli_support::program(),
        &["--spool".as_ref(), dir.path().as_ref()],
    );
    // 512 frames of 1024x1024x2 bytes = 1 GiB of pixel data.
    let xa_file = std::fs::read(testdata("xa_event1_img1.dcm")).unwrap();
    let (mut xa, instance) = BigXa::new(&xa_file, 512);
    let total = xa.len();
    assert!(total >= 1 << 30);
    let before = program.peak_rss_kib();
    let mut scu = Scu::connect(program.addr, "BIGXA", "KERMA", &[(XA_CLASS, EXPLICIT)]).unwrap();
    let t0 = Instant::now();
    let got = scu
        .store_from(XA_CLASS, &instance, EXPLICIT, &mut xa)
        .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(got.status, 0);
    scu.release();
    let peak = program.peak_rss_kib();
    eprintln!(
        "{total} bytes in {secs:.1} s; receiver peak RSS {} KiB (at start {before} KiB)",
        peak
    );
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
    assert!(program.terminate().success());
    let objects = Spool::open(dir.path()).unwrap().objects().unwrap();
    assert_eq!(objects.len(), 1);
    assert!(objects[0].cut_at_pixel_data);
    let x = kerma::extract_bytes(&objects[0].bytes).unwrap();
    let want = kerma::extract_path(testdata("xa_event1_img1.dcm")).unwrap();
    assert_eq!(x.image, want.image);
    assert_eq!(x.identity, want.identity);
}

/// Yields `chunks` pieces of a data set, pausing before each after the first.
struct Slow<'a> {
    data: &'a [u8],
    pos: usize,
    chunk: usize,
    pause: Duration,
}

impl Read for Slow<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos > 0 && self.pos < self.data.len() {
            std::thread::sleep(self.pause);
        }
        let n = buf.len().min(self.chunk).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn sigterm_finishes_the_object_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut program = Program::start(
        cli_support::program(),
        &["--spool".as_ref(), dir.path().as_ref()],
    );
    let file = std::fs::read(testdata("rdsr_canon_dgycm2_mgy.dcm")).unwrap();
    let meta = Part10::split(&file).unwrap();
    let addr = program.addr;
    let data = meta.data_set.to_vec();
    let instance = meta.sop_instance.clone();
    // The sender takes about a second, in PDUs of at most 64 KiB: 1/8 of the data set at a
    // time (whole PDUs, so the receiver sees them arrive while the signal comes).
    let sender = std::thread::spawn(move || {
        let mut scu = Scu::connect(addr, "INFLIGHT", "KERMA", &[(RDSR_CLASS, EXPLICIT)]).unwrap();
        let chunk = data.len().div_ceil(8);
        let mut slow = Slow {
            data: &data,
            pos: 0,
            chunk,
            pause: Duration::from_millis(120),
        };
        let got = scu.store_from(RDSR_CLASS, &instance, EXPLICIT, &mut slow);
        scu.release();
        got
    });
    program.wait_for("association id=").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let status = program.terminate();
    let got = sender.join().unwrap().unwrap();
    assert_eq!(got.status, 0, "the object in flight was stored");
    assert!(status.success(), "{status}");
    let objects = Spool::open(dir.path()).unwrap().objects().unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].sop_instance, meta.sop_instance);
}
