//! Grouping files into procedures: duplicates, cumulative reports, images beside their RDSR,
//! biplane, shared study UIDs, and the whole real corpus in one run.

mod common;

use common::{close, corpus_dir, golden};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use kerma::{Completeness, Fate, ProcedureWarning, Procedures, Provenance};

const CONTENT_SEQUENCE: Tag = Tag(0x0040, 0xA730);

fn testdata(name: &str) -> String {
    format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn group(names: &[&str]) -> kerma::ProcedureSet {
    let mut p = Procedures::new();
    for n in names {
        p.add(*n, kerma::extract_path(testdata(n)));
    }
    p.finish()
}

fn fate<'a>(set: &'a kerma::ProcedureSet, label: &str) -> &'a Fate {
    &set.files.iter().find(|f| f.label == label).unwrap().fate
}

#[test]
fn the_same_report_twice_counts_once() {
    let set = group(&["rdsr_single_plane.dcm", "rdsr_duplicate_copy.dcm"]);
    assert_eq!(set.procedures.len(), 1);
    assert_eq!(set.accounting.duplicate, 1);
    assert!((set.procedures[0].dap_total.unwrap().as_gy_cm2() - 63.2).abs() < 1e-9);
    // the first label in sort order is kept
    assert!(matches!(
        fate(&set, "rdsr_duplicate_copy.dcm"),
        Fate::InProcedure(_)
    ));
    assert_eq!(
        fate(&set, "rdsr_single_plane.dcm"),
        &Fate::DuplicateOf("rdsr_duplicate_copy.dcm".into())
    );
}

#[test]
fn cumulative_report_supersedes_per_pps_reports() {
    let set = group(&[
        "rdsr_pps_part1.dcm",
        "rdsr_pps_part2.dcm",
        "rdsr_cumulative.dcm",
    ]);
    assert_eq!(set.procedures.len(), 1);
    let p = &set.procedures[0];
    assert_eq!(p.source, Provenance::RdsrTotal);
    assert_eq!(p.completeness, Completeness::Complete);
    assert!((p.dap_total.unwrap().as_gy_cm2() - 14.0).abs() < 1e-9);
    assert_eq!(p.events.total(), 4);
    assert_eq!(set.accounting.superseded, 2);
    assert_eq!(
        fate(&set, "rdsr_pps_part1.dcm"),
        &Fate::SupersededBy("rdsr_cumulative.dcm".into())
    );
}

#[test]
fn disjoint_pps_reports_add_up() {
    let set = group(&["rdsr_pps_part2.dcm", "rdsr_pps_part1.dcm"]);
    assert_eq!(set.procedures.len(), 1);
    let p = &set.procedures[0];
    assert!(
        (p.dap_total.unwrap().as_gy_cm2() - 14.0).abs() < 1e-9,
        "6 + 8"
    );
    assert_eq!(p.events.total(), 4);
    assert_eq!(p.completeness, Completeness::Complete);
}

#[test]
fn feeding_order_does_not_matter() {
    let names = [
        "rdsr_cumulative.dcm",
        "rdsr_pps_part1.dcm",
        "xa_matching_rdsr.dcm",
        "rdsr_single_plane.dcm",
    ];
    let a = group(&names);
    let mut rev = names;
    rev.reverse();
    let b = group(&rev);
    assert_eq!(a, b);
}

#[test]
fn images_of_an_event_in_the_rdsr_add_nothing() {
    let set = group(&["rdsr_single_plane.dcm", "xa_matching_rdsr.dcm"]);
    assert_eq!(set.procedures.len(), 1);
    let p = &set.procedures[0];
    assert!((p.dap_total.unwrap().as_gy_cm2() - 63.2).abs() < 1e-9);
    assert_eq!(p.source, Provenance::RdsrTotal);
    assert_eq!(p.events.from_images, 0);
    assert_eq!(p.files.len(), 2);
}

#[test]
fn images_of_one_event_count_its_dap_once() {
    let set = group(&["xa_event1_img1.dcm", "xa_event1_img2.dcm"]);
    assert_eq!(set.procedures.len(), 1);
    let p = &set.procedures[0];
    assert!(
        (p.dap_total.unwrap().as_gy_cm2() - 12.34).abs() < 1e-9,
        "not 24.68"
    );
    assert_eq!(p.source, Provenance::ImageHeaders);
    assert_eq!(p.completeness, Completeness::Partial);
    assert_eq!(p.events.from_images, 1);
}

#[test]
fn biplane_planes_sum_for_dap_and_stay_apart_for_ka_r() {
    let set = group(&["rdsr_biplane.dcm"]);
    let p = &set.procedures[0];
    assert_eq!(p.planes.len(), 2);
    assert!((p.dap_total.unwrap().as_gy_cm2() - 31.0).abs() < 1e-9);
    assert!((p.planes[0].ka_r.unwrap().as_mgy() - 15.0).abs() < 1e-9);
    assert!((p.planes[1].ka_r.unwrap().as_mgy() - 9.0).abs() < 1e-9);
    assert!((p.ka_r_sum_of_planes.unwrap().as_mgy() - 24.0).abs() < 1e-9);
}

fn open(path: &std::path::Path) -> DefaultDicomObject {
    OpenFileOptions::new()
        .read_until(Tag(0x7FE0, 0x0010))
        .open_file(path)
        .unwrap()
}

fn is_event(item: &InMemDicomObject) -> bool {
    item.element(Tag(0x0040, 0xA043))
        .ok()
        .and_then(|e| e.items().and_then(|i| i.first().cloned()))
        .and_then(|c| {
            c.element(Tag(0x0008, 0x0100))
                .ok()
                .and_then(|v| v.to_str().ok().map(|s| s.trim().to_owned()))
        })
        .is_some_and(|v| v == "113706")
}

/// A copy of a real report keeping only some of its events, with a new SOP Instance UID.
fn with_events(obj: &DefaultDicomObject, keep: impl Fn(usize) -> bool, sop: &str) -> Vec<u8> {
    let mut o = obj.clone();
    let items = o
        .element(CONTENT_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
        .to_vec();
    let mut n = 0;
    let kept: Vec<InMemDicomObject> = items
        .into_iter()
        .filter(|i| {
            if is_event(i) {
                n += 1;
                keep(n - 1)
            } else {
                true
            }
        })
        .collect();
    o.put(DataElement::new(
        CONTENT_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(kept),
    ));
    o.put(DataElement::new(
        Tag(0x0008, 0x0018),
        VR::UI,
        PrimitiveValue::from(sop),
    ));
    let mut buf = Vec::new();
    o.write_all(&mut buf).unwrap();
    buf
}

#[test]
fn real_report_split_into_partial_then_cumulative() {
    let Some(dir) = corpus_dir() else { return };
    let path = dir.join("pyskindose-25.1.1-pypi/siemens_axiom_artis.dcm");
    let obj = open(&path);
    let full = kerma::extract_path(&path).unwrap();
    let total = full.report.as_ref().unwrap().planes[0].dap_total.unwrap();
    let n = full.report.as_ref().unwrap().events.len();
    let part1 = with_events(&obj, |i| i < n / 3, "1.2.826.0.1.3680043.10.1234.900.1");
    let part2 = with_events(&obj, |i| i < 2 * n / 3, "1.2.826.0.1.3680043.10.1234.900.2");
    let mut p = Procedures::new();
    p.add("part1", kerma::extract_bytes(&part1));
    p.add("part2", kerma::extract_bytes(&part2));
    p.add("final", kerma::extract_path(&path));
    let set = p.finish();
    assert_eq!(set.procedures.len(), 1);
    assert_eq!(set.procedures[0].dap_total, Some(total));
    assert_eq!(set.procedures[0].events.total(), n);
    assert_eq!(set.accounting.superseded, 2);

    // Without the final report, two overlapping partial reports merge by event UID.
    let part_b = with_events(
        &obj,
        |i| i >= n / 3 - 2,
        "1.2.826.0.1.3680043.10.1234.900.3",
    );
    let mut p = Procedures::new();
    p.add("part1", kerma::extract_bytes(&part1));
    p.add("partB", kerma::extract_bytes(&part_b));
    let set = p.finish();
    assert_eq!(set.procedures.len(), 1);
    let proc_ = &set.procedures[0];
    assert_eq!(
        proc_.events.total(),
        n,
        "union of events, overlap counted once"
    );
    assert_eq!(proc_.source, Provenance::RdsrEventSum);
    assert_eq!(proc_.completeness, Completeness::Partial);
    let sum: f64 = full
        .report
        .unwrap()
        .events
        .iter()
        .filter_map(|e| e.dap)
        .map(|d| d.as_gy_m2())
        .sum();
    assert!(close(
        proc_.dap_total.map(|d| d.as_gy_m2()),
        Some(sum),
        1e-9
    ));
}

#[test]
fn two_patients_sharing_a_study_uid_are_not_merged() {
    let Some(dir) = corpus_dir() else { return };
    let path = dir.join("openrem-0.10.0-pypi/RF-RDSR-GE.dcm");
    let mut obj = open(&path);
    obj.put(DataElement::new(
        Tag(0x0010, 0x0020),
        VR::LO,
        PrimitiveValue::from("OTHER-PATIENT"),
    ));
    let mut p = Procedures::new();
    p.add("original", kerma::extract_path(&path));
    let other = kerma::extract_bytes(&with_events(
        &obj,
        |_| false,
        "1.2.826.0.1.3680043.10.1234.901.3",
    ));
    p.add("other patient, no events", other);
    let set = p.finish();
    assert_eq!(set.procedures.len(), 2, "never merged across patients");
    assert!(set.procedures.iter().all(|p| {
        p.warnings
            .iter()
            .any(|w| matches!(w, ProcedureWarning::SharedStudyUid))
    }));
}

#[test]
fn whole_corpus_every_file_accounted_and_totals_golden() {
    let Some(dir) = corpus_dir() else { return };
    let files = golden(&dir);
    let mut p = Procedures::new();
    for g in &files {
        let name = g["file"].as_str().unwrap();
        p.add(name, kerma::extract_path(dir.join(name)));
    }
    let set = p.finish();
    let a = set.accounting;
    assert_eq!(a.files, files.len());
    assert_eq!(
        a.in_procedure
            + a.duplicate
            + a.superseded
            + a.no_dose
            + a.unsupported
            + a.error
            + a.skipped,
        a.files
    );
    assert_eq!(a.error, 0);
    assert_eq!(
        a.duplicate, 3,
        "Philips Allura copy and two Zee_adjusted copies"
    );
    for proc_ in &set.procedures {
        if proc_.source != Provenance::RdsrTotal {
            continue;
        }
        // the file carrying the totals
        let carrier = &proc_.files[0];
        let g = files
            .iter()
            .find(|g| g["file"].as_str() == Some(carrier))
            .unwrap();
        let planes = g["rdsr"]["planes"].as_array().unwrap();
        let want: f64 = planes
            .iter()
            .map(|p| p["accumulated_si"]["dap_total"].as_f64().unwrap_or(0.0))
            .sum();
        assert!(
            close(proc_.dap_total.map(|d| d.as_gy_m2()), Some(want), 1e-9),
            "{carrier}: {:?} != {want}",
            proc_.dap_total
        );
        for (pp, gp) in proc_.planes.iter().zip(planes) {
            assert!(close(
                pp.ka_r.map(|k| k.as_gy()),
                gp["accumulated_si"]["dose_rp_total"].as_f64(),
                1e-9
            ));
        }
    }
    // S1 and the renamed example procedure are the same exam with new UIDs: flagged, not merged.
    let flagged = set
        .procedures
        .iter()
        .filter(|p| {
            p.warnings
                .iter()
                .any(|w| matches!(w, ProcedureWarning::PossibleCopy))
        })
        .count();
    assert_eq!(flagged, 2);
}

#[test]
fn testdata_rooms_rdsr_by_observer_uid_images_and_summaries_by_make_model_serial() {
    let set = group(&[
        "rdsr_single_plane.dcm",
        "xa_event1_img1.dcm",
        "vendor_summary_siemens.dcm",
    ]);
    let mut rooms: Vec<(&str, &str, &str)> = set
        .procedures
        .iter()
        .map(|p| {
            let r = &p.room;
            (r.device_key.as_str(), r.key.as_str(), r.name.as_str())
        })
        .collect();
    rooms.sort();
    // all three at station ANGIO1: one name each, told apart by key (one serial SN-1001)
    assert_eq!(
        rooms,
        [
            (
                "1.2.826.0.1.3680043.10.1234.9.1",
                "1.2.826.0.1.3680043.10.1234.9.1",
                "ANGIO1 (1.2.826.0.1.3680043.10.1234.9.1)"
            ),
            (
                "SIEMENS ARCADIS Varic #SN-1001",
                "SIEMENS ARCADIS Varic #SN-1001",
                "ANGIO1 (SIEMENS ARCADIS Varic #SN-1001)"
            ),
            (
                "SIEMENS AXIOM-Artis #SN-1001",
                "SIEMENS AXIOM-Artis #SN-1001",
                "ANGIO1 (SIEMENS AXIOM-Artis #SN-1001)"
            ),
        ]
    );
    // alone, a room keeps the station name
    let set = group(&["xa_event1_img1.dcm"]);
    assert_eq!(set.procedures[0].room.name, "ANGIO1");
}
