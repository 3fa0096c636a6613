//! The inputs of a scan: the paths given, folders walked in a deterministic order, symbolic
//! links followed with loop detection.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, ParseError, Result};
use crate::extract::Extraction;

/// Media Storage SOP Class UID of a DICOMDIR (PS3.4 Annex F, PS3.10 §8.6).
const MEDIA_STORAGE_DIRECTORY: &str = "1.2.840.10008.1.3.10";

/// How an input came to be listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Named by the caller.
    Given,
    /// Found by walking a folder the caller named.
    Walked,
}

/// Why a folder walk could not go on at one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WalkError {
    /// A folder or entry could not be read.
    Io {
        /// Where, when known.
        path: Option<PathBuf>,
        /// The kind of the operating system's error.
        kind: io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
    /// A symbolic link to a folder that contains it: not followed.
    Loop {
        /// The link.
        link: PathBuf,
        /// The folder it points to, as walked.
        ancestor: PathBuf,
    },
}

impl WalkError {
    fn io(path: Option<&Path>, err: &io::Error) -> WalkError {
        WalkError::Io {
            path: path.map(Path::to_owned),
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    /// The error as the `source` of an input's [`Error::Io`].
    pub(crate) fn to_io_error(&self) -> io::Error {
        let kind = match self {
            WalkError::Io { kind, .. } => *kind,
            WalkError::Loop { .. } => io::ErrorKind::Other,
        };
        io::Error::new(kind, self.to_string())
    }
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::Io {
                path: Some(path),
                message,
                ..
            } => write!(f, "IO error for operation on {}: {message}", path.display()),
            WalkError::Io {
                path: None,
                message,
                ..
            } => f.write_str(message),
            WalkError::Loop { link, ancestor } => write!(
                f,
                "File system loop found: {} points to an ancestor {}",
                link.display(),
                ancestor.display()
            ),
        }
    }
}

impl From<&walkdir::Error> for WalkError {
    fn from(err: &walkdir::Error) -> WalkError {
        match (err.loop_ancestor(), err.path(), err.io_error()) {
            (Some(ancestor), Some(link), _) => WalkError::Loop {
                link: link.to_owned(),
                ancestor: ancestor.to_owned(),
            },
            (_, path, Some(io)) => WalkError::io(path, io),
            (_, path, None) => WalkError::Io {
                path: path.map(Path::to_owned),
                kind: io::ErrorKind::Other,
                message: err.to_string(),
            },
        }
    }
}

/// Why a walked file is left out of a report without being an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Skip {
    /// Not DICOM at all (a README, a JSON file, a thumbnail…).
    NotDicom,
    /// A DICOMDIR: the index of a DICOM file-set (PS3.3 F.2), not an object with dose.
    Dicomdir,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Skip::NotDicom => "not a DICOM file",
            Skip::Dicomdir => "a DICOMDIR",
        })
    }
}

/// Whether a file's extension says it holds DICOM (PS3.10 does not require one; these are
/// the extensions exports use when they add one).
fn named_as_dicom(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["dcm", "dicom", "dic"]
            .iter()
            .any(|d| e.eq_ignore_ascii_case(d))
    })
}

/// One input of a scan: a path given, or a file found by walking the paths given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Input {
    /// The path, as given or as walked.
    pub path: PathBuf,
    /// Whether it was given or walked.
    pub origin: Origin,
    /// Why the walk could not read this entry (an unreadable folder, a link loop), if so.
    pub walk_error: Option<WalkError>,
}

impl Input {
    /// An input named by the caller.
    pub fn given(path: impl Into<PathBuf>) -> Input {
        Input {
            path: path.into(),
            origin: Origin::Given,
            walk_error: None,
        }
    }

    pub(crate) fn walked(path: PathBuf) -> Input {
        Input {
            path,
            origin: Origin::Walked,
            walk_error: None,
        }
    }

    fn walk_failed(path: PathBuf, error: WalkError) -> Input {
        Input {
            path,
            origin: Origin::Walked,
            walk_error: Some(error),
        }
    }

    /// Whether `result`, this input's result, makes it a file to skip rather than report: a
    /// walked file that is not DICOM or is a DICOMDIR. A file given by name is never skipped:
    /// the caller asked for it; nor is a file whose name says it is DICOM (`.dcm`, `.dicom`,
    /// `.dic`) but whose content is not, as a failed or truncated export is.
    pub fn skip(&self, result: &Result<Extraction>) -> Option<Skip> {
        if self.origin != Origin::Walked {
            return None;
        }
        match result {
            Err(Error::Parse(ParseError::NotDicom)) if !named_as_dicom(&self.path) => {
                Some(Skip::NotDicom)
            }
            Ok(x) if x.identity.sop_class_uid.as_deref() == Some(MEDIA_STORAGE_DIRECTORY) => {
                Some(Skip::Dicomdir)
            }
            _ => None,
        }
    }

    /// Its result when the walk could not read it.
    pub(crate) fn walk_result(&self) -> Option<Error> {
        self.walk_error.as_ref().map(|e| Error::Io {
            path: self.path.clone(),
            source: e.to_io_error(),
        })
    }
}

/// Lists the files under `paths`: files as given, folders walked and sorted by file name.
///
/// Symbolic links are followed. A link to a folder that contains it is not: it becomes an
/// input with a [`WalkError::Loop`]. A link that cannot be followed (its target is gone) is
/// listed as a file, whose reading then fails.
///
/// Walk errors (an unreadable folder) become inputs with `walk_error` set, so that nothing
/// is lost without a word. With the `parallel` feature the first levels of a folder are listed
/// by the current rayon pool (a large archive, often on a network share, lists much faster);
/// the order is the same as a sequential walk's.
pub fn walk_inputs<P: AsRef<Path>>(paths: &[P]) -> Vec<Input> {
    let mut out = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if !p.is_dir() {
            out.push(Input::given(p));
            continue;
        }
        #[cfg(feature = "parallel")]
        if rayon::current_num_threads() > 1 {
            out.extend(walk_parallel(p, &[p.to_owned()]));
            continue;
        }
        walk_sequential(p, &[], &mut out);
    }
    out
}

/// Whether the folders `a` and `b` are one (as walkdir compares a link's target with the
/// folders above it).
fn same_folder(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// The folder among `ancestors` (nearest first) that `link` points to, if any.
fn loop_ancestor<'a>(ancestors: &'a [PathBuf], link: &Path) -> Option<&'a PathBuf> {
    ancestors.iter().rev().find(|a| same_folder(a, link))
}

/// Whether `path` is a symbolic link (its own metadata, not its target's).
fn is_link(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

/// Every file under the folder `dir`, depth first, each folder's entries sorted by name.
/// `outer` are the folders above `dir` in a walk that started higher (nearest last): a link
/// to one of them is a loop too.
fn walk_sequential(dir: &Path, outer: &[PathBuf], out: &mut Vec<Input>) {
    let mut walk = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walk.next() {
        match entry {
            Ok(e) if e.file_type().is_dir() => {
                if e.depth() > 0
                    && e.path_is_symlink()
                    && let Some(ancestor) = loop_ancestor(outer, e.path())
                {
                    let error = WalkError::Loop {
                        link: e.path().to_owned(),
                        ancestor: ancestor.clone(),
                    };
                    out.push(Input::walk_failed(e.into_path(), error));
                    walk.skip_current_dir();
                }
            }
            Ok(e) => out.push(Input::walked(e.into_path())),
            Err(err) => {
                let path = err.path().map(Path::to_owned);
                match path {
                    // A link whose target cannot be read: a file that cannot be read.
                    Some(path) if err.loop_ancestor().is_none() && is_link(&path) => {
                        out.push(Input::walked(path))
                    }
                    path => {
                        let error = WalkError::from(&err);
                        out.push(Input::walk_failed(
                            path.unwrap_or_else(|| dir.to_owned()),
                            error,
                        ))
                    }
                }
            }
        }
    }
}

/// [`walk_sequential`]'s list, the subfolders of the first levels listed in parallel (deeper
/// ones sequentially, so that recursion stays shallow whatever the tree). `ancestors` are the
/// folders from the root down to `dir`.
#[cfg(feature = "parallel")]
fn walk_parallel(dir: &Path, ancestors: &[PathBuf]) -> Vec<Input> {
    use rayon::prelude::*;
    const PARALLEL_LEVELS: usize = 3;
    let depth = ancestors.len() - 1;
    let unreadable =
        |err: io::Error| Input::walk_failed(dir.to_owned(), WalkError::io(Some(dir), &err));
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(err) => return vec![unreadable(err)],
    };
    /// What a folder entry is, links followed.
    enum Entry {
        File,
        Folder,
        /// A link to a folder above it.
        Loop(PathBuf),
    }
    // As in a sorted walkdir walk: entries that cannot be read first, then the rest by name.
    let mut out = Vec::new();
    let mut entries = Vec::new();
    for entry in listing {
        match entry {
            Ok(e) => {
                let path = e.path();
                let what = match e.file_type() {
                    Ok(t) if t.is_dir() => Entry::Folder,
                    Ok(t) if t.is_symlink() && path.is_dir() => {
                        match loop_ancestor(ancestors, &path) {
                            Some(a) => Entry::Loop(a.clone()),
                            None => Entry::Folder,
                        }
                    }
                    _ => Entry::File,
                };
                entries.push((e.file_name(), path, what));
            }
            Err(err) => out.push(unreadable(err)),
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let lists: Vec<Vec<Input>> = entries
        .into_par_iter()
        .map(|(_, path, what)| match what {
            Entry::File => vec![Input::walked(path)],
            Entry::Loop(ancestor) => {
                let link = path.clone();
                vec![Input::walk_failed(path, WalkError::Loop { link, ancestor })]
            }
            Entry::Folder if depth + 1 < PARALLEL_LEVELS => {
                let mut below = ancestors.to_vec();
                below.push(path.clone());
                walk_parallel(&path, &below)
            }
            Entry::Folder => {
                let mut v = Vec::new();
                walk_sequential(&path, ancestors, &mut v);
                v
            }
        })
        .collect();
    out.extend(lists.into_iter().flatten());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkdir(p: &Path) {
        std::fs::create_dir_all(p).expect("mkdir");
    }

    fn write(p: &Path) {
        std::fs::write(p, b"x").expect("write");
    }

    #[cfg(unix)]
    fn link(target: &Path, link: &Path) {
        std::os::unix::fs::symlink(target, link).expect("link");
    }

    /// The walk of `root` sequentially, and with the `parallel` feature on pools of 1 and 2
    /// threads, which must agree.
    fn walk(root: &Path) -> Vec<Input> {
        let mut sequential = Vec::new();
        walk_sequential(root, &[], &mut sequential);
        #[cfg(feature = "parallel")]
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let listed = pool.install(|| walk_inputs(&[root]));
            assert_eq!(listed, sequential, "{threads} threads");
        }
        sequential
    }

    fn relative(root: &Path, inputs: &[Input]) -> Vec<String> {
        inputs
            .iter()
            .map(|i| {
                let p = i.path.strip_prefix(root).unwrap_or(&i.path);
                match &i.walk_error {
                    Some(WalkError::Loop { ancestor, .. }) => format!(
                        "{} (loop to {})",
                        p.display(),
                        ancestor.strip_prefix(root).unwrap_or(ancestor).display()
                    ),
                    Some(e) => format!("{} ({e})", p.display()),
                    None => p.display().to_string(),
                }
            })
            .collect()
    }

    #[test]
    fn parallel_walk_lists_what_the_sequential_walk_lists() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        // Files and folders interleaved by name, 5 levels deep (deeper than the parallel
        // levels), empty folders, links to folders, loops above and below the parallel levels,
        // and links that cannot be followed.
        for a in ["b", "a", "c"] {
            for b in ["y", "x"] {
                let deep = root.join(a).join(b).join("1").join("2").join("3");
                mkdir(&deep);
                for f in ["z.dcm", "m.dcm", "a.dcm"] {
                    write(&deep.join(f));
                    write(&root.join(a).join(b).join(f));
                }
            }
            write(&root.join(format!("{a}.dcm")));
        }
        mkdir(&root.join("empty"));
        #[cfg(unix)]
        {
            link(&root.join("a"), &root.join("link_to_a"));
            link(&root.join("gone"), &root.join("broken"));
            link(&root.join("self"), &root.join("self"));
            link(root, &root.join("b").join("up"));
            link(&root.join("c"), &root.join("c/x/1/2/3/up"));
            link(&root.join("c/x"), &root.join("a/y/1/2/to_c_x"));
        }
        let inputs = walk(root);
        assert!(inputs.len() > 30);
        #[cfg(unix)]
        {
            let listed = relative(root, &inputs);
            let has = |s: &str| listed.iter().any(|l| l == s);
            assert!(has("link_to_a/x/1/2/3/a.dcm"), "{listed:#?}");
            assert!(has("broken") && has("self"), "{listed:#?}");
            assert!(has("b/up (loop to )"), "{listed:#?}");
            assert!(has("c/x/1/2/3/up (loop to c)"), "{listed:#?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_folder_is_walked_under_the_link() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let elsewhere = tempfile::tempdir().expect("tempdir");
        mkdir(&elsewhere.path().join("series"));
        write(&elsewhere.path().join("series/1.dcm"));
        write(&elsewhere.path().join("2.dcm"));
        let root = tmp.path();
        write(&root.join("0.dcm"));
        link(elsewhere.path(), &root.join("linked"));
        let inputs = walk(root);
        assert_eq!(
            relative(root, &inputs),
            ["0.dcm", "linked/2.dcm", "linked/series/1.dcm"]
        );
        assert!(inputs.iter().all(|i| i.origin == Origin::Walked));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_loop_is_one_walk_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        mkdir(&root.join("a/b"));
        write(&root.join("a/b/1.dcm"));
        link(&root.join("a"), &root.join("a/b/again"));
        let inputs = walk(root);
        assert_eq!(
            relative(root, &inputs),
            ["a/b/1.dcm", "a/b/again (loop to a)"]
        );
        let error = inputs[1].walk_result().expect("a walk error");
        assert_eq!(
            crate::error::chain(&error),
            format!(
                "cannot read {0}/a/b/again: File system loop found: {0}/a/b/again points to an \
                 ancestor {0}/a",
                root.display()
            )
        );
    }

    #[test]
    fn only_walked_files_are_skipped() {
        let not_dicom = || -> Result<Extraction> { Err(Error::Parse(ParseError::NotDicom)) };
        let walked = Input::walked(PathBuf::from("README.txt"));
        assert_eq!(walked.skip(&not_dicom()), Some(Skip::NotDicom));
        assert_eq!(Input::given("README.txt").skip(&not_dicom()), None);
        let truncated: Result<Extraction> = Err(Error::Parse(ParseError::Truncated {
            offset: 0,
            needed: None,
        }));
        assert_eq!(walked.skip(&truncated), None);
    }

    #[test]
    fn a_walked_file_named_as_dicom_stays_an_error() {
        let not_dicom = || -> Result<Extraction> { Err(Error::Parse(ParseError::NotDicom)) };
        for name in ["IM0001.dcm", "a/b/EXPORT.DCM", "x.dicom", "y.Dic"] {
            assert_eq!(
                Input::walked(PathBuf::from(name)).skip(&not_dicom()),
                None,
                "{name}"
            );
        }
        for name in ["README", "thumb.jpg", "index.json", "dcm"] {
            let skip = Input::walked(PathBuf::from(name)).skip(&not_dicom());
            assert_eq!(skip, Some(Skip::NotDicom), "{name}");
        }
    }
}
