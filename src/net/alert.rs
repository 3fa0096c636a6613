//! The `--on-alert` command: a site's own program (mail, chat message) run once per alert
//! with the alert's JSON on its standard input.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::Alert;

/// Runs a shell command (`sh -c COMMAND`) once per alert, one at a time and in order, on a
/// thread of its own, so that the receiver never waits for it. Dropping it waits for the
/// alerts already handed over.
///
/// ```no_run
/// use kerma::net::{Alert, AlertCommand};
/// # fn main() -> std::io::Result<()> {
/// let runner = AlertCommand::start("mail -s 'kerma alert' physicist@example.org", |why| {
///     eprintln!("on-alert: {why}")
/// })?;
/// runner.send(&Alert { summary: "…".into(), json: "{}".into() });
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AlertCommand {
    tx: Option<mpsc::Sender<String>>,
    thread: Option<JoinHandle<()>>,
}

impl AlertCommand {
    /// Starts the runner for `command`; `report` hears of a command that could not start or
    /// that failed. Errs if no thread can be started.
    pub fn start(
        command: &str,
        report: impl Fn(String) + Send + 'static,
    ) -> std::io::Result<AlertCommand> {
        let (tx, rx) = mpsc::channel::<String>();
        let command = command.to_owned();
        let thread = std::thread::Builder::new()
            .name("kerma-on-alert".into())
            .spawn(move || {
                for json in rx {
                    if let Err(why) = run(&command, &json) {
                        report(why);
                    }
                }
            })?;
        Ok(AlertCommand {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues `alert` for the command.
    pub fn send(&self, alert: &Alert) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(alert.json.clone());
        }
    }
}

impl Drop for AlertCommand {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `command` with `json` on its standard input; `Err` says why it failed.
fn run(command: &str, json: &str) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{command:?} could not start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is not an error.
        let _ = stdin.write_all(json.as_bytes());
    }
    match child.wait() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{command:?} ended with {s}")),
        Err(e) => Err(format!("{command:?}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alert_reaches_the_command_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("alerts.txt");
        let failures = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = failures.clone();
        let runner = AlertCommand::start(
            &format!("cat >> '{}'; echo >> '{}'", out.display(), out.display()),
            move |why| seen.lock().unwrap().push(why),
        )
        .unwrap();
        for n in 0..3 {
            runner.send(&Alert {
                summary: format!("alert {n}"),
                json: format!("{{\"n\":{n}}}"),
            });
        }
        drop(runner);
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
        assert!(failures.lock().unwrap().is_empty());
        let failing = {
            let failures = failures.clone();
            AlertCommand::start("exit 3", move |why| failures.lock().unwrap().push(why)).unwrap()
        };
        failing.send(&Alert {
            summary: String::new(),
            json: "{}".into(),
        });
        drop(failing);
        let f = failures.lock().unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("exit status: 3"), "{f:?}");
    }
}
