//! `kerma-report listen`: the DICOM receiver (C-ECHO, C-STORE SCP) as a program.
//!
//! One log line per association and per object on stderr; alerts are logged and, with
//! `--on-alert COMMAND`, handed as JSON to COMMAND's standard input (run by `sh -c`, one at a
//! time). SIGTERM or SIGINT stops it: it stops accepting, finishes the objects in flight,
//! and exits 0.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use kerma::net::{
    AlertCommand, AllowedPeer, Event, ObjectStore, Observer, Receiver, ReceiverConfig, Spool,
    log_line,
};

const AFTER_HELP: &str = "\
Examples:
  kerma-report listen --aet KERMA --port 11112 --spool /var/spool/kerma
  kerma-report listen --spool /var/spool/kerma --allow CT1@10.0.0.7 --allow PACS
  kerma-report listen --spool spool/ --on-alert 'mail -s \"kerma alert\" physicist@example.org'
  kerma-report listen --db kerma.db --tls-cert server.pem --tls-key server.key --tls-client-ca ca.pem

Test it with DCMTK: echoscu -aec KERMA HOST 11112; storescu -aec KERMA HOST 11112 FILE.dcm
(with TLS: echoscu +tls client.key client.pem +cf ca.pem -aec KERMA HOST 11112)

Exit codes: 0 stopped by SIGTERM or SIGINT; 2 a bad option or the port cannot be bound.";

/// Receives dose reports and images pushed over DICOM (C-STORE), stores them durably (each
/// sender is told "stored" only once it is), logs every association and object, and runs
/// a command for each trigger-level alert.
#[derive(Debug, Parser)]
#[command(name = "kerma-report listen", version, after_help = AFTER_HELP)]
pub struct ListenArgs {
    /// The registry: an SQLite file or a PostgreSQL URL (see `kerma-report ingest`); each
    /// batch of objects is committed there before its senders hear "stored", and the
    /// trigger levels it makes a procedure or a patient reach are alerts.
    /// Example: --db kerma.db
    #[arg(long, value_name = "PATH_OR_URL")]
    pub db: Option<String>,

    /// Skin-dose settings (kerma's geometry file or PySkinDose's JSON; kerma's defaults
    /// without it): the peak skin dose of each procedure a batch changes is estimated, stored
    /// in the registry and compared with the PSD trigger levels. Example: --skin-settings rooms-skin.json
    #[arg(long, value_name = "FILE")]
    pub skin_settings: Option<PathBuf>,

    /// Spool folder: objects are written there when the registry is down (or, without
    /// --db, always), and moved into the registry when it is back. Example: --spool spool/
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// Own AE title (called AE title of the senders). Example: --aet KERMA
    #[arg(long, default_value = "KERMA", value_name = "AE")]
    pub aet: String,

    /// TCP port. Example: --port 11112
    #[arg(long, default_value_t = 11112)]
    pub port: u16,

    /// Address to listen on. Example: --bind 127.0.0.1
    #[arg(long, default_value = "0.0.0.0", value_name = "ADDRESS")]
    pub bind: IpAddr,

    /// Calling AE title allowed to send, optionally with the one address it must come from;
    /// repeat for several; none: any. Example: --allow CT1@10.0.0.7
    #[arg(long, value_name = "AE[@ADDRESS]", value_parser = AllowedPeer::parse)]
    pub allow: Vec<AllowedPeer>,

    /// Also accept SOP classes kerma does not read for dose; they are stored, never parsed
    /// as dose.
    #[arg(long)]
    pub promiscuous: bool,

    /// Associations served at once. Example: --max-associations 32
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_associations: usize,

    /// Maximum PDU length received, in bytes (1018 to 16777216). Example: --max-pdu 131072
    #[arg(long, default_value_t = 65_536, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(1018..=16_777_216))]
    pub max_pdu: u32,

    /// Seconds an association may stay silent before it is aborted. Example: --idle-timeout 30
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub idle_timeout: f64,

    /// Seconds a new connection has to send its association request.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub request_timeout: f64,

    /// TLS on every connection (TLS 1.2 and 1.3, PS3.15 BCP 195 profiles): the server's
    /// certificate chain, PEM (its own certificate first). Needs --tls-key.
    /// Example: --tls-cert /etc/kerma/server.pem
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The server's private key, PEM (PKCS#8, PKCS#1 or SEC1). Needs --tls-cert.
    /// Example: --tls-key /etc/kerma/server.key
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Require a client certificate signed by one of these CA certificates (PEM); without
    /// it, any client may connect over TLS. Needs --tls-cert.
    /// Example: --tls-client-ca /etc/kerma/modalities-ca.pem
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// Command run for each alert, by `sh -c`, with the alert as JSON on its standard input.
    /// Example: --on-alert 'mail -s alert physicist@example.org'
    #[arg(long, value_name = "COMMAND")]
    pub on_alert: Option<String>,
}

/// Logs events with a UTC time stamp; hands alerts to the `--on-alert` command.
struct Log {
    alerts: Option<AlertCommand>,
}

impl Observer for Log {
    fn event(&self, event: &Event<'_>) {
        eprintln!("{} {}", now_utc(), log_line(event));
        if let (Event::Alert(a), Some(runner)) = (event, &self.alerts) {
            runner.send(a);
        }
    }
}

/// Runs `kerma-report listen` with the arguments after `listen`.
pub fn main(argv: Vec<std::ffi::OsString>) -> ExitCode {
    let args = ListenArgs::parse_from(argv);
    let mut fallback = None;
    let store: Arc<dyn ObjectStore> = match (&args.db, &args.spool) {
        (Some(db), spool) => {
            // Two connections: one commits, the other evaluates alerts meanwhile.
            let survey = kerma::reference::SurveyConfig::default();
            let settings = match crate::skin::settings(args.skin_settings.as_deref()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("kerma-report listen: {e}");
                    return ExitCode::from(2);
                }
            };
            let store = match kerma::net::RegistryStore::open(db, survey) {
                Ok(s) => s.with_skin_settings(settings),
                Err(e) => {
                    eprintln!("kerma-report listen: {e}");
                    return ExitCode::from(2);
                }
            };
            match spool {
                None => Arc::new(store),
                Some(dir) => match Spool::open(dir) {
                    Ok(spool) => {
                        let f = Arc::new(kerma::net::Fallback {
                            store: Box::new(store),
                            spool,
                        });
                        fallback = Some(f.clone());
                        f
                    }
                    Err(e) => {
                        eprintln!("kerma-report listen: spool {}: {e}", dir.display());
                        return ExitCode::from(2);
                    }
                },
            }
        }
        (None, Some(dir)) => match Spool::open(dir) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                eprintln!("kerma-report listen: spool {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        },
        (None, None) => {
            eprintln!("kerma-report listen: give --db PATH or --spool DIR (or both)");
            return ExitCode::from(2);
        }
    };
    let seconds = |s: f64, what: &str| {
        if s.is_finite() && s > 0.0 && s < 1e6 {
            Ok(Duration::from_secs_f64(s))
        } else {
            Err(format!("{what} must be a positive number of seconds"))
        }
    };
    let (idle, request) = match (
        seconds(args.idle_timeout, "--idle-timeout"),
        seconds(args.request_timeout, "--request-timeout"),
    ) {
        (Ok(i), Ok(r)) => (i, r),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("kerma-report listen: {e}");
            return ExitCode::from(2);
        }
    };
    let mut config = ReceiverConfig::new(&args.aet);
    config.allowed = args.allow.clone();
    config.promiscuous = args.promiscuous;
    config.max_associations = args.max_associations.max(1);
    config.max_pdu_length = args.max_pdu;
    config.idle_timeout = idle;
    config.request_timeout = request;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        #[cfg(feature = "tls")]
        match kerma::net::TlsConfig::from_pem_files(cert, key, args.tls_client_ca.as_deref()) {
            Ok(tls) => config.tls = Some(tls),
            Err(e) => {
                eprintln!("kerma-report listen: TLS: {e}");
                return ExitCode::from(2);
            }
        }
        #[cfg(not(feature = "tls"))]
        {
            eprintln!(
                "kerma-report listen: TLS: {} and {}: this build has no TLS (cargo feature tls)",
                cert.display(),
                key.display()
            );
            return ExitCode::from(2);
        }
    }
    let alerts = match &args.on_alert {
        Some(cmd) => {
            match AlertCommand::start(cmd, |why| eprintln!("{} on-alert: {why}", now_utc())) {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!("kerma-report listen: --on-alert: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        None => None,
    };
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kerma-report listen: {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(signal, stop.clone()) {
            eprintln!("kerma-report listen: signal handler: {e}");
            return ExitCode::from(2);
        }
    }
    // Objects spooled while the registry was down go into it once it is back.
    if let Some(f) = fallback {
        let moved = f.spawn_catch_up(Duration::from_secs(5), stop.clone(), |r| match r {
            Ok((n, alerts)) => {
                eprintln!("{} spool: {n} objects moved into the registry", now_utc());
                for a in alerts {
                    eprintln!("{} alert: {}", now_utc(), a.summary);
                }
            }
            Err(e) => eprintln!("{} spool: catch-up failed: {e}", now_utc()),
        });
        if let Err(e) = moved {
            eprintln!("kerma-report listen: spool catch-up thread: {e}");
            return ExitCode::from(2);
        }
    }
    let receiver = Receiver::new(config, store, Arc::new(Log { alerts }));
    let handle = match receiver.start(listener) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("kerma-report listen: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "{} listening aet={} address={}",
        now_utc(),
        args.aet,
        handle.local_addr()
    );
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("{} stopping: finishing the objects in flight", now_utc());
    handle.stop();
    eprintln!("{} stopped", now_utc());
    ExitCode::SUCCESS
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn now_utc() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = t.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = crate::calendar::civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        t.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let a = ListenArgs::parse_from([
            "listen",
            "--spool",
            "s",
            "--allow",
            "CT1@127.0.0.1",
            "--allow",
            "PACS",
            "--port",
            "4242",
        ]);
        assert_eq!(a.port, 4242);
        assert_eq!(a.allow.len(), 2);
        assert_eq!(a.allow[0].host, Some("127.0.0.1".parse().unwrap()));
        assert!(ListenArgs::try_parse_from(["listen", "--allow", "X@host"]).is_err());
        assert!(ListenArgs::try_parse_from(["listen", "--max-pdu", "10"]).is_err());
    }

    #[test]
    fn utc_time_stamp_shape() {
        let s = now_utc();
        assert_eq!(s.len(), 24, "{s}");
        assert!(s.starts_with("20") && s.ends_with('Z'), "{s}");
    }
}
