//! Folders: walk inputs in a deterministic order and extract them, in parallel, streaming
//! results in input order so that memory does not grow with the archive.

mod walk;

use crate::error::Result;
use crate::extract::{Extraction, Extractor};

pub use walk::{Input, Origin, Skip, WalkError, walk_inputs};

/// Extracts every input and hands each result to `sink` in input order.
///
/// With the `parallel` feature, files are read by as many worker threads as the current rayon
/// pool has (so `ThreadPool::install` sets the degree of parallelism), while `sink` runs on the
/// calling thread. Workers run at most a small window of files ahead of the next result to be
/// handed over, so memory does not grow with the number of files however slow one file is.
pub fn scan<F>(inputs: &[Input], extractor: &Extractor, mut sink: F)
where
    F: FnMut(&Input, Result<Extraction>),
{
    let one = |input: &Input, heavy: &mut dyn FnMut()| -> Result<Extraction> {
        match input.walk_result() {
            Some(e) => Err(e),
            None => extractor.extract_path_with(&input.path, heavy),
        }
    };
    #[cfg(feature = "parallel")]
    {
        let threads = rayon::current_num_threads().max(1);
        if threads > 1 && inputs.len() > 1 {
            ordered_parallel(inputs, threads, one, sink);
            return;
        }
    }
    for input in inputs {
        sink(input, one(input, &mut || {}));
    }
}

/// Runs `work` over `inputs` on `threads` threads (the caller and `threads - 1` workers) and
/// hands results to `sink`, on the caller, in input order.
///
/// `work` calls the gate it is given once it knows that its input is *heavy*, before reading
/// it beyond a first chunk of 16 kB (a dose report, not an image header). The gate may wait.
///
/// Threads claim inputs one at a time, and a finished result waits in a slot until `sink`
/// takes it. How far ahead of the input `sink` takes next a thread may work:
/// - up to `2 × threads` inputs, whatever they are. This keeps heavy results, not yet handed
///   over, to `2 × threads` files' worth however slow one file is (with the scanner's tables
///   holding one content item at a time, those results are a large part of what a thread
///   holds);
/// - up to `8 × threads` inputs while they are light (an image header's result is one or two
///   kilobytes). With image headers of a few microseconds each, a window of `2 × threads`
///   absorbs only tens of microseconds of jitter (an interrupt, a page-cache miss), after which
///   a thread sleeps and must be woken; the wider window lets threads run through such jitter
///   without sleeping. A worker whose input turns out heavy out there waits at the gate until
///   the input is within `2 × threads`. The caller cannot wait for itself: it starts an input
///   out there only while no heavy result waits, so that it adds one heavy result at most.
///
/// The caller extracts too, handing over every finished result in order before it claims
/// another input: `threads` threads keep `threads` cores busy, with no separate consumer thread
/// to wake for every file.
///
/// Nobody makes a system call to wake a thread that is not asleep, and a thread that must wait
/// first spins for about the time of one file (see [`Sleep`]): with files of a few
/// microseconds, sleeping and waking on every file would cost a tenth of the scan.
#[cfg(feature = "parallel")]
fn ordered_parallel<W, F>(inputs: &[Input], threads: usize, work: W, mut sink: F)
where
    W: Fn(&Input, &mut dyn FnMut()) -> Result<Extraction> + Sync,
    F: FnMut(&Input, Result<Extraction>),
{
    use crate::error::Error;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let (window, light_window) = (2 * threads, 8 * threads);
    // Input `i`'s result waits in slot `i % light_window` (with whether it was heavy): only
    // inputs below `next + light_window` start, and `next` passes `i` only once that slot is
    // emptied, so no two results ever share a slot. A result waits boxed: an `Extraction` is
    // over a kilobyte, and most slots of the light window stay empty.
    type Slot = Option<Box<(bool, Result<Extraction>)>>;
    let slots: Vec<Mutex<Slot>> = (0..light_window).map(|_| Mutex::new(None)).collect();
    // A poisoned lock only means another thread panicked; the slot itself stays consistent.
    let slot = |i: usize| {
        slots[i % light_window]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    };
    // The input `sink` takes next.
    let next = AtomicUsize::new(0);
    // Set when the caller stops (normally or because `sink` panicked): workers stop too.
    let done = AtomicBool::new(false);
    let claim = AtomicUsize::new(0);
    // Heavy results waiting in the slots.
    let heavy_waiting = AtomicUsize::new(0);
    let (workers_wait, caller_waits) = (Sleep::default(), Sleep::default());
    // Whether a worker may go on with input `i` in a window of `w` (or must stop).
    let within =
        |i: usize, w: usize| i < next.load(Ordering::SeqCst) + w || done.load(Ordering::SeqCst);
    // Extracts input `i`, calling `gate` if it turns out heavy; stores its result.
    let extract = |i: usize, gate: &mut dyn FnMut()| {
        let input = &inputs[i];
        let mut heavy = false;
        let mut gate = || {
            heavy = true;
            gate();
        };
        // A panic would be a kerma bug; it must not leave the caller waiting.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(input, &mut gate)))
                .unwrap_or_else(|_| {
                    Err(Error::Internal {
                        path: input.path.clone(),
                    })
                });
        if heavy {
            heavy_waiting.fetch_add(1, Ordering::SeqCst);
        }
        *slot(i) = Some(Box::new((heavy, result)));
    };

    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(|| {
                loop {
                    let i = claim.fetch_add(1, Ordering::Relaxed);
                    if i >= inputs.len() {
                        break;
                    }
                    workers_wait.until(|| within(i, light_window));
                    if done.load(Ordering::SeqCst) {
                        break;
                    }
                    extract(i, &mut || workers_wait.until(|| within(i, window)));
                    caller_waits.wake();
                }
            });
        }
        // However the caller leaves (a panicking `sink` included), workers waiting for it are
        // released, so that the scope can join them.
        struct Release<'a>(&'a AtomicBool, &'a Sleep);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
                self.1.wake();
            }
        }
        let _release = Release(&done, &workers_wait);
        let mut due = 0;
        while due < inputs.len() {
            // Hand over every result finished in order.
            let finished = slot(due).take();
            if let Some((heavy, result)) = finished.map(|b| *b) {
                if heavy {
                    heavy_waiting.fetch_sub(1, Ordering::SeqCst);
                }
                next.store(due + 1, Ordering::SeqCst);
                workers_wait.wake();
                sink(&inputs[due], result);
                due += 1;
                continue;
            }
            // Then extract an input, unless that would take the caller beyond its window (a
            // worker is extracting the one due: a slow file must not let finished results
            // pile up behind it) or every input is taken: then wait for the one due. The claim
            // is a compare-and-swap, so that it never lands beyond the window (whose slot
            // could still hold a result not handed over).
            let c = claim.load(Ordering::Relaxed);
            let may_start = c < due + window
                || (c < due + light_window && heavy_waiting.load(Ordering::SeqCst) == 0);
            if c < inputs.len() && may_start {
                if claim
                    .compare_exchange(c, c + 1, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                {
                    extract(c, &mut || {});
                }
                continue;
            }
            caller_waits.until(|| slot(due).is_some());
        }
    });
}

/// Where a thread waits ([`Sleep::until`]) for a condition that another thread makes true and
/// then announces ([`Sleep::wake`]).
///
/// `wake` makes a system call only when a thread is asleep, and `until` spins a little before
/// it sleeps. A waiter counts itself among the sleepers before its last look at the condition,
/// and a waker makes the condition true before it counts the sleepers (all sequentially
/// consistent, or under a lock the condition takes): one of the two sees the other, so no
/// wake-up is lost.
#[cfg(feature = "parallel")]
#[derive(Default)]
struct Sleep {
    lock: std::sync::Mutex<()>,
    changed: std::sync::Condvar,
    sleepers: std::sync::atomic::AtomicUsize,
}

#[cfg(feature = "parallel")]
impl Sleep {
    /// Looks at the condition this many times, pausing between looks, before sleeping: a few
    /// microseconds, about one small file.
    const SPINS: usize = 256;

    fn until(&self, condition: impl Fn() -> bool) {
        use std::sync::atomic::Ordering::SeqCst;
        for _ in 0..Self::SPINS {
            if condition() {
                return;
            }
            std::hint::spin_loop();
        }
        let mut g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.sleepers.fetch_add(1, SeqCst);
        while !condition() {
            g = self.changed.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        self.sleepers.fetch_sub(1, SeqCst);
    }

    fn wake(&self) {
        if self.sleepers.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            // Taking the lock waits until a sleeper that counted itself is really asleep.
            drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
            self.changed.notify_all();
        }
    }
}

#[cfg(all(test, feature = "parallel"))]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_panicking_sink_stops_the_workers() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
        let once = walk_inputs(&[dir]);
        let inputs: Vec<Input> = (0..20).flat_map(|_| once.iter().cloned()).collect();
        let extractor = Extractor::new();
        let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(2).build() else {
            return;
        };
        let mut seen = 0;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| {
                scan(&inputs, &extractor, |_, _| {
                    seen += 1;
                    assert!(seen < 3, "the sink gives up");
                })
            })
        }));
        // The panic reaches the caller (rather than the scan waiting forever for its sink).
        assert!(r.is_err());
        assert_eq!(seen, 3);
    }

    #[test]
    fn parallel_scan_keeps_input_order_and_results() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
        let once = walk_inputs(&[dir]);
        // 5 copies of the whole folder: good, unsupported and unreadable files interleaved.
        let inputs: Vec<Input> = (0..5).flat_map(|_| once.iter().cloned()).collect();
        let extractor = Extractor::new();
        let mut sequential = Vec::new();
        for input in &inputs {
            sequential.push(format!("{:?}", extractor.extract_path(&input.path).ok()));
        }
        for threads in [2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| e.to_string());
            let Ok(pool) = pool else { return };
            let mut seen = Vec::new();
            pool.install(|| {
                scan(&inputs, &extractor, |input, r| {
                    seen.push((input.path.clone(), format!("{:?}", r.ok())))
                })
            });
            assert_eq!(seen.len(), inputs.len());
            for (i, (path, r)) in seen.iter().enumerate() {
                assert_eq!(path, &inputs[i].path, "order at {i}");
                assert_eq!(r, &sequential[i], "result at {i}");
            }
        }
    }

    /// Runs [`ordered_parallel`] over `n` numbered inputs on `threads` threads: input `i` is
    /// heavy when `heavy(i)` (it calls the gate first), and `work_pause(i)` / `sink_pause(i)`
    /// slow the work and the sink down. Checks that every result comes in order, once; returns
    /// the most results finished and not yet handed over, all and heavy ones.
    fn run_checked(
        n: usize,
        threads: usize,
        heavy: impl Fn(usize) -> bool + Sync,
        work_pause: impl Fn(usize) + Sync,
        mut sink_pause: impl FnMut(usize),
    ) -> (usize, usize) {
        let inputs: Vec<Input> = (0..n).map(|i| Input::given(i.to_string())).collect();
        let (pending, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let (pending_heavy, most_heavy) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let work = |input: &Input, gate: &mut dyn FnMut()| -> Result<Extraction> {
            let i: usize = input
                .path
                .to_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if heavy(i) {
                gate();
            }
            work_pause(i);
            most.fetch_max(pending.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            if heavy(i) {
                let k = pending_heavy.fetch_add(1, Ordering::SeqCst) + 1;
                most_heavy.fetch_max(k, Ordering::SeqCst);
            }
            Err(Error::Internal {
                path: input.path.clone(),
            })
        };
        let mut seen = 0;
        ordered_parallel(&inputs, threads, work, |input, r| {
            pending.fetch_sub(1, Ordering::SeqCst);
            if heavy(seen) {
                pending_heavy.fetch_sub(1, Ordering::SeqCst);
            }
            assert_eq!(input.path, PathBuf::from(seen.to_string()));
            assert!(matches!(r, Err(Error::Internal { path }) if path == input.path));
            sink_pause(seen);
            seen += 1;
        });
        assert_eq!(seen, n);
        (most.into_inner(), most_heavy.into_inner())
    }

    /// The bounds of [`ordered_parallel`]'s windows: the light window's slots and a result
    /// each thread has finished and not yet stored; for heavy results, `2 × threads` and one
    /// more started by the caller.
    fn assert_windows(threads: usize, (most, most_heavy): (usize, usize)) {
        let bound = 8 * threads + threads;
        assert!(most <= bound, "{most} results waiting, more than {bound}");
        let bound = 2 * threads + 1;
        assert!(
            most_heavy <= bound,
            "{most_heavy} heavy results waiting, more than {bound}"
        );
    }

    #[test]
    fn uneven_workers_and_sink_lose_no_wake_up() {
        // Work and sink that are sometimes slow (so that workers reach the window and sleep,
        // and the caller waits for the input due), sometimes instant: a lost wake-up hangs
        // here. Runs of light and of heavy inputs alternate, so that workers also wait at the
        // gate for heavy inputs, and the bounds of both windows are checked, even behind files
        // a thousand times slower than the rest.
        let pause = |i: usize| {
            if i.is_multiple_of(97) {
                std::thread::sleep(std::time::Duration::from_micros(300));
            } else if i.is_multiple_of(7) {
                std::thread::yield_now();
            }
        };
        let heavy = |i: usize| (i / 50) % 2 == 1;
        let work_pause = |i: usize| {
            if i % 250 == 125 || i % 250 == 75 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            pause(i * 31 % 1000);
        };
        for threads in [2, 3, 4] {
            let (most, most_heavy) = run_checked(3000, threads, heavy, work_pause, pause);
            assert_windows(threads, (most, most_heavy));
            assert!(
                most > 2 * threads + threads,
                "the light window is used: {most}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Any pattern of light and heavy inputs, slow ones anywhere, on 2 to 5 threads:
        /// results in order, no lost wake-up, both windows kept.
        #[test]
        fn any_mix_of_inputs_keeps_order_and_windows(
            kinds in proptest::collection::vec(0u8..6, 1..400),
            threads in 2usize..6,
        ) {
            // 0-2: light, 3-5: heavy; 2 and 5 slow, 1 and 4 yield.
            let slow = |k: u8| match k % 3 {
                2 => std::thread::sleep(std::time::Duration::from_micros(200)),
                1 => std::thread::yield_now(),
                _ => {}
            };
            let kind = |i: usize| kinds[i];
            let result = run_checked(
                kinds.len(),
                threads,
                |i| kind(i) >= 3,
                |i| slow(kind(i)),
                |i| slow(kind((i * 7) % kinds.len())),
            );
            assert_windows(threads, result);
        }
    }
}
