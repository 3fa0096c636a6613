//! Table storage each thread keeps between parses.

use super::tree::{Span, Stored};

/// Table storage kept by each thread between parses: a folder scan allocates (and
/// page-faults) its tables once per worker thread instead of once per file, and the memory a
/// thread keeps is bounded by [`SCRATCH_KEEP_MAX`] per table.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) open_elements: Vec<Stored>,
    pub(super) open_items: Vec<Span>,
    pub(super) elements: Vec<Stored>,
    pub(super) items: Vec<Span>,
    /// The code table's index (its entries borrow the input, and are not kept).
    pub(super) code_slots: Vec<u32>,
}

/// The largest table (in bytes of capacity) a thread keeps for its next parse.
const SCRATCH_KEEP_MAX: usize = 4 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> =
        std::cell::RefCell::new(Scratch::default());
}

impl Scratch {
    /// This thread's kept storage (empty vectors when there is none).
    pub(super) fn take() -> Scratch {
        SCRATCH
            .try_with(|c| match c.try_borrow_mut() {
                Ok(mut c) => std::mem::take(&mut *c),
                Err(_) => Scratch::default(),
            })
            .unwrap_or_default()
    }

    /// Gives vectors back to this thread's storage (nothing happens while the thread exits).
    pub(super) fn keep(f: impl FnOnce(&mut Scratch)) {
        let _ = SCRATCH.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                f(&mut c);
            }
        });
    }
}

/// Keeps `v`, emptied, in `slot` if it is larger than what the slot holds and small enough
/// to keep; otherwise frees it.
pub(super) fn offer<T>(slot: &mut Vec<T>, mut v: Vec<T>) {
    if v.capacity() > slot.capacity() && v.capacity() * std::mem::size_of::<T>() <= SCRATCH_KEEP_MAX
    {
        v.clear();
        *slot = v;
    }
}
