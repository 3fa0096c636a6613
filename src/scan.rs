//! Folders: walk inputs in a deterministic order and extract them, in parallel, streaming
//! results in input order so that memory does not grow with the archive.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::extract::{Extraction, Extractor};

/// One input of a scan: a file found by walking the paths given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The path, as given or as walked.
    pub path: PathBuf,
    /// A walk error for this entry (unreadable directory, broken link), if any.
    pub walk_error: Option<String>,
}

/// Lists the files under `paths` (files as given, folders walked and sorted by file name).
///
/// Walk errors (an unreadable folder) become inputs with `walk_error` set, so that nothing
/// is lost without a word.
pub fn walk_inputs<P: AsRef<Path>>(paths: &[P]) -> Vec<Input> {
    let mut out = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if !p.is_dir() {
            out.push(Input {
                path: p.to_owned(),
                walk_error: None,
            });
            continue;
        }
        for entry in walkdir::WalkDir::new(p).sort_by_file_name() {
            match entry {
                Ok(e) if e.file_type().is_dir() => {}
                Ok(e) => out.push(Input {
                    path: e.into_path(),
                    walk_error: None,
                }),
                Err(err) => out.push(Input {
                    path: err
                        .path()
                        .map(Path::to_owned)
                        .unwrap_or_else(|| p.to_owned()),
                    walk_error: Some(err.to_string()),
                }),
            }
        }
    }
    out
}

/// Extracts every input and hands each result to `sink` in input order.
///
/// With the `parallel` feature, files are read by as many worker threads as the current rayon
/// pool has (so `ThreadPool::install` sets the degree of parallelism), while `sink` runs on the
/// calling thread. Workers run at most a small window of files ahead of the next result to be
/// handed over, so memory does not grow with the number of files however slow one file is.
pub fn scan<F>(inputs: &[Input], extractor: &Extractor, mut sink: F)
where
    F: FnMut(&Input, Result<Extraction>),
{
    let one = |input: &Input| -> Result<Extraction> {
        match &input.walk_error {
            Some(msg) => Err(Error::Io {
                path: input.path.clone(),
                source: std::io::Error::other(msg.clone()),
            }),
            None => extractor.extract_path(&input.path),
        }
    };
    #[cfg(feature = "parallel")]
    {
        let threads = rayon::current_num_threads().max(1);
        if threads > 1 && inputs.len() > 1 {
            ordered_parallel(inputs, threads, one, sink);
            return;
        }
    }
    for input in inputs {
        sink(input, one(input));
    }
}

/// Runs `work` over `inputs` on `threads` workers and hands results to `sink` in input order.
/// Workers claim runs of `CHUNK` consecutive files (so locking costs little per file) and stay
/// at most `threads + 1` runs ahead of the run `sink` is taking: finished results wait for
/// the sink in at most that many runs, which bounds the memory they hold.
#[cfg(feature = "parallel")]
fn ordered_parallel<W, F>(inputs: &[Input], threads: usize, work: W, mut sink: F)
where
    W: Fn(&Input) -> Result<Extraction> + Sync,
    F: FnMut(&Input, Result<Extraction>),
{
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex, MutexGuard};

    const CHUNK: usize = 4;
    struct State {
        /// The run `sink` takes next.
        next: usize,
        ready: BTreeMap<usize, Vec<Result<Extraction>>>,
    }
    fn wait<'m>(cv: &Condvar, g: MutexGuard<'m, State>) -> MutexGuard<'m, State> {
        cv.wait(g).unwrap_or_else(|e| e.into_inner())
    }
    let window = threads + 1;
    let state = Mutex::new(State {
        next: 0,
        ready: BTreeMap::new(),
    });
    let changed = Condvar::new();
    let claim = AtomicUsize::new(0);
    // A poisoned lock only means another thread panicked; the state itself stays consistent.
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let runs: Vec<&[Input]> = inputs.chunks(CHUNK).collect();

    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let c = claim.fetch_add(1, Ordering::Relaxed);
                    let Some(run) = runs.get(c) else { break };
                    let mut g = lock();
                    while c >= g.next + window {
                        g = wait(&changed, g);
                    }
                    drop(g);
                    let results = run
                        .iter()
                        .map(|input| {
                            // A panic would be a kerma bug; it must not leave the caller waiting.
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(input)))
                                .unwrap_or_else(|_| {
                                    Err(Error::Internal {
                                        path: input.path.clone(),
                                    })
                                })
                        })
                        .collect();
                    lock().ready.insert(c, results);
                    changed.notify_all();
                }
            });
        }
        for (c, run) in runs.iter().enumerate() {
            let mut g = lock();
            let results = loop {
                if let Some(r) = g.ready.remove(&c) {
                    g.next = c + 1;
                    break r;
                }
                g = wait(&changed, g);
            };
            drop(g);
            changed.notify_all();
            for (input, r) in run.iter().zip(results) {
                sink(input, r);
            }
        }
    });
}

#[cfg(all(test, feature = "parallel"))]
mod tests {
    use super::*;

    #[test]
    fn parallel_scan_keeps_input_order_and_results() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
        let once = walk_inputs(&[dir]);
        // 5 copies of the whole folder: good, unsupported and unreadable files interleaved.
        let inputs: Vec<Input> = (0..5).flat_map(|_| once.iter().cloned()).collect();
        let extractor = Extractor::new();
        let mut sequential = Vec::new();
        for input in &inputs {
            sequential.push(format!("{:?}", extractor.extract_path(&input.path).ok()));
        }
        for threads in [2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| e.to_string());
            let Ok(pool) = pool else { return };
            let mut seen = Vec::new();
            pool.install(|| {
                scan(&inputs, &extractor, |input, r| {
                    seen.push((input.path.clone(), format!("{:?}", r.ok())))
                })
            });
            assert_eq!(seen.len(), inputs.len());
            for (i, (path, r)) in seen.iter().enumerate() {
                assert_eq!(path, &inputs[i].path, "order at {i}");
                assert_eq!(r, &sequential[i], "result at {i}");
            }
        }
    }
}
