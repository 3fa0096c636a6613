//! Where received objects go: the [`ObjectStore`] trait, and the [`Spool`], a folder of
//! durable files that stands in for a store that is down (or absent) and is drained into it
//! when it comes back.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One object as received: a DICOM Part 10 file (preamble, file meta group, data set) whose
/// data set ends before Pixel Data when it had pixels (kerma reads headers only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedObject {
    /// A label naming it, unique per object: `dicom://CALLING_AE/SOP_INSTANCE_UID`.
    pub label: String,
    /// The calling AE title of the association that brought it.
    pub calling_ae: String,
    /// Affected SOP Class UID of its C-STORE-RQ.
    pub sop_class: String,
    /// Affected SOP Instance UID of its C-STORE-RQ.
    pub sop_instance: String,
    /// Its transfer syntax (the presentation context's).
    pub transfer_syntax: String,
    /// Whether its SOP class is one kerma reads for dose; other objects (accepted with
    /// `promiscuous`) are stored, not parsed as dose.
    pub dose_class: bool,
    /// Whether the data set was cut at Pixel Data (7FE0,0010).
    pub cut_at_pixel_data: bool,
    /// The Part 10 bytes.
    pub bytes: Vec<u8>,
}

/// A trigger level reached by an arriving object, as the store found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// One line for a log: what, whose, how much against which level.
    pub summary: String,
    /// The alert as a JSON document, handed to the `--on-alert` command on its stdin.
    pub json: String,
}

/// What a store reports for a batch it made durable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOutcome {
    /// Trigger levels the batch made a procedure or a patient's cumulative sum reach.
    pub alerts: Vec<Alert>,
    /// Whether the batch went to the spool rather than to the store itself.
    pub spooled: bool,
    /// What the batch changed, in the store's own terms (the registry: the keys of the
    /// procedures it created or changed): handed to [`ObjectStore::alerts`] once the
    /// batch's senders have their responses.
    pub changed: Vec<String>,
}

/// Why a batch was not stored; nothing of it is durable.
#[derive(Debug)]
pub enum StoreError {
    /// The store cannot be reached or written now (a spool may take the batch).
    Unavailable(String),
    /// The store refused the batch for good (a spool would not help).
    Refused(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(why) => write!(f, "store unavailable: {why}"),
            StoreError::Refused(why) => write!(f, "store refused the objects: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A durable store of received objects. The receiver sends a C-STORE success only once
/// [`store_batch`](ObjectStore::store_batch) has returned `Ok` for the batch holding the
/// object.
///
/// ```
/// use kerma::net::{ObjectStore, ReceivedObject, StoreError, StoreOutcome};
/// /// Keeps nothing: refuses every batch, so every sender is told so.
/// struct Refuse;
/// impl ObjectStore for Refuse {
///     fn store_batch(&self, _: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
///         Err(StoreError::Refused("read-only".into()))
///     }
/// }
/// assert!(Refuse.store_batch(&[]).is_err());
/// ```
pub trait ObjectStore: Send + Sync {
    /// Stores every object durably, or none; returns once they are durable.
    fn store_batch(&self, objects: &[ReceivedObject]) -> Result<StoreOutcome, StoreError>;

    /// The trigger levels reached through what batches changed ([`StoreOutcome::changed`]
    /// of one or more batches, merged): called after their senders were answered, so that
    /// evaluating alerts never delays a response. None by default.
    fn alerts(&self, changed: &[String]) -> Vec<Alert> {
        let _ = changed;
        Vec::new()
    }
}

/// A folder of received objects, as append-only journal segments. A batch is appended to
/// the current segment as one record (magic, length, CRC-32, the objects) and flushed with
/// one `fdatasync`: one flush per batch whatever its size. A segment is created (and the
/// folder flushed) once per [`SEGMENT_BYTES`]. A record that fails its length or CRC check
/// is a write that never completed (its objects were never acknowledged): reading stops
/// there, and nothing is appended after a failed write. Segments are named
/// `<time ns>-<sequence>.journal`, so that reading them by name replays arrival order.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    sequence: AtomicU64,
    /// The segment being appended to; also serialises draining with writing.
    current: Mutex<Option<Segment>>,
}

#[derive(Debug)]
struct Segment {
    file: File,
    len: u64,
}

/// Size after which a new segment is started (a drained segment is one store batch).
pub const SEGMENT_BYTES: u64 = 16 << 20;
/// Extension of a journal segment.
const SPOOLED: &str = "journal";
/// Magic of each record.
const RECORD_MAGIC: &[u8; 4] = b"KJR1";

impl Spool {
    /// Opens (and creates) the spool folder `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Spool> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Spool {
            dir,
            sequence: AtomicU64::new(0),
            current: Mutex::new(None),
        })
    }

    /// The spool folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal segments, oldest first.
    pub fn files(&self) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == SPOOLED) {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// The whole batches of a segment, in order (a torn last record is left out).
    pub fn read_segment(path: &Path) -> io::Result<Vec<Vec<ReceivedObject>>> {
        let bytes = fs::read(path)?;
        let mut rest = bytes.as_slice();
        let mut batches = Vec::new();
        while let Some((payload, tail)) = next_record(rest) {
            let batch = parse_batch(payload).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: a record whose CRC holds is not a batch",
                        path.display()
                    ),
                )
            })?;
            batches.push(batch);
            rest = tail;
        }
        Ok(batches)
    }

    /// Every spooled batch, oldest first.
    pub fn batches(&self) -> io::Result<Vec<Vec<ReceivedObject>>> {
        let mut all = Vec::new();
        for f in self.files()? {
            all.extend(Spool::read_segment(&f)?);
        }
        Ok(all)
    }

    /// Every spooled object, oldest first.
    pub fn objects(&self) -> io::Result<Vec<ReceivedObject>> {
        Ok(self.batches()?.into_iter().flatten().collect())
    }

    fn new_segment(&self) -> io::Result<Segment> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{now:020}-{n:08}.{SPOOLED}"));
        let file = File::options().create_new(true).append(true).open(&path)?;
        // The new name must survive a crash before any record in it counts.
        File::open(&self.dir)?.sync_all()?;
        Ok(Segment { file, len: 0 })
    }

    /// Appends `objects` as one record and flushes it (`fdatasync`).
    pub fn write_batch(&self, objects: &[ReceivedObject]) -> io::Result<()> {
        let payload = batch_record(objects);
        let mut crc = flate2::Crc::new();
        crc.update(&payload);
        let mut record = Vec::with_capacity(payload.len() + 16);
        record.extend_from_slice(RECORD_MAGIC);
        record.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        record.extend_from_slice(&crc.sum().to_le_bytes());
        record.extend_from_slice(&payload);
        drop(payload);
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_none_or(|s| s.len >= SEGMENT_BYTES) {
            *current = Some(self.new_segment()?);
        }
        let Some(segment) = current.as_mut() else {
            return Err(io::Error::other("no segment")); // ok: set just above
        };
        let written = segment
            .file
            .write_all(&record)
            .and_then(|()| segment.file.sync_data());
        match written {
            Ok(()) => {
                segment.len += record.len() as u64;
                Ok(())
            }
            Err(e) => {
                // The segment may end in a torn record now: never append after it.
                *current = None;
                Err(e)
            }
        }
    }

    /// Moves spooled objects into `store`, oldest segment first, one `store_batch` per
    /// segment (all its objects or none); a segment is removed only after the store has made
    /// its objects durable. Writing waits meanwhile, and starts a new segment after. Returns
    /// how many objects were moved and the alerts the store raised; stops at the first
    /// error.
    pub fn drain_into(&self, store: &dyn ObjectStore) -> Result<(usize, Vec<Alert>), StoreError> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        *current = None;
        let files = self
            .files()
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", self.dir.display())))?;
        let mut moved = 0;
        let mut alerts = Vec::new();
        for path in files {
            let objects: Vec<ReceivedObject> = match Spool::read_segment(&path) {
                Ok(b) => b.into_iter().flatten().collect(),
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(StoreError::Refused(e.to_string()));
                }
                Err(e) => {
                    return Err(StoreError::Unavailable(format!("{}: {e}", path.display())));
                }
            };
            if !objects.is_empty() {
                let outcome = store.store_batch(&objects)?;
                alerts.extend(outcome.alerts);
                if !outcome.changed.is_empty() {
                    alerts.extend(store.alerts(&outcome.changed));
                }
            }
            fs::remove_file(&path)
                .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
            moved += objects.len();
        }
        Ok((moved, alerts))
    }
}

/// The payload of the first whole record of `bytes` and what follows it; `None` at the end
/// or at a torn or damaged record.
fn next_record(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = bytes.strip_prefix(RECORD_MAGIC)?;
    let (len, rest) = rest.split_first_chunk::<8>()?;
    let (crc, rest) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
    let payload = rest.get(..len)?;
    let mut c = flate2::Crc::new();
    c.update(payload);
    (c.sum() == u32::from_le_bytes(*crc)).then(|| (payload, &rest[len..]))
}

impl ObjectStore for Spool {
    fn store_batch(&self, objects: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
        self.write_batch(objects)
            .map_err(|e| StoreError::Unavailable(format!("spool {}: {e}", self.dir.display())))?;
        Ok(StoreOutcome {
            spooled: true,
            ..StoreOutcome::default()
        })
    }
}

/// A store with a spool behind it: a batch the store cannot take now goes to the spool
/// (and is durable there); [`catch_up`](Fallback::catch_up) moves the spool into the store.
pub struct Fallback {
    /// The store.
    pub store: Box<dyn ObjectStore>,
    /// Its spool.
    pub spool: Spool,
}

impl fmt::Debug for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fallback")
            .field("spool", &self.spool)
            .finish_non_exhaustive()
    }
}

impl Fallback {
    /// Moves what the spool holds into the store (see [`Spool::drain_into`]).
    pub fn catch_up(&self) -> Result<(usize, Vec<Alert>), StoreError> {
        self.spool.drain_into(self.store.as_ref())
    }

    /// On a thread of its own, calls [`catch_up`](Fallback::catch_up) every `every` while
    /// the spool holds anything, until `stop` is set; `report` hears each attempt that moved
    /// objects or failed.
    pub fn spawn_catch_up(
        self: Arc<Self>,
        every: Duration,
        stop: Arc<AtomicBool>,
        report: impl Fn(Result<(usize, Vec<Alert>), StoreError>) + Send + 'static,
    ) -> io::Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("kerma-catch-up".into())
            .spawn(move || {
                let step = every.min(Duration::from_millis(100));
                let mut waited = Duration::ZERO;
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(step);
                    waited += step;
                    if waited < every {
                        continue;
                    }
                    waited = Duration::ZERO;
                    if self.spool.files().is_ok_and(|f| f.is_empty()) {
                        continue;
                    }
                    match self.catch_up() {
                        Ok((0, _)) => {}
                        other => report(other),
                    }
                }
            })
    }
}

impl ObjectStore for Fallback {
    fn store_batch(&self, objects: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
        match self.store.store_batch(objects) {
            Err(StoreError::Unavailable(_)) => self.spool.store_batch(objects),
            other => other,
        }
    }

    fn alerts(&self, changed: &[String]) -> Vec<Alert> {
        self.store.alerts(changed)
    }
}

/// Magic of a spool file: a count of objects, then each with its provenance and its Part 10
/// bytes.
const SPOOL_MAGIC: &[u8; 8] = b"KERMASP2";

/// A spool file: magic, u32 object count, then each object as a u64 length and its record.
fn batch_record(objects: &[ReceivedObject]) -> Vec<u8> {
    let records: Vec<Vec<u8>> = objects.iter().map(spool_record).collect();
    let mut out = Vec::with_capacity(12 + records.iter().map(|r| r.len() + 8).sum::<usize>());
    out.extend_from_slice(SPOOL_MAGIC);
    out.extend_from_slice(&(objects.len() as u32).to_le_bytes());
    for r in records {
        out.extend_from_slice(&(r.len() as u64).to_le_bytes());
        out.extend_from_slice(&r);
    }
    out
}

fn parse_batch(bytes: &[u8]) -> Option<Vec<ReceivedObject>> {
    let rest = bytes.strip_prefix(SPOOL_MAGIC)?;
    let (count, mut rest) = rest.split_first_chunk::<4>()?;
    let count = u32::from_le_bytes(*count) as usize;
    // Each record is at least 30 bytes: no count the file cannot hold is believed.
    if count > rest.len() / 30 + 1 {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<8>()?;
        let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
        out.push(parse_spool_record(tail.get(..len)?)?);
        rest = tail.get(len..)?;
    }
    rest.is_empty().then_some(out)
}

/// One object of a spool file: the label, calling AE, SOP class, SOP instance and transfer
/// syntax as u32-length-prefixed UTF-8, two flag bytes, then the Part 10 bytes.
fn spool_record(o: &ReceivedObject) -> Vec<u8> {
    let texts = [
        &o.label,
        &o.calling_ae,
        &o.sop_class,
        &o.sop_instance,
        &o.transfer_syntax,
    ];
    let mut out =
        Vec::with_capacity(2 + texts.iter().map(|t| t.len() + 4).sum::<usize>() + o.bytes.len());
    for t in texts {
        out.extend_from_slice(&(t.len() as u32).to_le_bytes());
        out.extend_from_slice(t.as_bytes());
    }
    out.push(u8::from(o.dose_class));
    out.push(u8::from(o.cut_at_pixel_data));
    out.extend_from_slice(&o.bytes);
    out
}

fn parse_spool_record(bytes: &[u8]) -> Option<ReceivedObject> {
    let mut rest = bytes;
    let mut text = || {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        let (t, tail) = (tail.get(..len)?, tail.get(len..)?);
        rest = tail;
        String::from_utf8(t.to_vec()).ok()
    };
    let (label, calling_ae, sop_class, sop_instance, transfer_syntax) =
        (text()?, text()?, text()?, text()?, text()?);
    let (flags, bytes) = rest.split_first_chunk::<2>()?;
    Some(ReceivedObject {
        label,
        calling_ae,
        sop_class,
        sop_instance,
        transfer_syntax,
        dose_class: flags[0] == 1,
        cut_at_pixel_data: flags[1] == 1,
        bytes: bytes.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(n: u32) -> ReceivedObject {
        ReceivedObject {
            label: format!("dicom://SCU/1.2.{n}"),
            calling_ae: "SCU".into(),
            sop_class: "1.2.840.10008.5.1.4.1.1.88.67".into(),
            sop_instance: format!("1.2.{n}"),
            transfer_syntax: "1.2.840.10008.1.2.1".into(),
            dose_class: true,
            cut_at_pixel_data: n.is_multiple_of(2),
            bytes: vec![n as u8; 300 + n as usize],
        }
    }

    #[test]
    fn spool_record_round_trips_and_rejects_damage() {
        let batch = vec![object(5), object(6)];
        let r = batch_record(&batch);
        assert_eq!(parse_batch(&r), Some(batch));
        for cut in 0..r.len() {
            assert_eq!(parse_batch(&r[..cut]), None, "cut at {cut}");
        }
    }

    /// Records what it is given; fails while `down` is set.
    struct Memory {
        down: std::sync::atomic::AtomicBool,
        got: Mutex<Vec<ReceivedObject>>,
    }

    impl ObjectStore for Memory {
        fn store_batch(&self, objects: &[ReceivedObject]) -> Result<StoreOutcome, StoreError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable("down".into()));
            }
            self.got.lock().unwrap().extend_from_slice(objects);
            Ok(StoreOutcome::default())
        }
    }

    #[test]
    fn fallback_spools_while_down_then_catches_up_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let fb = Fallback {
            store: Box::new(Memory {
                down: true.into(),
                got: Mutex::new(vec![]),
            }),
            spool: Spool::open(dir.path()).unwrap(),
        };
        let batch: Vec<_> = (0..5).map(object).collect();
        assert!(fb.store_batch(&batch[..3]).unwrap().spooled);
        assert!(fb.store_batch(&batch[3..]).unwrap().spooled);
        assert_eq!(fb.spool.files().unwrap().len(), 1);
        assert_eq!(fb.spool.batches().unwrap().len(), 2);
        assert_eq!(fb.spool.objects().unwrap(), batch);
        // Still down: nothing moves, nothing is lost.
        assert!(fb.catch_up().is_err());
        assert_eq!(fb.spool.objects().unwrap(), batch);
        // A torn record at the end of the segment (a write that never completed) is not
        // read, and what was written before it is.
        let segment = fb.spool.files().unwrap().remove(0);
        let whole = fs::read(&segment).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(&whole[..whole.len() / 3]);
        fs::write(&segment, &torn).unwrap();
        let reopened = Spool::open(dir.path()).unwrap();
        assert_eq!(reopened.objects().unwrap(), batch);
        let mut damaged = whole.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        fs::write(&segment, &damaged).unwrap();
        assert_eq!(reopened.objects().unwrap(), batch[..3]);
        fs::write(&segment, &torn).unwrap();
        // `store` is a Box<dyn ObjectStore>: bring it up through a fresh Memory instead.
        let up = Memory {
            down: false.into(),
            got: Mutex::new(vec![]),
        };
        let (moved, _) = reopened.drain_into(&up).unwrap();
        assert_eq!(moved, 5);
        assert_eq!(*up.got.lock().unwrap(), batch);
        assert!(reopened.files().unwrap().is_empty());
    }
}
