//! The receiver's handling of untrusted network bytes: PDU decoding as the receiver does it
//! (dicom-ul, strict, under a maximum PDU length), command-set decoding, and the data-set
//! header cut, fed the PDVs of any P-DATA PDU. Checks: no panic; a decoded command set
//! encodes and decodes to itself; the header cut keeps the same bytes whatever the
//! fragmentation of its input.
#![no_main]

use kerma::net::dimse::Command;
use kerma::net::header::{Encoding, HeaderCut};
use libfuzzer_sys::fuzz_target;

/// The header cut of `data` in one push and in pushes of `step` bytes agree.
fn cut_alike(encoding: Encoding, data: &[u8], step: usize) {
    let limit = 4096;
    let mut whole = HeaderCut::new(encoding, limit);
    let whole_ok = whole.push(data).is_ok();
    let mut parts = HeaderCut::new(encoding, limit);
    let mut parts_ok = true;
    for f in data.chunks(step.max(1)) {
        if parts.push(f).is_err() {
            parts_ok = false;
            break;
        }
    }
    assert_eq!(whole_ok, parts_ok);
    if whole_ok {
        assert_eq!(whole.cut(), parts.cut());
        let (a, b) = (whole.into_bytes(), parts.into_bytes());
        assert_eq!(a, b);
        assert!(a.len() <= data.len());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    if let Ok(cmd) = Command::decode(data) {
        let again = Command::decode(&cmd.encode()).expect("an encoded command decodes");
        assert_eq!(again, cmd);
    }
    for encoding in [Encoding::Implicit, Encoding::Explicit] {
        cut_alike(encoding, data, usize::from(selector % 17) + 1);
    }
    if let Ok(Some(dicom_ul::Pdu::PData { data: pdvs })) =
        dicom_ul::read_pdu(&mut &data[..], 16_384, true)
    {
        let mut cut = HeaderCut::new(Encoding::Explicit, 1 << 16);
        for pdv in pdvs {
            let _ = Command::decode(&pdv.data);
            let _ = cut.push(&pdv.data);
        }
    }
});
