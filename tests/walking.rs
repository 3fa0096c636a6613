//! Folders as exports hold them: files that are not DICOM and DICOMDIRs are skipped when
//! walked (an error when named), symbolic links to folders are followed, and link loops end the
//! walk of that branch with one error. Through the library and through kerma-report.

mod cli_support;
#[path = "fixtures/mod.rs"]
mod fixtures;

use std::path::Path;
use std::process::{Command, Output};

use cli_support::{TESTDATA, program};
use fixtures::writer::{Dataset, Meta, Opts, Ts, write_file_with_meta};
use kerma::report::FileOutcome;
use kerma::{Fate, Skip};
use serde_json::Value;

/// kerma-report's JSON of `paths`, and its exit code.
fn report(paths: &[&Path]) -> (Value, Option<i32>, String) {
    let out: Output = Command::new(program())
        .args(["--format", "json"])
        .args(paths)
        .output()
        .expect("run kerma-report");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr:\n{stderr}"));
    (doc, out.status.code(), stderr)
}

/// The `files` entry whose path ends with `name`.
fn entry<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("{name} not listed: {doc:#}"))
}

/// A good RDSR copied into `dir`.
fn good_file(dir: &Path) {
    std::fs::copy(
        Path::new(TESTDATA).join("rdsr_single_plane.dcm"),
        dir.join("rdsr.dcm"),
    )
    .expect("copy");
}

/// A small DICOMDIR (Media Storage Directory Storage, PS3.3 F.2) with one patient record.
fn dicomdir() -> Vec<u8> {
    let mut record = Dataset::new();
    record
        .ul((0x0004, 0x1400), &[0])
        .us((0x0004, 0x1410), &[0xFFFF])
        .ul((0x0004, 0x1420), &[0])
        .str((0x0004, 0x1430), "CS", "PATIENT")
        .str((0x0010, 0x0010), "PN", "Test^Patient")
        .str((0x0010, 0x0020), "LO", "P1");
    let mut ds = Dataset::new();
    ds.str((0x0004, 0x1130), "CS", "EXPORT")
        .ul((0x0004, 0x1200), &[0])
        .ul((0x0004, 0x1202), &[0])
        .us((0x0004, 0x1212), &[0])
        .seq((0x0004, 0x1220), vec![record]);
    let meta = Meta {
        sop_class: "1.2.840.10008.1.3.10".to_owned(),
        sop_instance: "1.2.826.0.1.3680043.10.1234.77.1".to_owned(),
        transfer_syntax: Ts::ExplicitLe.uid().to_owned(),
    };
    write_file_with_meta(&meta, &ds, &Opts::explicit())
}

/// A folder with a good RDSR, files that are not DICOM and a DICOMDIR.
fn export_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    good_file(dir.path());
    std::fs::write(dir.path().join("README.txt"), "Exported by PACS\n").expect("write");
    std::fs::write(dir.path().join("study.json"), "{\"patient\": \"P1\"}\n").expect("write");
    std::fs::write(
        dir.path().join("thumb.png"),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01",
    )
    .expect("write");
    std::fs::write(dir.path().join("DICOMDIR"), dicomdir()).expect("write");
    dir
}

#[test]
fn walked_files_that_are_not_dicom_are_skipped_not_errors() {
    let dir = export_folder();
    let (doc, code, stderr) = report(&[dir.path()]);
    for name in ["README.txt", "study.json", "thumb.png"] {
        let e = entry(&doc, name);
        assert_eq!(e["outcome"], "skipped", "{e:#}");
        assert!(e["error"].is_null() && e["kind"].is_null(), "{e:#}");
    }
    assert_eq!(doc["accounting"]["skipped"], 4, "3 files and the DICOMDIR");
    assert_eq!(doc["accounting"]["error"], 0);
    assert_eq!(doc["accounting"]["files"], 5);
    assert_eq!(entry(&doc, "rdsr.dcm")["outcome"], "dose");
    assert!(
        matches!(code, Some(0 | 1)),
        "exit {code:?}, stderr:\n{stderr}"
    );
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn a_walked_dicomdir_is_skipped() {
    let dir = export_folder();
    let (doc, _, _) = report(&[dir.path()]);
    let e = entry(&doc, "DICOMDIR");
    assert_eq!(e["outcome"], "skipped", "{e:#}");
    assert_eq!(e["kind"], "other");
    assert_eq!(e["sop_class_uid"], "1.2.840.10008.1.3.10");
    assert_eq!(doc["accounting"]["no_dose"], 0);
}

#[test]
fn files_named_on_the_command_line_are_never_skipped() {
    let dir = export_folder();
    let readme = dir.path().join("README.txt");
    let dicomdir = dir.path().join("DICOMDIR");
    let (doc, code, stderr) = report(&[&readme, &dicomdir]);
    assert_eq!(entry(&doc, "README.txt")["outcome"], "error");
    assert_eq!(entry(&doc, "README.txt")["error"], "not a DICOM file");
    assert_eq!(entry(&doc, "DICOMDIR")["outcome"], "no_dose");
    assert_eq!(doc["accounting"]["error"], 1);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("README.txt: not a DICOM file"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_symlinked_folder_is_followed() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(elsewhere.path().join("series")).expect("mkdir");
    good_file(&elsewhere.path().join("series"));
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("linked")).expect("link");
    let (doc, code, stderr) = report(&[dir.path()]);
    let e = entry(&doc, "linked/series/rdsr.dcm");
    assert_eq!(e["outcome"], "dose", "{e:#}");
    assert_eq!(doc["accounting"]["files"], 1);
    assert_eq!(doc["procedures"].as_array().map(Vec::len), Some(1));
    assert!(
        matches!(code, Some(0 | 1)),
        "exit {code:?}, stderr:\n{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_one_walk_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    good_file(&sub);
    std::os::unix::fs::symlink(dir.path(), sub.join("loop")).expect("link");
    let (doc, code, stderr) = report(&[dir.path()]);
    assert_eq!(doc["accounting"]["files"], 2, "{doc:#}");
    let e = entry(&doc, "sub/loop");
    assert_eq!(e["outcome"], "error");
    let message = e["error"].as_str().expect("a message");
    assert!(
        message.contains("File system loop found") && message.contains("points to an ancestor"),
        "{message}"
    );
    assert_eq!(entry(&doc, "sub/rdsr.dcm")["outcome"], "dose");
    assert_eq!(code, Some(2), "a walk error is an error");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn grouping_accounts_skipped_files_apart() {
    let dir = export_folder();
    let inputs = kerma::walk_inputs(&[dir.path()]);
    let extractor = kerma::Extractor::new();
    let mut grouping = kerma::Procedures::new();
    let mut entries = Vec::new();
    kerma::scan(&inputs, &extractor, |input, result| {
        entries.push(kerma::report::FileEntry::scanned(input, &result));
        grouping.add_scanned(input, result);
    });
    let set = grouping.finish();
    assert_eq!(set.accounting.skipped, 4);
    assert_eq!(set.accounting.error, 0);
    assert_eq!(set.accounting.in_procedure, 1);
    let fate = |name: &str| {
        &set.files
            .iter()
            .find(|f| f.label.ends_with(name))
            .expect("listed")
            .fate
    };
    assert_eq!(fate("README.txt"), &Fate::Skipped(Skip::NotDicom));
    assert_eq!(fate("DICOMDIR"), &Fate::Skipped(Skip::Dicomdir));
    let outcomes: Vec<FileOutcome> = entries.iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes,
        [
            FileOutcome::Skipped, // DICOMDIR
            FileOutcome::Skipped, // README.txt
            FileOutcome::Dose,
            FileOutcome::Skipped, // study.json
            FileOutcome::Skipped, // thumb.png
        ]
    );

    // The same files named one by one are read as asked: errors, and a DICOMDIR without dose.
    let mut grouping = kerma::Procedures::new();
    for input in &inputs {
        let given = kerma::Input::given(&input.path);
        grouping.add_scanned(&given, extractor.extract_path(&given.path));
    }
    let set = grouping.finish();
    assert_eq!(set.accounting.skipped, 0);
    assert_eq!(set.accounting.error, 3);
    assert_eq!(set.accounting.no_dose, 1);
}
