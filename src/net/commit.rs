//! Group commit: one committer thread makes what every association has received durable in
//! one store batch, then releases each association's response; one alert thread evaluates
//! what the batches changed once their senders have their responses.

use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};

use super::{Alert, Event, ObjectStore, Observer, ReceivedObject, StoreError};

/// The outcome an association waits for: `Ok(spooled)` once its object is durable, or why
/// it is not.
pub(super) type Reply = Result<bool, String>;

/// An object for the committer, with where to send its outcome.
pub(super) struct Job {
    /// The object.
    pub(super) object: ReceivedObject,
    /// Where its association waits.
    pub(super) reply: mpsc::Sender<Reply>,
}

/// Starts the committer on a thread of its own; it ends once every sender of `rx` is gone
/// and the alerts of its last batch are told.
pub(super) fn start(
    rx: mpsc::Receiver<Job>,
    store: Arc<dyn ObjectStore>,
    observer: Arc<dyn Observer>,
    max_batch: usize,
) -> std::io::Result<JoinHandle<()>> {
    let (changes_tx, changes_rx) = mpsc::channel::<Vec<String>>();
    let alerts = {
        let (store, observer) = (store.clone(), observer.clone());
        thread::Builder::new()
            .name("kerma-alerts".into())
            .spawn(move || alert_loop(changes_rx, store.as_ref(), observer.as_ref()))?
    };
    thread::Builder::new()
        .name("kerma-commit".into())
        .spawn(move || {
            commit_loop(
                rx,
                store.as_ref(),
                observer.as_ref(),
                max_batch.max(1),
                &changes_tx,
            );
            drop(changes_tx);
            let _ = alerts.join();
        })
}

/// Commits what every association has waiting, one batch at a time, then answers each.
/// While a batch commits, the next objects queue: the next batch takes them all (up to
/// `max_batch`), so the number of commits follows the disk, not the number of senders.
fn commit_loop(
    rx: mpsc::Receiver<Job>,
    store: &dyn ObjectStore,
    observer: &dyn Observer,
    max_batch: usize,
    changes: &mpsc::Sender<Vec<String>>,
) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (objects, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.object, j.reply)).unzip();
        match store.store_batch(&objects) {
            Ok(outcome) => {
                answer(&replies, &Ok(outcome.spooled), &outcome.alerts, observer);
                if !outcome.changed.is_empty() {
                    let _ = changes.send(outcome.changed);
                }
            }
            // One object the store refuses must not fail the others that shared its batch:
            // each is tried alone.
            Err(StoreError::Refused(_)) if objects.len() > 1 => {
                for (object, reply) in objects.iter().zip(&replies) {
                    let reply = std::slice::from_ref(reply);
                    match store.store_batch(std::slice::from_ref(object)) {
                        Ok(o) => {
                            answer(reply, &Ok(o.spooled), &o.alerts, observer);
                            if !o.changed.is_empty() {
                                let _ = changes.send(o.changed);
                            }
                        }
                        Err(e) => answer(reply, &Err(e.to_string()), &[], observer),
                    }
                }
            }
            Err(e) => answer(&replies, &Err(e.to_string()), &[], observer),
        }
    }
}

/// Releases the waiting associations with `result`, then reports the alerts.
fn answer(
    replies: &[mpsc::Sender<Reply>],
    result: &Reply,
    alerts: &[Alert],
    observer: &dyn Observer,
) {
    for r in replies {
        let _ = r.send(result.clone());
    }
    for a in alerts {
        observer.event(&Event::Alert(a));
    }
}

/// Evaluates the alerts of what the batches changed: everything that arrived while the
/// previous evaluation ran is evaluated together, once.
fn alert_loop(rx: mpsc::Receiver<Vec<String>>, store: &dyn ObjectStore, observer: &dyn Observer) {
    while let Ok(mut changed) = rx.recv() {
        while let Ok(more) = rx.try_recv() {
            changed.extend(more);
        }
        changed.sort_unstable();
        changed.dedup();
        for a in store.alerts(&changed) {
            observer.event(&Event::Alert(&a));
        }
    }
}
