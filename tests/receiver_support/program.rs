//! The program `kerma-report listen` on 127.0.0.1 (a free port), its log read line by line.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `kerma-report listen`; killed when dropped.
pub struct Program {
    child: Child,
    /// The address it listens on (from its first log line).
    pub addr: SocketAddr,
    log: std::sync::mpsc::Receiver<String>,
}

impl Program {
    /// Starts `bin listen --bind 127.0.0.1 --port 0` with `args`; waits for its address.
    pub fn start(bin: &Path, args: &[&OsStr]) -> Program {
        let mut child = Command::new(bin)
            .args(["listen", "--bind", "127.0.0.1", "--port", "0"])
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut program = Program {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            log: rx,
        };
        let line = program
            .wait_for("listening")
            .expect("the program's first line");
        let addr = line.rsplit("address=").next().unwrap();
        program.addr = addr.trim().parse().unwrap();
        program
    }

    /// Waits (at most 60 s) for a log line containing `part`.
    pub fn wait_for(&mut self, part: &str) -> Option<String> {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            match self.log.recv_timeout(Duration::from_millis(100)) {
                Ok(l) if l.contains(part) => return Some(l),
                Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(_) => return None,
            }
        }
        None
    }

    /// Peak resident memory (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Sends SIGTERM; waits (at most 30 s) for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
