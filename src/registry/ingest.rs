//! Ingest: read and hash files (in parallel), extract what is new (in parallel), then store a
//! batch and recompute the procedures it touches, in one transaction.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read as _;

use super::db::{Db, Tx, Val, rows};
use super::rows::{
    FileRows, PROCEDURE_COLUMNS, PROCEDURE_PLANE_COLUMNS, ROOM_COLUMNS, detail, pack,
    procedure_plane_rows, procedure_row, room_row, stored, unpack,
};
use super::schema::{EVENT_COLUMNS, FILE_COLUMNS, IMAGE_COLUMNS, PLANE_COLUMNS};
use super::{BATCH_BYTES, IngestSummary, Progress, RegistryError, par_map, time};
use crate::error::Error;
use crate::extract::{Extraction, Extractor, Outcome};
use crate::procedure::{Fate, Procedures};
use crate::report::FileEntry;
use crate::scan::{Input, Skip};
use crate::skin::{Settings, SkinInputs};

use super::skin::{SkinWork, estimate_work, store as store_skin};

/// Files above this size are hashed as a stream and extracted from disk, never held whole.
const WHOLE_FILE: u64 = 64 << 20;

/// Rows per `IN (…)` list.
pub(super) const IN_CHUNK: usize = 500;

/// One input whose content may be new.
struct Fresh {
    label: String,
    size: u64,
    hash: String,
    /// What is stored: the file's bytes up to Pixel Data (a dose report whole), packed;
    /// nothing for a skipped file.
    content: Option<Vec<u8>>,
    result: Result<Extraction, Error>,
    skip: Option<Skip>,
    /// Its rows, made where it was extracted.
    rows: FileRows,
    /// Its grouping links (none for a file that does not take part in grouping).
    links: Links,
}

impl Fresh {
    fn new(
        label: String,
        size: u64,
        hash: String,
        bytes: Option<Vec<u8>>,
        result: Result<Extraction, Error>,
        skip: Option<Skip>,
    ) -> Fresh {
        let mut entry = FileEntry::new(&label, &result);
        if let Some(s) = skip {
            entry.outcome = crate::report::FileOutcome::Skipped;
            entry.skip_reason = Some(s.to_string());
        }
        let rows = FileRows::new(&entry);
        let links = match &result {
            Ok(x) if groups(&result, skip) => links(x),
            _ => Links::default(),
        };
        let content = bytes.map(|b| pack(&stored_content(b, &result)));
        Fresh {
            label,
            size,
            hash,
            content,
            result,
            skip,
            rows,
            links,
        }
    }
}

/// An input read from disk, not yet extracted.
struct Loaded {
    label: String,
    size: u64,
    hash: String,
    /// The whole file, or, for a large file, its result already extracted from disk and the
    /// bytes it read.
    body: Body,
}

enum Body {
    Whole(Vec<u8>),
    Large(Box<Result<Extraction, Error>>, Vec<u8>),
}

fn hex(hash: blake3::Hash) -> String {
    hash.to_hex().to_string()
}

fn read_input(input: &Input, extractor: &Extractor) -> Result<Loaded, String> {
    if let Some(e) = input.walk_result() {
        return Err(crate::error::chain(&e));
    }
    let label = input.path.display().to_string();
    let path = &input.path;
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size <= WHOLE_FILE {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        return Ok(Loaded {
            label,
            size: bytes.len() as u64,
            hash: hex(blake3::hash(&bytes)),
            body: Body::Whole(bytes),
        });
    }
    let mut hasher = blake3::Hasher::new();
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    hasher.update_reader(file).map_err(|e| e.to_string())?;
    let result = extractor.extract_path(path);
    let read = result.as_ref().map_or(0, |x| x.bytes_read);
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(read).read_to_end(&mut head))
        .map_err(|e| e.to_string())?;
    Ok(Loaded {
        label,
        size,
        hash: hex(hasher.finalize()),
        body: Body::Large(Box::new(result), head),
    })
}

/// What of `bytes` is stored for `result`: a file that was not read to its end (an image
/// header, whose pixel data kerma never reads) up to where reading stopped.
fn stored_content(bytes: Vec<u8>, result: &Result<Extraction, Error>) -> Vec<u8> {
    match result {
        Ok(x) if x.report.is_none() && (x.bytes_read as usize) < bytes.len() => {
            let mut b = bytes;
            b.truncate(x.bytes_read as usize);
            b
        }
        _ => bytes,
    }
}

fn extract_loaded(l: Loaded, input: &Input, extractor: &Extractor) -> Fresh {
    let (result, bytes) = match l.body {
        Body::Whole(bytes) => (extractor.extract_bytes(&bytes), bytes),
        Body::Large(result, head) => (*result, head),
    };
    let skip = input.skip(&result);
    let bytes = skip.is_none().then_some(bytes);
    Fresh::new(l.label, l.size, l.hash, bytes, result, skip)
}

/// The stored versions of `paths` that are current: path → (id, content hash). A few
/// queries of many paths each, not one per path (a round trip each on PostgreSQL).
fn current(
    tx: &mut dyn Tx,
    paths: &[&str],
) -> Result<HashMap<String, (i64, String)>, RegistryError> {
    let mut out = HashMap::new();
    for chunk in paths.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT path, id, content_hash FROM files WHERE is_current = 1 AND path IN ({})",
            placeholders(chunk.len())
        );
        let params: Vec<Val> = chunk.iter().map(|&p| Val::from(p)).collect();
        tx.query(&sql, &params, &mut |r| {
            let mut it = r.into_iter();
            if let (Some(path), Some(id), Some(hash)) = (
                it.next().and_then(Val::into_text),
                it.next().and_then(|v| v.int()),
                it.next().and_then(Val::into_text),
            ) {
                out.insert(path, (id, hash));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// One batch read and extracted, ready to be stored.
struct Prepared {
    fresh: Vec<Fresh>,
    unchanged: usize,
    failed: Vec<(String, String)>,
    end: usize,
}

/// Reads, hashes and extracts the batches of `inputs` (looking up what is stored through
/// `reader`), and hands each to `send`, until `send` refuses one.
fn prepare(
    reader: &mut dyn Db,
    extractor: &Extractor,
    batch_files: usize,
    inputs: &[Input],
    send: impl Fn(Result<Prepared, RegistryError>) -> bool,
) {
    let mut start = 0;
    while start < inputs.len() {
        let mut end = start;
        let mut bytes = 0u64;
        while end < inputs.len() && end - start < batch_files && bytes < BATCH_BYTES {
            bytes += std::fs::metadata(&inputs[end].path)
                .map(|m| m.len().min(WHOLE_FILE))
                .unwrap_or(0);
            end += 1;
        }
        let loaded = par_map(inputs[start..end].iter().collect(), |i| {
            (i, read_input(i, extractor))
        });
        let mut known: HashMap<String, (i64, String)> = HashMap::new();
        let labels: Vec<&str> = loaded
            .iter()
            .filter_map(|(_, l)| l.as_ref().ok().map(|l| l.label.as_str()))
            .collect();
        let looked = reader.read(&mut |tx| {
            known = current(tx, &labels)?;
            Ok(())
        });
        if let Err(e) = looked {
            send(Err(e));
            return;
        }
        let (mut changed, mut unchanged, mut failed) = (Vec::new(), 0, Vec::new());
        for (input, l) in loaded {
            match l {
                Err(e) => failed.push((input.path.display().to_string(), e)),
                Ok(l) if known.get(&l.label).map(|(_, h)| h) == Some(&l.hash) => unchanged += 1,
                Ok(l) => changed.push((input, l)),
            }
        }
        let fresh = par_map(changed, |(input, l)| extract_loaded(l, input, extractor));
        let prepared = Prepared {
            fresh,
            unchanged,
            failed,
            end,
        };
        if !send(Ok(prepared)) {
            return;
        }
        start = end;
    }
}

/// Stores `inputs` batch by batch: while one batch is written, the next is read and
/// extracted on another thread (through a second connection for its lookups).
pub(super) fn ingest(
    db: &mut dyn Db,
    extractor: &Extractor,
    batch_files: usize,
    inputs: &[Input],
    progress: &mut dyn FnMut(Progress),
) -> Result<IngestSummary, RegistryError> {
    let mut summary = IngestSummary {
        files: inputs.len(),
        ..IngestSummary::default()
    };
    let mut reader = db.reopen()?;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || {
            prepare(reader.as_mut(), extractor, batch_files, inputs, |p| {
                tx.send(p).is_ok()
            })
        });
        for prepared in rx {
            let p = prepared?;
            summary.unchanged += p.unchanged;
            summary.failed.extend(p.failed);
            store(db, extractor, p.fresh, &mut summary, None)?;
            progress(Progress {
                done: p.end,
                total: inputs.len(),
            });
        }
        Ok(summary)
    })
}

pub(super) fn ingest_objects(
    db: &mut dyn Db,
    extractor: &Extractor,
    objects: Vec<(String, Vec<u8>)>,
    skin: Option<&Settings>,
) -> Result<IngestSummary, RegistryError> {
    let mut summary = IngestSummary {
        files: objects.len(),
        ..IngestSummary::default()
    };
    let fresh = par_map(objects, |(label, bytes)| {
        let result = extractor.extract_bytes(&bytes);
        let (size, hash) = (bytes.len() as u64, hex(blake3::hash(&bytes)));
        Fresh::new(label, size, hash, Some(bytes), result, None)
    });
    store(db, extractor, fresh, &mut summary, skin)?;
    Ok(summary)
}

/// Stores one batch in one transaction and adds what it did to `summary`.
/// With `skin`, the skin doses of the procedures it changes are estimated and stored too.
fn store(
    db: &mut dyn Db,
    extractor: &Extractor,
    fresh: Vec<Fresh>,
    summary: &mut IngestSummary,
    skin: Option<&Settings>,
) -> Result<(), RegistryError> {
    let mut fresh = Some(fresh);
    let mut done = None;
    db.write(&mut |tx| {
        let fresh = fresh.take().ok_or_else(|| RegistryError::Corrupt {
            target: "ingest".into(),
            what: "batch".into(),
            message: "a batch was written twice".into(),
        })?;
        done = Some(store_batch(tx, extractor, fresh, skin)?);
        Ok(())
    })?;
    if let Some(d) = done {
        summary.new += d.new;
        summary.new_versions += d.new_versions;
        summary.unchanged += d.unchanged;
        summary.skipped += d.skipped;
        summary.unreadable += d.unreadable;
        summary.procedures_changed += d.changed.len();
        summary.changed_procedures.extend(d.changed);
        summary.batches += 1;
    }
    Ok(())
}

#[derive(Default)]
struct BatchDone {
    new: usize,
    new_versions: usize,
    unchanged: usize,
    skipped: usize,
    unreadable: usize,
    changed: Vec<String>,
}

/// The grouping links of a file with dose: its (patient, study), its SOP Instance UID and its
/// irradiation events. Files that share a link may end in one procedure, or change each
/// other's fate; files that share none cannot. A dose report's own events are not stored as
/// links: the `events` table holds their UIDs (indexed), and [`links_of`] reads them there.
#[derive(Default)]
struct Links {
    /// What `file_links` holds for the file.
    stored: Vec<String>,
    /// Every link, its report's events included.
    all: Vec<String>,
}

fn links(x: &Extraction) -> Links {
    let id = &x.identity;
    let mut stored = vec![match (&id.patient_id, &id.study_instance_uid) {
        (_, Some(s)) => format!("study:{s}"),
        (Some(p), None) => format!("patient:{p}"),
        (None, None) => "no_patient_no_study".to_owned(),
    }];
    if let Some(s) = &id.sop_instance_uid {
        stored.push(format!("sop:{s}"));
    }
    if let Some(i) = &x.image {
        stored.extend(
            i.irradiation_event_uids
                .iter()
                .map(|u| format!("{EVENT}{u}")),
        );
    }
    stored.sort();
    stored.dedup();
    let mut all = stored.clone();
    if let Some(r) = &x.report {
        all.extend(
            r.events
                .iter()
                .filter_map(|e| Some(format!("{EVENT}{}", e.uid.as_ref()?))),
        );
        all.sort();
        all.dedup();
    }
    Links { stored, all }
}

/// The prefix of an irradiation-event link.
const EVENT: &str = "event:";

/// Files (by id) that hold one of `links`: in `file_links`, or, for an event, in `events`.
fn files_with(
    tx: &mut dyn Tx,
    links: &[String],
    out: &mut BTreeSet<i64>,
) -> Result<(), RegistryError> {
    let events: Vec<&str> = links.iter().filter_map(|l| l.strip_prefix(EVENT)).collect();
    let mut add = |r: Vec<Val>| {
        out.extend(r.first().and_then(Val::int));
        Ok(())
    };
    for chunk in links.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT file_id FROM file_links WHERE link IN ({})",
            placeholders(chunk.len())
        );
        let params: Vec<Val> = chunk.iter().map(|l| Val::from(l.as_str())).collect();
        tx.query(&sql, &params, &mut add)?;
    }
    for chunk in events.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT file_id FROM events WHERE uid IN ({})",
            placeholders(chunk.len())
        );
        let params: Vec<Val> = chunk.iter().map(|&u| Val::from(u)).collect();
        tx.query(&sql, &params, &mut add)?;
    }
    Ok(())
}

/// The links of the files `ids`: those `file_links` holds, and their reports' events.
fn links_of(
    tx: &mut dyn Tx,
    ids: &[i64],
    out: &mut dyn FnMut(String),
) -> Result<(), RegistryError> {
    for chunk in ids.chunks(IN_CHUNK) {
        let params: Vec<Val> = chunk.iter().map(|&i| Val::Int(i)).collect();
        let sql = format!(
            "SELECT link FROM file_links WHERE file_id IN ({})",
            placeholders(chunk.len())
        );
        tx.query(&sql, &params, &mut |mut r| {
            if let Some(l) = r.pop().and_then(Val::into_text) {
                out(l);
            }
            Ok(())
        })?;
        let sql = format!(
            "SELECT uid FROM events WHERE uid IS NOT NULL AND file_id IN ({})",
            placeholders(chunk.len())
        );
        tx.query(&sql, &params, &mut |mut r| {
            if let Some(u) = r.pop().and_then(Val::into_text) {
                out(format!("{EVENT}{u}"));
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Whether a result takes part in grouping.
fn groups(result: &Result<Extraction, Error>, skip: Option<Skip>) -> bool {
    skip.is_none() && matches!(result, Ok(x) if x.outcome == Outcome::Dose)
}

/// A procedure's key: its (Patient ID, Study Instance UID), hashed.
pub(crate) fn procedure_key(patient: Option<&str>, study: Option<&str>) -> String {
    let text = format!("{patient:?}\u{1f}{study:?}");
    let hash = blake3::hash(text.as_bytes()).to_hex();
    format!("K{}", &hash.as_str()[..20])
}

/// `?1, ?2, …, ?n`: a prefix of one list made once.
pub(super) fn placeholders(n: usize) -> &'static str {
    static LIST: std::sync::OnceLock<(String, Vec<usize>)> = std::sync::OnceLock::new();
    let (text, ends) = LIST.get_or_init(|| {
        let mut text = String::new();
        let mut ends = vec![0];
        for i in 1..=IN_CHUNK.max(64) {
            if i > 1 {
                text.push_str(", ");
            }
            text.push_str(&format!("?{i}"));
            ends.push(text.len());
        }
        (text, ends)
    });
    debug_assert!(n < ends.len(), "IN lists are chunked");
    &text[..ends[n.min(ends.len() - 1)]]
}

/// Current files (not in `exclude`) that share a link with `links`, and theirs, to closure.
fn component(
    tx: &mut dyn Tx,
    mut pending: BTreeSet<String>,
) -> Result<BTreeSet<i64>, RegistryError> {
    let mut seen_links: HashSet<String> = HashSet::new();
    let mut files: BTreeSet<i64> = BTreeSet::new();
    while !pending.is_empty() {
        let batch: Vec<String> = pending
            .iter()
            .filter(|l| !seen_links.contains(*l))
            .cloned()
            .collect();
        pending.clear();
        // Files with these links, then those of them that are current: index lookups, not
        // a join (which lets PostgreSQL's planner scan whole tables it has no statistics of
        // yet).
        let mut linked = BTreeSet::new();
        files_with(tx, &batch, &mut linked)?;
        let linked: Vec<i64> = linked
            .into_iter()
            .filter(|id| !files.contains(id))
            .collect();
        let mut found = Vec::new();
        for chunk in linked.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT id FROM files WHERE is_current = 1 AND id IN ({})",
                placeholders(chunk.len())
            );
            let params: Vec<Val> = chunk.iter().map(|&i| Val::Int(i)).collect();
            tx.query(&sql, &params, &mut |r| {
                if let Some(id) = r.first().and_then(Val::int)
                    && files.insert(id)
                {
                    found.push(id);
                }
                Ok(())
            })?;
        }
        seen_links.extend(batch);
        links_of(tx, &found, &mut |l| {
            if !seen_links.contains(&l) {
                pending.insert(l);
            }
        })?;
    }
    Ok(files)
}

/// A stored file of a component.
struct Member {
    id: i64,
    path: String,
    fate: (String, Option<String>, Option<String>),
}

/// What grouping said of a file: fate code, what it refers to, procedure key.
type FateCols = (String, Option<String>, Option<String>);

fn fate_cols(fate: &Fate, procedure_key: Option<String>) -> FateCols {
    let of = match fate {
        Fate::DuplicateOf(l) | Fate::SupersededBy(l) => Some(l.clone()),
        Fate::Skipped(s) => Some(s.to_string()),
        _ => None,
    };
    (fate.code().to_owned(), of, procedure_key)
}

fn store_batch(
    tx: &mut dyn Tx,
    extractor: &Extractor,
    fresh: Vec<Fresh>,
    skin: Option<&Settings>,
) -> Result<BatchDone, RegistryError> {
    let now = time::now();
    let mut done = BatchDone::default();
    // Which inputs are new, which replace a stored version, which are already stored (by a
    // writer that committed since they were looked up, or twice in this batch).
    let mut seen: HashSet<String> = HashSet::new();
    let mut adds: Vec<(Fresh, Option<i64>)> = Vec::new();
    let mut replaced: Vec<i64> = Vec::new();
    let labels: Vec<&str> = fresh.iter().map(|f| f.label.as_str()).collect();
    let mut stored_now = current(tx, &labels)?;
    for f in fresh {
        if !seen.insert(f.label.clone()) {
            done.unchanged += 1;
            continue;
        }
        match stored_now.remove(&f.label) {
            Some((_, hash)) if hash == f.hash => done.unchanged += 1,
            Some((id, _)) => {
                replaced.push(id);
                adds.push((f, Some(id)));
            }
            None => adds.push((f, None)),
        }
    }
    if adds.is_empty() {
        return Ok(done);
    }
    // Old versions leave grouping; their links still name what they belonged to.
    let mut pending: BTreeSet<String> = BTreeSet::new();
    let mut old_keys: BTreeSet<String> = BTreeSet::new();
    let mut versions: HashMap<i64, i64> = HashMap::new();
    for &id in &replaced {
        tx.exec(
            "UPDATE files SET is_current = 0, replaced_at = ?1 WHERE id = ?2",
            &[Val::from(now.as_str()), Val::Int(id)],
        )?;
        links_of(tx, &[id], &mut |l| {
            pending.insert(l);
        })?;
        tx.query(
            "SELECT procedure_key, version FROM files WHERE id = ?1",
            &[Val::Int(id)],
            &mut |r| {
                old_keys.extend(r.first().and_then(Val::text).map(str::to_owned));
                if let Some(v) = r.get(1).and_then(Val::int) {
                    versions.insert(id, v);
                }
                Ok(())
            },
        )?;
    }
    let fresh_links: Vec<Vec<String>> = adds
        .iter_mut()
        .map(|(f, _)| {
            let l = std::mem::take(&mut f.links);
            pending.extend(l.all);
            l.stored
        })
        .collect();
    let members_ids = component(tx, pending)?;
    // The stored members, read again from their bytes.
    let mut members: Vec<(Member, Result<Extraction, Error>)> = Vec::new();
    let mut damaged: Option<RegistryError> = None;
    let ids: Vec<i64> = members_ids.into_iter().collect();
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT id, path, fate, fate_of, procedure_key, size_bytes, content FROM files WHERE id IN ({})",
            placeholders(chunk.len())
        );
        let params: Vec<Val> = chunk.iter().map(|&i| Val::Int(i)).collect();
        let mut raw = Vec::new();
        tx.query(&sql, &params, &mut |r| {
            raw.push(r);
            Ok(())
        })?;
        let read = par_map(raw, |r| {
            let mut it = r.into_iter();
            let id = it.next().and_then(|v| v.int()).unwrap_or_default();
            let path = it.next().and_then(Val::into_text).unwrap_or_default();
            let fate = it.next().and_then(Val::into_text).unwrap_or_default();
            let of = it.next().and_then(Val::into_text);
            let key = it.next().and_then(Val::into_text);
            let size = it.next().and_then(|v| v.int()).unwrap_or_default();
            let stored = it.next().and_then(Val::into_blob).unwrap_or_default();
            let result = unpack(&stored, size.max(0) as u64, &path)
                .map(|content| extractor.extract_bytes(&content));
            (
                Member {
                    id,
                    path,
                    fate: (fate, of, key),
                },
                result,
            )
        });
        for (m, r) in read {
            match r {
                Ok(result) => members.push((m, result)),
                Err(e) => damaged = Some(e),
            }
        }
    }
    if let Some(e) = damaged {
        return Err(e);
    }
    for (m, _) in &members {
        old_keys.extend(m.fate.2.clone());
    }
    let mut fresh_rows = Vec::with_capacity(adds.len());
    // Group the component: the stored members and the new files with dose.
    let mut grouping = Procedures::new();
    let mut skin_inputs = SkinInputs::default();
    let mut keep = |label: &str, result: &Result<Extraction, Error>| {
        if let (Some(_), Ok(x)) = (skin, result) {
            skin_inputs.add(label, x);
        }
    };
    let members: Vec<Member> = members
        .into_iter()
        .map(|(m, result)| {
            keep(&m.path, &result);
            grouping.add(m.path.clone(), result);
            m
        })
        .collect();
    let mut fresh_fates: Vec<Option<FateCols>> = Vec::with_capacity(adds.len());
    let mut adds: Vec<Added> = adds
        .into_iter()
        .map(|(f, replaces)| {
            let grouped = groups(&f.result, f.skip);
            let fate = match (&f.result, f.skip) {
                _ if grouped => None,
                (_, Some(s)) => Some(fate_cols(&Fate::Skipped(s), None)),
                (Err(_), None) => Some(("error".to_owned(), None, None)),
                (Ok(x), None) if x.outcome == Outcome::Unsupported => {
                    Some(fate_cols(&Fate::Unsupported, None))
                }
                _ => Some(fate_cols(&Fate::NoDose, None)),
            };
            fresh_fates.push(fate);
            let unreadable = f.result.is_err();
            fresh_rows.push(f.rows);
            if grouped {
                keep(&f.label, &f.result);
                grouping.add(f.label.clone(), f.result);
            }
            Added {
                label: f.label,
                size: f.size,
                hash: f.hash,
                content: f.content,
                skipped: f.skip.is_some(),
                unreadable,
                replaces,
            }
        })
        .collect();
    let set = grouping.finish();
    let key_of_id: HashMap<&str, String> = set
        .procedures
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                procedure_key(p.patient_id.as_deref(), p.study_instance_uid.as_deref()),
            )
        })
        .collect();
    let fate_of_label: HashMap<&str, FateCols> = set
        .files
        .iter()
        .map(|a| {
            let key = a
                .procedure
                .as_deref()
                .and_then(|id| key_of_id.get(id).cloned());
            (a.label.as_str(), fate_cols(&a.fate, key))
        })
        .collect();
    // Procedures: replace those whose stored form changed, remove those that are gone.
    let new_procs: Vec<(String, crate::Procedure)> = set
        .procedures
        .iter()
        .map(|p| {
            let key = key_of_id.get(p.id.as_str()).cloned().unwrap_or_default();
            (key.clone(), stored(p, &key))
        })
        .collect();
    let mut all_keys: BTreeSet<String> = old_keys.clone();
    all_keys.extend(new_procs.iter().map(|(k, _)| k.clone()));
    let keys: Vec<String> = all_keys.iter().cloned().collect();
    let mut old_detail: HashMap<String, String> = HashMap::new();
    for chunk in keys.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT procedure_key, detail FROM procedures WHERE procedure_key IN ({})",
            placeholders(chunk.len())
        );
        let params: Vec<Val> = chunk.iter().map(|k| Val::from(k.as_str())).collect();
        tx.query(&sql, &params, &mut |mut r| {
            let d = r.pop().and_then(Val::into_text);
            let k = r.pop().and_then(Val::into_text);
            if let (Some(k), Some(d)) = (k, d) {
                old_detail.insert(k, d);
            }
            Ok(())
        })?;
    }
    let mut proc_rows = Vec::new();
    let mut plane_rows = Vec::new();
    let mut room_rows: HashMap<String, Vec<Val>> = HashMap::new();
    let new_keys: HashSet<&str> = new_procs.iter().map(|(k, _)| k.as_str()).collect();
    let mut skin_work = Vec::new();
    for (key, p) in &new_procs {
        let d = detail(p)?;
        if old_detail.get(key) == Some(&d) {
            continue;
        }
        if old_detail.contains_key(key) {
            tx.exec(
                "DELETE FROM procedures WHERE procedure_key = ?1",
                &[Val::from(key.as_str())],
            )?;
        }
        done.changed.push(key.clone());
        if skin.is_some()
            && let Some(input) = skin_inputs.procedure(p)
        {
            skin_work.push(SkinWork::new(key.clone(), now.clone(), input));
        }
        proc_rows.push(procedure_row(p, d, &now));
        plane_rows.extend(procedure_plane_rows(p));
        room_rows.insert(p.room.key.clone(), room_row(p, &now));
    }
    for key in old_detail.keys() {
        if !new_keys.contains(key.as_str()) {
            tx.exec(
                "DELETE FROM procedures WHERE procedure_key = ?1",
                &[Val::from(key.as_str())],
            )?;
            done.changed.push(key.clone());
        }
    }
    tx.insert("procedures", PROCEDURE_COLUMNS, proc_rows)?;
    tx.insert("procedure_planes", PROCEDURE_PLANE_COLUMNS, plane_rows)?;
    if let Some(settings) = skin {
        let estimated = estimate_work(skin_work, settings);
        store_skin(tx, &estimated, &now)?;
    }
    for (_, row) in room_rows {
        let set_cols: Vec<String> = ROOM_COLUMNS[1..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let sql = format!(
            "INSERT INTO rooms ({}) VALUES ({}) ON CONFLICT (room_key) DO UPDATE SET {}",
            ROOM_COLUMNS.join(", "),
            placeholders(ROOM_COLUMNS.len()),
            set_cols.join(", ")
        );
        tx.exec(&sql, &row)?;
    }
    // Fates of the stored members that changed.
    let mut history = Vec::new();
    for m in &members {
        if let Some(new) = fate_of_label.get(m.path.as_str())
            && *new != m.fate
        {
            tx.exec(
                "UPDATE files SET fate = ?1, fate_of = ?2, procedure_key = ?3, fate_since = ?4 \
                 WHERE id = ?5",
                &[
                    Val::from(new.0.as_str()),
                    Val::from(new.1.clone()),
                    Val::from(new.2.clone()),
                    Val::from(now.as_str()),
                    Val::Int(m.id),
                ],
            )?;
            history.push(vec![
                Val::Int(m.id),
                Val::from(new.0.as_str()),
                Val::from(new.1.clone()),
                Val::from(new.2.clone()),
                Val::from(now.as_str()),
            ]);
        }
    }
    // The new files, their links and their rows.
    let last_id = rows(tx, "SELECT COALESCE(MAX(id), 0) FROM files", &[])?
        .first()
        .and_then(|r| r.first())
        .and_then(Val::int)
        .unwrap_or(0);
    let mut file_rows = Vec::new();
    let (mut link_rows, mut planes, mut events, mut images) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let adds_iter = adds
        .drain(..)
        .zip(fresh_fates)
        .zip(fresh_links)
        .zip(fresh_rows);
    for (n, (((f, fate), file_links), r)) in (1..).zip(adds_iter) {
        let replaces = f.replaces;
        let id = last_id + n;
        let fate = match fate {
            Some(f) => f,
            None => fate_of_label
                .get(f.label.as_str())
                .cloned()
                .unwrap_or_else(|| ("no_dose".to_owned(), None, None)),
        };
        match replaces {
            Some(_) => done.new_versions += 1,
            None => done.new += 1,
        }
        if f.skipped {
            done.skipped += 1;
        } else if f.unreadable {
            done.unreadable += 1;
        }
        let version = replaces.and_then(|r| versions.get(&r)).map_or(1, |v| v + 1);
        let mut row = vec![
            Val::Int(id),
            Val::from(f.label.as_str()),
            Val::from(f.size),
            Val::from(f.hash.as_str()),
            Val::Int(version),
            Val::Int(1),
            Val::from(now.as_str()),
            Val::Null,
        ];
        row.extend(r.file);
        row.extend([
            Val::from(fate.0.as_str()),
            Val::from(fate.1.clone()),
            Val::from(fate.2.clone()),
            Val::from(now.as_str()),
            f.content.map_or(Val::Null, Val::Blob),
        ]);
        file_rows.push(row);
        history.push(vec![
            Val::Int(id),
            Val::from(fate.0),
            Val::from(fate.1),
            Val::from(fate.2),
            Val::from(now.as_str()),
        ]);
        link_rows.extend(
            file_links
                .into_iter()
                .map(|l| vec![Val::Int(id), Val::from(l)]),
        );
        for p in r.planes {
            planes.push([vec![Val::Int(id)], p].concat());
        }
        for (i, e) in r.events.into_iter().enumerate() {
            events.push([vec![Val::Int(id), Val::from(i)], e].concat());
        }
        if let Some(im) = r.image {
            images.push([vec![Val::Int(id)], im].concat());
        }
    }
    let mut file_columns = vec![
        "id",
        "path",
        "size_bytes",
        "content_hash",
        "version",
        "is_current",
        "ingested_at",
        "replaced_at",
    ];
    file_columns.extend(FILE_COLUMNS);
    file_columns.extend(["fate", "fate_of", "procedure_key", "fate_since", "content"]);
    tx.insert("files", &file_columns, file_rows)?;
    tx.insert("file_links", &["file_id", "link"], link_rows)?;
    tx.insert(
        "fate_history",
        &["file_id", "fate", "fate_of", "procedure_key", "since"],
        history,
    )?;
    let with = |first: &[&'static str], rest: &[&'static str]| -> Vec<&'static str> {
        first.iter().chain(rest).copied().collect()
    };
    tx.insert("planes", &with(&["file_id"], PLANE_COLUMNS), planes)?;
    tx.insert(
        "events",
        &with(&["file_id", "event_index"], EVENT_COLUMNS),
        events,
    )?;
    tx.insert("images", &with(&["file_id"], IMAGE_COLUMNS), images)?;
    Ok(done)
}

/// A new file or version, once its result has gone to grouping.
struct Added {
    label: String,
    size: u64,
    hash: String,
    content: Option<Vec<u8>>,
    skipped: bool,
    unreadable: bool,
    replaces: Option<i64>,
}
