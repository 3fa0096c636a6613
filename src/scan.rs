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

/// Extracts every input and hands each result to `sink` in input order, reading files in
/// parallel (with the `parallel` feature) in bounded batches: at most four results per worker
/// thread are held at once, so memory does not grow with the number of files.
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
        use rayon::prelude::*;
        let batch = rayon::current_num_threads().max(1) * 4;
        for chunk in inputs.chunks(batch) {
            let results: Vec<Result<Extraction>> = chunk.par_iter().map(one).collect();
            for (input, r) in chunk.iter().zip(results) {
                sink(input, r);
            }
        }
    }
    #[cfg(not(feature = "parallel"))]
    for input in inputs {
        sink(input, one(input));
    }
}
