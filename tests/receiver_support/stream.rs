//! A stream of distinct RDSRs from two templates, for the receiver's load tests and bench:
//! each file gets UIDs of its own (rewritten in place, same lengths) and a Patient ID; one
//! file in `alert_every` comes from the alert template, for a patient of its own.

const RDSR_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.67";
const EXPLICIT: &str = "1.2.840.10008.1.2.1";

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kerma::net::client::{Part10, Scu};

/// The two templates: a small RDSR (`rdsr_canon_dgycm2_mgy.dcm`, 3 events, 50 Gy·cm²) and
/// an alert file (`survey_pci_11.dcm`, a PCI of 520 Gy·cm², over the 500 Gy·cm² trigger).
pub fn testdata_templates() -> (Template, Template) {
    let read = |name: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .join(name),
        )
        .expect("testdata")
    };
    let plain = Template::new(&read("rdsr_canon_dgycm2_mgy.dcm"));
    let alert = Template::new(&read("survey_pci_11.dcm"));
    assert_eq!(plain.patient_len, alert.patient_len);
    (plain, alert)
}

/// A Part 10 file's data set with the places of its own UIDs and of its Patient ID, to
/// rewrite them in place for each file sent.
#[derive(Clone)]
pub struct Template {
    /// The data set, as last filled.
    pub data: Vec<u8>,
    /// Length of the root of its own UIDs.
    pub uid_prefix_len: usize,
    uid_at: Vec<usize>,
    patient_at: usize,
    /// Length of its Patient ID value.
    pub patient_len: usize,
}

impl Template {
    /// From a Part 10 RDSR in explicit VR little endian (a testdata file).
    pub fn new(file: &[u8]) -> Template {
        let meta = Part10::split(file).expect("Part 10");
        assert_eq!(meta.sop_class, RDSR_CLASS);
        assert_eq!(meta.transfer_syntax, EXPLICIT);
        // The file's own UIDs (study, series, instance, events) share the instance's root.
        let prefix = meta
            .sop_instance
            .rsplit_once('.')
            .expect("a UID with components")
            .0;
        let needle = format!("{prefix}.");
        let data = meta.data_set.to_vec();
        let uid_at: Vec<usize> = data
            .windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle.as_bytes())
            .map(|(i, _)| i)
            .collect();
        assert!(uid_at.len() >= 4, "study, series, instance and events");
        // Patient ID (0010,0020), LO, at the top level.
        let tag = [0x10, 0x00, 0x20, 0x00, b'L', b'O'];
        let at = data
            .windows(6)
            .position(|w| w == tag)
            .expect("a Patient ID");
        let patient_len = usize::from(u16::from_le_bytes([data[at + 6], data[at + 7]]));
        Template {
            data,
            uid_prefix_len: prefix.len(),
            uid_at,
            patient_at: at + 8,
            patient_len,
        }
    }

    /// Rewrites the UIDs' root to `root` and the Patient ID to `patient` (both of the
    /// original lengths); returns the new SOP Instance UID.
    pub fn fill(&mut self, root: &str, patient: &str) -> String {
        assert_eq!(root.len(), self.uid_prefix_len);
        assert_eq!(patient.len(), self.patient_len);
        for &at in &self.uid_at {
            self.data[at..at + root.len()].copy_from_slice(root.as_bytes());
        }
        self.data[self.patient_at..self.patient_at + patient.len()]
            .copy_from_slice(patient.as_bytes());
        // The instance UID is the root and ".3" (testdata/README.md).
        format!("{root}.3")
    }
}

/// The UID root of file `i` of a run tagged `tag`, `len` characters long.
pub fn root(tag: u8, i: usize, len: usize) -> String {
    format!("2.25.{tag}{i:0w$}", w = len - 6)
}

/// Whether file `i` is an alert file, and its Patient ID (`len` characters): alert files
/// `A<i>`, the others `P<i/2>` (two procedures per patient).
pub fn patient(i: usize, alert_every: usize, len: usize) -> (bool, String) {
    let w = len - 1;
    if alert_every > 0 && i % alert_every == alert_every - 1 {
        (true, format!("A{i:0w$}"))
    } else {
        (false, format!("P{:0w$}", i / 2))
    }
}

/// What a stream's client saw.
pub struct Sent {
    /// Files sent per second, over all associations.
    pub files_per_s: f64,
    /// Each C-STORE's latency (last byte of the request to the response), sorted.
    pub latencies: Vec<Duration>,
    /// The alert files: patient, and when the last byte of each was sent.
    pub alert_files: Vec<(String, Instant)>,
}

/// Sends files `0..n` over `assocs` concurrent associations (calling AE `BENCH`) to the
/// receiver `KERMA` at `addr`; every status must be success. `tag` (1 to 9) makes the
/// UIDs of one stream distinct from another's.
pub fn send(
    addr: SocketAddr,
    templates: &(Template, Template),
    n: usize,
    assocs: usize,
    tag: u8,
    alert_every: usize,
) -> Sent {
    let t0 = Instant::now();
    let threads: Vec<_> = (0..assocs)
        .map(|t| {
            let (mut plain, mut alert) = templates.clone();
            std::thread::spawn(move || {
                let mut scu = Scu::connect(addr, "BENCH", "KERMA", &[(RDSR_CLASS, EXPLICIT)])
                    .expect("associate");
                let mut lat = Vec::new();
                let mut alerts = Vec::new();
                for i in (t..n).step_by(assocs) {
                    let (is_alert, pid) = patient(i, alert_every, plain.patient_len);
                    let template = if is_alert { &mut alert } else { &mut plain };
                    let uid = template.fill(&root(tag, i, template.uid_prefix_len), &pid);
                    let got = scu
                        .store(RDSR_CLASS, &uid, EXPLICIT, &template.data)
                        .expect("store");
                    assert_eq!(got.status, 0, "{uid}");
                    lat.push(got.latency);
                    if is_alert {
                        alerts.push((pid, got.sent));
                    }
                }
                scu.release();
                (lat, alerts)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    let mut alert_files = Vec::new();
    for t in threads {
        let (l, a) = t.join().expect("sender");
        latencies.extend(l);
        alert_files.extend(a);
    }
    let secs = t0.elapsed().as_secs_f64();
    latencies.sort();
    Sent {
        files_per_s: n as f64 / secs,
        latencies,
        alert_files,
    }
}
