//! Failures that need the backend's hands: a full disk.

use super::sqlite::Sqlite;
use super::{Registry, RegistryError};

/// The database file reaches its size limit mid-batch (SQLite's `max_page_count`, as a full
/// disk does): a typed error, nothing of the batch stored, and the ingest completes later.
#[test]
fn a_full_disk_rolls_the_batch_back() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("kerma.db");
    let inputs = crate::walk_inputs(&[concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")]);
    {
        // The schema takes about 30 pages; the files do not fit in 60.
        let db = Sqlite::open(&path)?;
        let mut registry = Registry::with_db(Box::new(db))?;
        let full = Sqlite::open(&path)?;
        full.connection()
            .pragma_update(None, "max_page_count", 60)?;
        registry.db = Box::new(full);
        match registry.ingest(&inputs, |_| {}) {
            Err(e @ RegistryError::Full { .. }) => {
                assert!(e.to_string().contains("rolled back"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        let mut files = 1;
        registry.db.read(&mut |tx| {
            let r = super::db::rows(tx, "SELECT COUNT(*) FROM files", &[])?;
            files = r[0][0].int().unwrap_or(-1);
            Ok(())
        })?;
        assert_eq!(files, 0, "nothing of the batch remains");
    }
    let mut registry = Registry::open(path.to_str().ok_or("path")?)?;
    let s = registry.ingest(&inputs, |_| {})?;
    assert_eq!(s.new, inputs.len());
    Ok(())
}
