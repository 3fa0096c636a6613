//! Folders end to end with the system allocator: see `folder_scan` for what is measured.
//!
//! ```text
//! cargo bench --bench folders
//! ```

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

mod common;
mod folder_scan;

fn main() {
    folder_scan::run("system (glibc malloc on Linux)", "");
}
