//! Work that must grow linearly with the input: each test runs the same extraction on an input
//! and on one 10 times larger, in one run, and compares the CPU time of the two, so that a step
//! that compares every item with every other (100 times the work) fails.

#[path = "fixtures/mod.rs"]
mod fixtures;

use std::time::Duration;
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
use std::{sync::OnceLock, time::Instant};

use fixtures::image::{Image, ImageKind};
use fixtures::rdsr::{Event, Plane, Rdsr, Totals};
use fixtures::sr::num;
use fixtures::writer::{self, Dataset, Item, Len, Opts};
use kerma::{Extraction, Outcome, Warning};

fn ok(r: kerma::Result<Extraction>) -> Extraction {
    match r {
        Ok(x) => x,
        Err(e) => panic!("expected a result, got {e:?}"),
    }
}

/// CPU time this thread has run so far, which other threads and processes on a busy machine
/// do not inflate (POSIX `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_time() -> Duration {
    /// `struct timespec` on 64-bit Linux: `time_t` and `long` are both 64 bits.
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `struct timespec` for the duration of the call, and
    // the C library std links against provides `clock_gettime`.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Elsewhere: wall time, which the least-of-several runs below keeps usable.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_time() -> Duration {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// The CPU time of `run(input)`.
fn time<T>(input: &T, run: &impl Fn(&T)) -> Duration {
    let t = thread_time();
    run(input);
    thread_time() - t
}

/// Fails when `run` on `large` (10 times `small`) takes more than `FACTOR` times as long as on
/// `small`: linear work takes about 10 times as long, quadratic work about 100 times. Noise
/// only ever adds time, so the small input's time is the least of 5 runs, and the large
/// input gets 3 runs to come under the factor.
fn assert_linear<T>(what: &str, small: &T, large: &T, run: impl Fn(&T)) {
    const FACTOR: f64 = 30.0;
    let s = (0..5).map(|_| time(small, &run)).min().expect("five runs");
    let mut ratios = Vec::new();
    for _ in 0..3 {
        let l = time(large, &run);
        let ratio = l.as_secs_f64() / s.as_secs_f64().max(1e-9);
        eprintln!("{what}: n {s:?}, 10n {l:?}, ratio {ratio:.1}");
        if ratio <= FACTOR {
            return;
        }
        ratios.push(ratio);
    }
    panic!("{what}: 10 times the input takes {ratios:.1?} times as long (limit {FACTOR})");
}

/// An RDSR with `n` lean single-plane events and `n` Accumulated X-Ray Dose Data containers
/// for that plane.
fn containers_and_events(n: usize) -> Vec<u8> {
    let mut r = Rdsr::new(55);
    let lean = |i: usize| Event {
        plane: Plane::Single,
        uid: Some(writer::uid(&format!("55.{i}"))),
        dap: Some(num("0.0001", "Gy.m2")),
        ..Event::default()
    };
    r.events = (0..n).map(lean).collect();
    r.planes = (0..n)
        .map(|_| Totals {
            plane: Plane::Single,
            dap_total: Some(num("0.5", "Gy.m2")),
            ..Totals::default()
        })
        .collect();
    r.to_bytes()
}

/// Many Accumulated X-Ray Dose Data containers for the same plane and many events: the
/// consistency checks must not compare every container with every event, so that 10 times
/// the containers and events cost about 10 times the work, not 100.
#[test]
fn many_containers_and_many_events_stay_linear() {
    let sizes = [1_000, 10_000].map(|n| (n, containers_and_events(n)));
    assert_linear("containers x events", &sizes[0], &sizes[1], |(n, bytes)| {
        let x = ok(kerma::extract_bytes(bytes));
        let report = x.report.unwrap();
        assert_eq!((report.planes.len(), report.events.len()), (*n, *n));
        let differs = x
            .warnings
            .iter()
            .filter(|w| matches!(w, Warning::TotalDiffersFromEvents { .. }))
            .count();
        assert_eq!(
            differs, *n,
            "each container's total is checked against the event sum"
        );
    });
}

/// An Enhanced XA header with `frames` per-frame items, each with its own event UID.
fn frames_with_distinct_uids(frames: usize) -> Vec<u8> {
    let mut ds = Image::new(ImageKind::EnhancedXa, 56).to_dataset();
    let items: Vec<Item> = (0..frames)
        .map(|i| {
            let mut uid = Dataset::new();
            uid.str((0x0008, 0x3010), "UI", &writer::uid(&format!("56.{i}")));
            let mut f = Dataset::new();
            f.seq((0x0018, 0x9477), vec![uid]);
            Item::with_len(f, Len::Defined)
        })
        .collect();
    ds.remove((0x0008, 0x3010));
    ds.seq_with((0x5200, 0x9230), items, Some(Len::Defined));
    writer::write_file(&ds, &Opts::explicit())
}

/// An Enhanced XA header with one per-frame item per frame, each with its own event UID:
/// collecting distinct UIDs must not compare every frame with every UID, so that 10 times the
/// frames cost about 10 times the work, not 100.
#[test]
fn many_distinct_frame_event_uids_stay_linear() {
    let sizes = [2_000, 20_000].map(|n| (n, frames_with_distinct_uids(n)));
    assert_linear("distinct frame UIDs", &sizes[0], &sizes[1], |(n, bytes)| {
        let img = ok(kerma::extract_bytes(bytes)).image.unwrap();
        assert_eq!(img.per_frame.len(), *n);
        assert_eq!(img.irradiation_event_uids.len(), *n);
    });
}

/// A synthetic 50,000-event RDSR is read whole (every event with its DAP, totals equal to the
/// event sums), with about 10 times the work of a 5,000-event one. The time per event is
/// measured by the `extract` benchmark.
///
/// The events are lean (plane, UID, DAP: about 600 bytes each, 30 MB in all) and written
/// directly, so that the test stays quick in debug builds; `fixtures::big_rdsr` (2 kB events)
/// is what the benchmark measures.
#[test]
fn fifty_thousand_events_are_read_in_linear_time() {
    let sizes = [5_000, 50_000].map(|n| (n, lean_rdsr(n)));
    assert_linear("events", &sizes[0], &sizes[1], |(n, bytes)| {
        let x = ok(kerma::extract_bytes(bytes));
        assert_eq!(x.outcome, Outcome::Dose);
        let report = x.report.unwrap();
        assert_eq!(report.events.len(), *n);
        assert!(report.events.iter().all(|e| e.dap.is_some()));
        // Totals equal the event sums: no consistency warning.
        assert!(
            !x.warnings
                .iter()
                .any(|w| matches!(w, Warning::TotalDiffersFromEvents { .. })),
            "{:?}",
            x.warnings
        );
    });
}

/// Raw explicit VR LE writing with undefined-length sequences and items (no back-patching).
struct Raw(Vec<u8>);

const UNDEFINED: u32 = 0xFFFF_FFFF;

impl Raw {
    /// An item, item delimitation or sequence delimitation tag (FFFE,`element`) and its length.
    fn marker(&mut self, element: u16, len: u32) {
        self.0.extend_from_slice(&0xFFFEu16.to_le_bytes());
        self.0.extend_from_slice(&element.to_le_bytes());
        self.0.extend_from_slice(&len.to_le_bytes());
    }
    fn el(&mut self, group: u16, element: u16, vr: &[u8; 2], value: &[u8]) -> &mut Self {
        let pad = value.len() % 2;
        self.0.extend_from_slice(&group.to_le_bytes());
        self.0.extend_from_slice(&element.to_le_bytes());
        self.0.extend_from_slice(vr);
        self.0
            .extend_from_slice(&((value.len() + pad) as u16).to_le_bytes());
        self.0.extend_from_slice(value);
        if pad == 1 {
            self.0.push(if vr == b"UI" { 0 } else { b' ' });
        }
        self
    }
    fn seq(&mut self, group: u16, element: u16, items: impl FnOnce(&mut Raw)) -> &mut Self {
        self.0.extend_from_slice(&group.to_le_bytes());
        self.0.extend_from_slice(&element.to_le_bytes());
        self.0.extend_from_slice(b"SQ\0\0");
        self.0.extend_from_slice(&UNDEFINED.to_le_bytes());
        items(self);
        self.marker(0xE0DD, 0);
        self
    }
    fn item(&mut self, body: impl FnOnce(&mut Raw)) -> &mut Self {
        self.marker(0xE000, UNDEFINED);
        body(self);
        self.marker(0xE00D, 0);
        self
    }
    fn code(&mut self, element: u16, value: &str, scheme: &str) -> &mut Self {
        self.seq(0x0040, element, |r| {
            r.item(|r| {
                r.el(0x0008, 0x0100, b"SH", value.as_bytes()).el(
                    0x0008,
                    0x0102,
                    b"SH",
                    scheme.as_bytes(),
                );
            });
        })
    }
    /// A CONTAINS CONTAINER item of concept `concept` (DCM) whose content sequence
    /// `content` writes.
    fn container(&mut self, concept: &str, content: impl FnOnce(&mut Raw)) -> &mut Self {
        self.item(|r| {
            r.el(0x0040, 0xA010, b"CS", b"CONTAINS")
                .el(0x0040, 0xA040, b"CS", b"CONTAINER")
                .code(0xA043, concept, "DCM")
                .seq(0x0040, 0xA730, content);
        })
    }
    /// The Acquisition Plane (113764, DCM) concept modifier: Single Plane (113622, DCM).
    fn single_plane(&mut self) -> &mut Self {
        self.item(|r| {
            r.el(0x0040, 0xA010, b"CS", b"HAS CONCEPT MOD")
                .el(0x0040, 0xA040, b"CS", b"CODE")
                .code(0xA043, "113764", "DCM")
                .code(0xA168, "113622", "DCM");
        })
    }
    fn num(&mut self, concept: &str, value: &str, unit: &str) -> &mut Self {
        self.item(|r| {
            r.el(0x0040, 0xA010, b"CS", b"CONTAINS")
                .el(0x0040, 0xA040, b"CS", b"NUM")
                .code(0xA043, concept, "DCM")
                .seq(0x0040, 0xA300, |r| {
                    r.item(|r| {
                        r.code(0x08EA, unit, "UCUM")
                            .el(0x0040, 0xA30A, b"DS", value.as_bytes());
                    });
                });
        })
    }
}

/// A projection X-ray RDSR with `n` lean single-plane fluoroscopy events of 0.0001 Gy·m² each.
fn lean_rdsr(n: usize) -> Vec<u8> {
    let mut head = Dataset::new();
    head.str((0x0008, 0x0016), "UI", fixtures::sr::RDSR_SOP_CLASS)
        .str((0x0008, 0x0018), "UI", &writer::uid("9.9.9"));
    let mut r = Raw(writer::write_file(&head, &Opts::explicit()));
    r.0.reserve(n * 640);
    r.el(0x0008, 0x0060, b"CS", b"SR")
        .el(0x0040, 0xA040, b"CS", b"CONTAINER")
        .code(0xA043, "113701", "DCM")
        .seq(0x0040, 0xA730, |r| {
            r.container("113702", |r| {
                r.single_plane()
                    .num("113722", &format!("{}", n as f64 * 1e-4), "Gy.m2");
            });
            for i in 0..n {
                r.container("113706", |r| {
                    r.single_plane()
                        .item(|r| {
                            r.el(0x0040, 0xA010, b"CS", b"CONTAINS")
                                .el(0x0040, 0xA040, b"CS", b"UIDREF")
                                .code(0xA043, "113769", "DCM")
                                .el(
                                    0x0040,
                                    0xA124,
                                    b"UI",
                                    format!("1.2.826.0.1.3680043.10.1234.58.{i}").as_bytes(),
                                );
                        })
                        .item(|r| {
                            r.el(0x0040, 0xA010, b"CS", b"CONTAINS")
                                .el(0x0040, 0xA040, b"CS", b"CODE")
                                .code(0xA043, "113721", "DCM")
                                .code(0xA168, "44491008", "SCT");
                        })
                        .num("122130", "0.0001", "Gy.m2");
                });
            }
        });
    r.0
}
