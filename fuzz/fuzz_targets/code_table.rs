//! The scanner's code table: SR code sequences read into it, or skipped because the same bytes
//! were read before, must read exactly as the generic sequence reader reads them (the same
//! error, or trees with the same elements, values and codes), whatever the bytes and limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kerma::fuzz_code_table(data, &kerma::Limits::default());
    // Tight limits: the fast reader must stop, and leave the error to the generic reader,
    // exactly where the generic reader would fail.
    let tight = kerma::Limits {
        max_depth: 4,
        max_elements: 200,
        ..kerma::Limits::default()
    };
    kerma::fuzz_code_table(data, &tight);
});
