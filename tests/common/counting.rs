//! A global allocator that counts heap bytes: live and peak per thread (so that parallel tests
//! do not disturb each other) and for the whole process (for a bench that measures a thread
//! pool). It forwards every call to the system allocator.
//!
//! Included by a test or bench with `#[path = "common/counting.rs"] mod counting;` (from a
//! bench, `#[path = "../tests/common/counting.rs"]`); each binary declares its own
//! `#[global_allocator] static ALLOC: counting::Counting = counting::Counting;`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One mebibyte.
pub const MIB: usize = 1 << 20;

/// The counting allocator.
pub struct Counting;

thread_local! {
    static THREAD_LIVE: Cell<usize> = const { Cell::new(0) };
    static THREAD_PEAK: Cell<usize> = const { Cell::new(0) };
}

static PROCESS_LIVE: AtomicUsize = AtomicUsize::new(0);
static PROCESS_PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let _ = THREAD_LIVE.try_with(|l| {
        let v = l.get() + n;
        l.set(v);
        let _ = THREAD_PEAK.try_with(|p| p.set(p.get().max(v)));
    });
    let live = PROCESS_LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PROCESS_PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrank(n: usize) {
    let _ = THREAD_LIVE.try_with(|l| l.set(l.get().saturating_sub(n)));
    PROCESS_LIVE.fetch_sub(n, Ordering::Relaxed);
}

// SAFETY: forwards every call to the system allocator; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

/// Counts of the calling thread: bytes it allocated, less the bytes it freed.
pub mod thread {
    use super::{THREAD_LIVE, THREAD_PEAK};
    use std::cell::Cell;

    /// The live heap of this thread.
    pub fn live() -> usize {
        THREAD_LIVE.with(Cell::get)
    }

    /// Runs `f` and returns its result with the peak extra heap it used on this thread.
    pub fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let base = live();
        THREAD_PEAK.with(|p| p.set(base));
        let r = f();
        (r, THREAD_PEAK.with(Cell::get) - base)
    }
}

/// Counts of the whole process, over all threads.
pub mod process {
    use super::{PROCESS_LIVE, PROCESS_PEAK};
    use std::sync::atomic::Ordering;

    /// The live heap of the process.
    pub fn live() -> usize {
        PROCESS_LIVE.load(Ordering::Relaxed)
    }

    /// The highest live heap since the last [`restart_peak`].
    pub fn peak() -> usize {
        PROCESS_PEAK.load(Ordering::Relaxed)
    }

    /// Sets the peak to the live heap and returns it: the base of a new measurement.
    pub fn restart_peak() -> usize {
        let base = live();
        PROCESS_PEAK.store(base, Ordering::Relaxed);
        base
    }
}
