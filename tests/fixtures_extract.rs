//! Generated fixtures (testdata/): one test per vendor quirk, by the values they were built with.

use kerma::{EventCategory, ObjectKind, Outcome, Plane, Warning, extract_path};

fn x(name: &str) -> kerma::Extraction {
    extract_path(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn approx(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1e-12))
}

fn has(w: &[Warning], f: impl Fn(&Warning) -> bool) -> bool {
    w.iter().any(f)
}

#[test]
fn clean_single_plane() {
    let x = x("rdsr_single_plane.dcm");
    assert_eq!((x.kind, x.outcome), (ObjectKind::Rdsr, Outcome::Dose));
    let r = x.report.unwrap();
    let p = &r.planes[0];
    assert_eq!(p.plane, Plane::Single);
    assert!(approx(p.dap_total.map(|d| d.as_gy_cm2()), 63.2));
    assert!(approx(p.ka_r_total.map(|k| k.as_mgy()), 34.9));
    assert!(approx(p.fluoro_time.map(|d| d.as_secs_f64()), 60.0));
    assert_eq!(p.acquisition_frames, Some(80));
    assert_eq!(r.events.len(), 5);
    assert_eq!(
        r.events
            .iter()
            .filter(|e| e.category == EventCategory::Fluoroscopy)
            .count(),
        3
    );
    assert!(r.fluoroscopy_system);
    assert!(!has(&x.warnings, |w| matches!(
        w,
        Warning::TotalDiffersFromEvents { .. }
    )));
}

#[test]
fn canon_dgy_cm2_and_mgy_convert_by_unit_code() {
    let x = x("rdsr_canon_dgycm2_mgy.dcm");
    let r = x.report.unwrap();
    let p = &r.planes[0];
    // 500 dGy.cm2 = 50 Gy.cm2; 8.0 mGy
    assert!(approx(p.dap_total.map(|d| d.as_gy_cm2()), 50.0));
    assert!(approx(p.dap_fluoro.map(|d| d.as_gy_cm2()), 20.0));
    assert!(approx(p.ka_r_total.map(|k| k.as_mgy()), 8.0));
    assert!(approx(r.events[0].dap.map(|d| d.as_gy_cm2()), 15.25));
    assert!(approx(r.events[0].ka_r.map(|k| k.as_mgy()), 1.2));
    assert!(has(
        &x.warnings,
        |w| matches!(w, Warning::NonStandardUnit { unit, .. } if unit == "dGy.cm2")
    ));
    assert!(has(
        &x.warnings,
        |w| matches!(w, Warning::NonStandardUnit { unit, .. } if unit == "mGy")
    ));
}

#[test]
fn biplane_keeps_planes_apart() {
    let r = x("rdsr_biplane.dcm").report.unwrap();
    assert_eq!(r.planes.len(), 2);
    let a = r.planes.iter().find(|p| p.plane == Plane::A).unwrap();
    let b = r.planes.iter().find(|p| p.plane == Plane::B).unwrap();
    assert!(approx(a.dap_total.map(|d| d.as_gy_cm2()), 20.0));
    assert!(approx(b.dap_total.map(|d| d.as_gy_cm2()), 11.0));
    assert!(approx(a.ka_r_total.map(|k| k.as_mgy()), 15.0));
    assert!(approx(b.ka_r_total.map(|k| k.as_mgy()), 9.0));
    assert_eq!(
        r.events
            .iter()
            .filter(|e| e.plane == Some(Plane::B))
            .count(),
        2
    );
}

#[test]
fn per_pulse_values_kept_and_multi_valued_dap_rejected() {
    let x = x("rdsr_per_pulse.dcm");
    let r = x.report.as_ref().unwrap();
    let kvp = r
        .events
        .iter()
        .find_map(|e| e.kvp.as_ref().filter(|k| k.values.len() > 1))
        .unwrap();
    assert_eq!(kvp.values[0], 0.0);
    assert!(kvp.mean_nonzero().unwrap() > kvp.mean().unwrap());
    assert!(r.events.iter().any(|e| e.dap.is_none()));
    assert!(has(
        &x.warnings,
        |w| matches!(w, Warning::MultiValued { count, .. } if *count > 1)
    ));
}

#[test]
fn unknown_units_give_no_value_and_a_warning() {
    let x = x("rdsr_unknown_unit.dcm");
    let r = x.report.as_ref().unwrap();
    assert_eq!(r.planes[0].dap_total, None);
    assert!(r.planes[0].dap_fluoro.is_some());
    assert_eq!(r.events[0].ka_r, None);
    assert!(has(
        &x.warnings,
        |w| matches!(w, Warning::UnknownUnit { unit, .. } if unit == "Gy.in2")
    ));
    assert!(has(
        &x.warnings,
        |w| matches!(w, Warning::UnknownUnit { unit, .. } if unit == "rad")
    ));
}

#[test]
fn nan_negative_empty_and_garbage_numbers_are_rejected() {
    let x = x("rdsr_bad_values.dcm");
    let r = x.report.as_ref().unwrap();
    let p = &r.planes[0];
    assert_eq!(p.dap_total, None, "NaN");
    assert_eq!(p.ka_r_total, None, "-5");
    // inf, "1,5", 1e309 and an embedded space are all invalid; the fifth event is fine
    assert_eq!(r.events.iter().filter(|e| e.dap.is_none()).count(), 4);
    assert!(approx(r.events[4].dap.map(|d| d.as_gy_cm2()), 3.0));
    let invalid = x
        .warnings
        .iter()
        .filter(|w| matches!(w, Warning::InvalidNumber { .. }))
        .count();
    assert!(invalid >= 6, "{:#?}", x.warnings);
}

#[test]
fn missing_totals_are_absent_not_zero() {
    let r = x("rdsr_missing_totals.dcm").report.unwrap();
    let p = &r.planes[0];
    assert_eq!(p.dap_fluoro, None);
    assert_eq!(p.ka_r_total, None);
    assert_eq!(p.fluoro_time, None);
    assert!(approx(p.dap_total.map(|d| d.as_gy_cm2()), 15.0));
}

#[test]
fn fluoro_events_with_totals_filed_as_acquisition() {
    let x = x("rdsr_fluoro_filed_as_acquisition.dcm");
    let r = x.report.as_ref().unwrap();
    let p = &r.planes[0];
    assert_eq!(p.dap_fluoro.map(|d| d.as_gy_m2()), Some(0.0));
    assert!(approx(p.dap_acquisition.map(|d| d.as_gy_cm2()), 8.0));
    assert!(
        r.events
            .iter()
            .all(|e| e.category == EventCategory::Fluoroscopy)
    );
    assert!(has(&x.warnings, |w| matches!(
        w,
        Warning::TotalDiffersFromEvents { .. }
    )));
}

#[test]
fn vendor_quirks_are_tolerated_and_reported() {
    let x = x("rdsr_quirks_gym2_text_uid.dcm");
    let r = x.report.as_ref().unwrap();
    assert!(approx(r.planes[0].dap_total.map(|d| d.as_gy_cm2()), 9.0));
    assert!(r.device.observer_uid.is_some(), "TEXT UID accepted");
    let w = &x.warnings;
    assert!(has(
        w,
        |w| matches!(w, Warning::UnitAlias { unit, .. } if unit == "Gym2")
    ));
    assert!(has(w, |w| matches!(w, Warning::DeviceUidAsText)));
    assert!(has(w, |w| matches!(w, Warning::NoTemplateIdentifier)));
    assert!(has(w, |w| matches!(
        w,
        Warning::MissingRelationshipType { count: 5 }
    )));
    assert!(has(w, |w| matches!(w, Warning::Misplaced { .. })));
    // "15cm below BeamIsocenter" states the IEC interventional reference point
    assert!(has(w, |w| matches!(
        w,
        Warning::ReferencePointTextIsInterventional { .. }
    )));
    assert!(!has(w, |w| matches!(
        w,
        Warning::ReferencePointAsText { .. }
    )));
    assert!(
        r.planes[0]
            .reference_point
            .as_ref()
            .unwrap()
            .is_interventional_reference_point()
    );
}

#[test]
fn implicit_vr_undefined_lengths_match_explicit() {
    let a = x("rdsr_single_plane.dcm").report.unwrap();
    let b = x("rdsr_implicit_undefined.dcm").report.unwrap();
    assert_eq!(a.planes, b.planes);
    let strip = |mut e: kerma::IrradiationEvent| {
        e.uid = None;
        e
    };
    let ea: Vec<_> = a.events.into_iter().map(strip).collect();
    let eb: Vec<_> = b.events.into_iter().map(strip).collect();
    assert_eq!(ea, eb);
}

#[test]
fn totals_differing_from_events_are_kept_and_flagged() {
    let x = x("rdsr_totals_differ.dcm");
    assert!(approx(
        x.report.as_ref().unwrap().planes[0]
            .dap_total
            .map(|d| d.as_gy_cm2()),
        21.0
    ));
    assert!(has(&x.warnings, |w| matches!(
        w,
        Warning::TotalDiffersFromEvents { .. }
    )));
}

#[test]
fn out_of_scope_objects_are_classified() {
    assert_eq!(x("ct_rdsr.dcm").outcome, Outcome::Unsupported);
    assert_eq!(x("ct_rdsr.dcm").kind, ObjectKind::CtDoseReport);
    assert_eq!(x("mg_rdsr.dcm").kind, ObjectKind::MammographyDoseReport);
    assert_eq!(x("sr_non_dose.dcm").outcome, Outcome::NoDose);
    let dx = x("dx_rdsr.dcm");
    assert_eq!(dx.outcome, Outcome::Dose);
    let vs = x("vendor_summary_siemens.dcm");
    assert_eq!(
        (vs.kind, vs.outcome),
        (ObjectKind::VendorSummary, Outcome::Dose)
    );
    let p = &vs.report.as_ref().unwrap().planes[0];
    assert!(approx(p.dap_total.map(|d| d.as_gy_cm2()), 12.5));
    assert!(approx(p.fluoro_time.map(|d| d.as_secs_f64()), 95.0));
    assert_eq!(vs.report.unwrap().vendor_exposures, Some(7));
}

#[test]
fn bad_files_give_typed_errors() {
    use kerma::{Error, ParseError};
    let dir = format!("{}/testdata", env!("CARGO_MANIFEST_DIR"));
    let err = |n: &str| extract_path(format!("{dir}/{n}")).unwrap_err();
    assert!(matches!(
        err("empty.dcm"),
        Error::Parse(ParseError::NotDicom)
    ));
    assert!(matches!(
        err("not_dicom.bin"),
        Error::Parse(ParseError::NotDicom)
    ));
    assert!(matches!(
        err("huge_length.dcm"),
        Error::Parse(ParseError::Truncated { .. })
    ));
    assert!(matches!(
        err("huge_length_in_file.dcm"),
        Error::Parse(ParseError::Truncated { .. })
    ));
    assert!(matches!(
        err("rdsr_truncated.dcm"),
        Error::Parse(ParseError::Truncated { .. })
    ));
    assert!(matches!(
        err("rdsr_explicit_be.dcm"),
        Error::Parse(ParseError::UnsupportedTransferSyntax { .. })
    ));
    // Declares Deflated Explicit VR Little Endian, but its dataset is not DEFLATE data.
    assert!(matches!(
        err("rdsr_deflated_uid_only.dcm"),
        Error::Parse(ParseError::Malformed { .. })
    ));
}

#[test]
fn image_headers_classic_and_enhanced() {
    let a = x("xa_event1_img1.dcm");
    let b = x("xa_event1_img2.dcm");
    assert_eq!(a.kind, ObjectKind::XaImage);
    let (ia, ib) = (a.image.unwrap(), b.image.unwrap());
    assert!(approx(ia.dap.map(|d| d.as_gy_cm2()), 12.34));
    assert_eq!(ia.irradiation_event_uids, ib.irradiation_event_uids);
    let rf = x("rf_classic.dcm");
    assert_eq!(rf.kind, ObjectKind::RfImage);
    let i = rf.image.unwrap();
    assert!(approx(i.fluoro_time.map(|d| d.as_secs_f64()), 95.0));
    assert!(i.exposures.is_some());
    assert!(approx(i.entrance_dose.map(|k| k.as_mgy()), 1.25));
    let e = x("enhanced_xa.dcm");
    assert_eq!(e.kind, ObjectKind::EnhancedXaImage);
    let ei = e.image.unwrap();
    assert_eq!(ei.per_frame.len(), 4);
    assert_eq!(ei.irradiation_event_uids.len(), 2);
    assert!(ei.per_frame.iter().filter_map(|f| f.kvp).count() == 4);
    let kvps: Vec<f64> = ei.per_frame.iter().filter_map(|f| f.kvp).collect();
    assert!(
        kvps.windows(2).any(|w| w[0] != w[1]),
        "per-frame kVp varies"
    );
    let xrf = x("enhanced_xrf.dcm");
    assert_eq!(xrf.kind, ObjectKind::EnhancedXrfImage);
    assert_eq!(xrf.image.unwrap().per_frame.len(), 3);
    let enc = x("xa_encapsulated.dcm");
    assert!(approx(enc.image.unwrap().dap.map(|d| d.as_gy_cm2()), 7.77));
}

#[test]
fn garbled_or_wrong_vr_dap_is_an_attribute_warning() {
    for name in [
        "xa_garbled_dap.dcm",
        "xa_dap_wrong_vr.dcm",
        "xa_dap_wrong_vr_us.dcm",
    ] {
        let x = x(name);
        assert_eq!(x.image.as_ref().unwrap().dap, None, "{name}");
        assert_eq!(x.outcome, Outcome::NoDose, "{name}");
        assert!(
            has(
                &x.warnings,
                |w| matches!(w, Warning::InvalidAttribute { attr, .. } if attr.keyword == "ImageAndFluoroscopyAreaDoseProduct")
            ),
            "{name}: {:?}",
            x.warnings
        );
    }
}

/// An event's filter list and technique values hold room for what they hold, not for four:
/// they are most of what a report's result keeps per event (and a folder scan holds results).
#[test]
fn event_lists_are_allocated_to_their_length() {
    let mut techniques = 0;
    let mut filters = 0;
    for name in [
        "rdsr_single_plane.dcm",
        "rdsr_per_pulse.dcm",
        "rdsr_biplane.dcm",
    ] {
        let r = x(name).report.unwrap();
        for e in &r.events {
            assert_eq!(e.filters.capacity(), e.filters.len(), "{name}");
            filters += e.filters.len();
            for t in [&e.kvp, &e.tube_current, &e.pulse_width]
                .into_iter()
                .flatten()
            {
                assert_eq!(t.values.capacity(), t.values.len(), "{name}");
                techniques += 1;
            }
        }
    }
    assert!(
        techniques > 0 && filters > 0,
        "{techniques} techniques, {filters} filters"
    );
}
