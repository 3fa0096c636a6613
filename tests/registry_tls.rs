//! The PostgreSQL registry over TLS, on the server of `KERMA_POSTGRES_URL` (required under
//! `CI=true`): `.ci/postgres start` makes it accept TLS with a certificate signed by a
//! throwaway CA, `$KERMA_POSTGRES_CA` or else `/tmp/kerma-pg/ca.pem`, beside which
//! `other-ca.pem` is a CA that signed nothing.

#[path = "fixtures/mod.rs"]
mod fixtures;

mod cli_support;
mod registry_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use kerma::registry::{Registry, RegistryError, ReportFilter};
use registry_support::{Target, assert_same};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The server's URL and the CA that signed its certificate; `None` (said loudly) outside CI
/// when either is missing.
fn server() -> Option<(String, PathBuf)> {
    let url = registry_support::postgres_url()?;
    let ca = std::env::var_os("KERMA_POSTGRES_CA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/kerma-pg/ca.pem"));
    if ca.is_file() {
        return Some((url, ca));
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "no CA file at {} under CI: .ci/postgres start writes it",
        ca.display()
    );
    eprintln!(
        "\n*** no CA file at {} (set KERMA_POSTGRES_CA): SKIPPING the TLS tests ***\n",
        ca.display()
    );
    None
}

/// `url` with `query` added to its parameters.
fn with_query(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

fn verify_full(url: &str, ca: &Path) -> String {
    with_query(
        url,
        &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
    )
}

/// Whether the server's connections to database `name` (other than the asking one) all use
/// TLS; `None` when there are none.
fn connections_use_tls(admin: &str, name: &str) -> Option<bool> {
    let mut c = postgres::Client::connect(admin, postgres::NoTls).expect("admin connection");
    let rows = c
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = $1 AND a.pid <> pg_backend_pid()",
            &[&name],
        )
        .expect("pg_stat_ssl");
    let ssl: Vec<bool> = rows.iter().map(|r| r.get(0)).collect();
    (!ssl.is_empty()).then(|| ssl.iter().all(|&s| s))
}

fn db_name(t: &Target) -> String {
    match t {
        Target::Postgres { name, .. } => name.clone(),
        Target::Sqlite { .. } => unreachable!("a PostgreSQL target"),
    }
}

/// An ingest and a report over TLS (the certificate checked against the CA, for the host)
/// give what they give over a plain connection, and the connections are encrypted.
#[test]
fn ingest_and_report_over_tls_equal_plain() -> TestResult {
    let Some((url, ca)) = server() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    for i in 0..150 {
        std::fs::write(
            dir.path().join(format!("{i:04}.dcm")),
            fixtures::small_rdsr(i),
        )?;
    }
    let paths = [PathBuf::from(TESTDATA), dir.path().to_path_buf()];
    let files = kerma::walk_inputs(&paths);
    let (tls, plain) = (
        Target::postgres(&url, "tls"),
        Target::postgres(&url, "plain"),
    );
    let mut secured = Registry::open(&verify_full(&tls.url(), &ca))?.with_batch_files(40);
    let s = secured.ingest(&files, |_| {})?;
    assert_eq!(s.new, files.len());
    assert_eq!(connections_use_tls(&url, &db_name(&tls)), Some(true));
    let mut unsecured = Registry::open(&plain.url())?.with_batch_files(40);
    unsecured.ingest(&files, |_| {})?;
    assert_eq!(connections_use_tls(&url, &db_name(&plain)), Some(false));
    assert_same(&plain.dump(), &tls.dump(), "over TLS");
    let a = secured.report(&ReportFilter::default())?;
    let b = unsecured.report(&ReportFilter::default())?;
    assert!(!a.set.procedures.is_empty());
    assert_eq!(a.set.procedures, b.set.procedures);
    assert_eq!(a.set.files, b.set.files);
    assert_eq!(a.set.accounting, b.set.accounting);
    Ok(())
}

/// Each sslmode connects as libpq's does; a CA that did not sign the server's certificate
/// is refused with a TLS error, whether the host is checked or not.
#[test]
fn the_server_certificate_is_checked_against_the_ca() -> TestResult {
    let Some((url, ca)) = server() else {
        return Ok(());
    };
    let other = ca.with_file_name("other-ca.pem");
    assert!(other.is_file(), "{} (.ci/postgres start)", other.display());
    let t = Target::postgres(&url, "verify");
    let ca = ca.display();
    for query in [
        "sslmode=disable".to_owned(),
        "sslmode=prefer".to_owned(),
        "sslmode=require".to_owned(),
        format!("sslmode=verify-ca&sslrootcert={ca}"),
        format!("sslmode=verify-full&sslrootcert={ca}"),
        format!("sslrootcert={ca}&sslmode=require"),
    ] {
        let mut r = Registry::open(&with_query(&t.url(), &query))
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        r.report(&ReportFilter::default())
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        let tls = connections_use_tls(&url, &db_name(&t));
        assert_eq!(tls, Some(query != "sslmode=disable"), "{query}");
        drop(r);
        // The server ends the backend a moment after the client has gone.
        let t0 = std::time::Instant::now();
        while connections_use_tls(&url, &db_name(&t)).is_some() {
            assert!(t0.elapsed().as_secs() < 10, "{query}: the connection stays");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let other = other.display();
    for mode in ["verify-full", "verify-ca", "require"] {
        let query = format!("sslmode={mode}&sslrootcert={other}");
        match Registry::open(&with_query(&t.url(), &query)) {
            Err(RegistryError::Tls { message, .. }) => {
                assert!(message.contains("certificate"), "{query}: {message}")
            }
            other => panic!("{query}: {other:?}"),
        }
    }
    // Settings that cannot work are TLS errors too, before any connection.
    for query in [
        "sslmode=verify-full".to_owned(),
        "sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem".to_owned(),
        "sslmode=sometimes".to_owned(),
    ] {
        let e = Registry::open(&with_query(&t.url(), &query)).expect_err(&query);
        assert!(matches!(e, RegistryError::Tls { .. }), "{query}: {e:?}");
    }
    Ok(())
}

/// A password in a URL with TLS settings never shows, in the library's errors nor in the
/// program's output.
#[test]
fn passwords_with_tls_settings_never_show() -> TestResult {
    let Some((url, ca)) = server() else {
        return Ok(());
    };
    let secret = "not-the-password-0815";
    let at = url.find('@').ok_or("url without user")?;
    let host = &url[at..];
    let other = ca.with_file_name("other-ca.pem");
    let cases = [
        // A wrong password, checked over TLS.
        verify_full(&format!("postgres://kerma:{secret}{host}"), &ca),
        // The right CA file is wrong: the handshake fails before any password is sent.
        verify_full(&format!("postgres://kerma:{secret}{host}"), &other),
        // The password as a parameter, beside the TLS ones.
        with_query(
            &format!("postgres://kerma{host}"),
            &format!("password={secret}&sslmode=require"),
        ),
        with_query(
            &format!("postgres://kerma{host}"),
            &format!("sslmode=verify-full&password={secret}"),
        ),
    ];
    for u in &cases {
        let e = Registry::open(u).expect_err("must fail");
        let text = format!("{e} {e:?}");
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("***"), "{text}");
        let out = Command::new(cli_support::program())
            .args(["ingest", "--db", u, TESTDATA])
            .output()?;
        assert_eq!(out.status.code(), Some(2), "{u}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(secret), "{all}");
        assert!(all.contains("***"), "{all}");
    }
    Ok(())
}
