//! Folders end to end with mimalloc, the allocator kerma-report ships with: see `folder_scan`
//! for what is measured and why the allocator matters.
//!
//! ```text
//! cargo bench --bench folders_mimalloc
//! ```

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

mod common;
mod folder_scan;

fn main() {
    folder_scan::run("mimalloc (as kerma-report)", "_mimalloc");
}
