//! `kerma-report listen` with TLS, and DCMTK's echoscu and storescu (`+tls`, built with
//! OpenSSL) as the clients: a CA, a server and a client certificate generated here with
//! `openssl`, on 127.0.0.1 only.
#![cfg(feature = "tls")]

mod cli_support;
mod receiver_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kerma::net::Spool;
use receiver_support::program::Program;
use receiver_support::{run, testdata, tool};

/// Runs `openssl` with `args` in `dir` (at most 30 s); panics with its output on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let (ok, out) = run(
        Command::new("openssl").args(args).current_dir(dir),
        Duration::from_secs(30),
    );
    assert!(ok, "openssl {args:?}: {out}");
}

/// A CA (`ca.pem`), and a certificate and key it signed for `name` (`NAME.pem`,
/// `NAME.key`, P-256, with `san` as subjectAltName).
fn ca_and_certificates(dir: &Path, names: &[(&str, &str)]) {
    // `openssl req` making a new P-256 key (unencrypted) and a request or certificate.
    let req = |rest: &[&str]| {
        let mut args = vec![
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        args.extend_from_slice(rest);
        openssl(dir, &args);
    };
    req(&[
        "-x509",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=kerma test CA",
    ]);
    for (name, san) in names {
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        std::fs::write(
            dir.join(&ext),
            format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\n"),
        )
        .expect("extension file");
        req(&[
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ]);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

/// The tools, or `None` (skipped loudly; a failure under CI).
fn tools() -> Option<(PathBuf, PathBuf)> {
    let echoscu = tool("echoscu")?;
    let storescu = tool("storescu")?;
    tool("openssl")?;
    Some((echoscu, storescu))
}

#[test]
fn dcmtk_over_tls_with_client_certificates() {
    let Some((echoscu, storescu)) = tools() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    ca_and_certificates(d, &[("server", "IP:127.0.0.1"), ("DCMTKSCU", "DNS:scu")]);
    let spool = d.join("spool");
    let mut program = Program::start(
        cli_support::program(),
        &[
            "--spool".as_ref(),
            spool.as_os_str(),
            "--tls-cert".as_ref(),
            d.join("server.pem").as_os_str(),
            "--tls-key".as_ref(),
            d.join("server.key").as_os_str(),
            "--tls-client-ca".as_ref(),
            d.join("ca.pem").as_os_str(),
        ],
    );
    let port = program.addr.port().to_string();
    let limit = Duration::from_secs(60);
    let client = |exe: &Path, tls: &[&str], extra: &[&Path]| {
        let mut cmd = Command::new(exe);
        cmd.current_dir(d)
            .args(tls)
            .args(["-aet", "DCMTKSCU", "-aec", "KERMA", "127.0.0.1", &port])
            .args(extra);
        run(&mut cmd, limit)
    };
    let with_cert = ["+tls", "DCMTKSCU.key", "DCMTKSCU.pem", "+cf", "ca.pem"];
    // C-ECHO over TLS with a client certificate.
    let (ok, out) = client(&echoscu, &with_cert, &[]);
    assert!(ok, "echoscu +tls: {out}");
    let line = program.wait_for("calling_ae=DCMTKSCU").expect("log line");
    assert!(line.contains("transport=TLS"), "{line}");
    // C-STORE over TLS: the object is in the spool.
    let file = testdata("rdsr_canon_dgycm2_mgy.dcm");
    let (ok, out) = client(&storescu, &with_cert, &[&file]);
    assert!(ok, "storescu +tls: {out}");
    // Without a client certificate: the handshake fails, nothing is served.
    let (ok, out) = client(&echoscu, &["+tla", "+cf", "ca.pem"], &[]);
    assert!(!ok, "anonymous TLS was accepted: {out}");
    // Without TLS: no association.
    let (ok, out) = client(&echoscu, &[], &[]);
    assert!(!ok, "plain TCP was accepted: {out}");
    assert!(program.wait_for("rejected").is_some());
    // The receiver still serves.
    let (ok, out) = client(&echoscu, &with_cert, &[]);
    assert!(ok, "echoscu +tls after the failures: {out}");
    assert!(program.terminate().success());
    let objects = Spool::open(&spool).expect("spool").objects().expect("read");
    assert_eq!(objects.len(), 1);
    let want = kerma::extract_path(&file).expect("extract");
    let got = kerma::extract_bytes(&objects[0].bytes).expect("extract");
    assert_eq!(got.report, want.report);
}

#[test]
fn listen_refuses_unusable_tls_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::write(d.join("empty.pem"), "").expect("write");
    let out = Command::new(cli_support::program())
        .args(["listen", "--bind", "127.0.0.1", "--port", "0", "--spool"])
        .arg(d.join("spool"))
        .arg("--tls-cert")
        .arg(d.join("empty.pem"))
        .arg("--tls-key")
        .arg(d.join("missing.key"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS") && err.contains("empty.pem"), "{err}");
    // --tls-key without --tls-cert is a usage error.
    let out = Command::new(cli_support::program())
        .args(["listen", "--spool"])
        .arg(d.join("spool"))
        .arg("--tls-key")
        .arg(d.join("missing.key"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
