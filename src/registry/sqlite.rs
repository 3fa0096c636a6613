//! The SQLite backend (rusqlite, SQLite bundled): one file, write-ahead log, a busy timeout so
//! that concurrent writers wait for each other, `synchronous = FULL` so that a committed batch
//! survives a power cut.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::RegistryError;
use super::db::{Access, Db, Dialect, Tx, Val};

/// How long a writer waits for another's batch before giving up, and how often it looks.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
const BUSY_POLL: Duration = Duration::from_millis(1);

/// SQLite's busy handler: waits [`BUSY_POLL`] and tries again, for [`BUSY_TIMEOUT`] in all.
/// (`busy_timeout`'s own handler backs off to 100 ms sleeps, so a small write queued behind
/// a batch, such as a receiver's alert, could wait 100 ms after the lock was free.)
fn busy(attempts: i32) -> bool {
    let waited = BUSY_POLL * u32::try_from(attempts).unwrap_or(u32::MAX);
    if waited >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(BUSY_POLL);
    true
}

/// A registry in one SQLite file.
pub(crate) struct Sqlite {
    conn: Connection,
    path: std::path::PathBuf,
    target: String,
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite")
            .field("target", &self.target)
            .finish()
    }
}

impl Sqlite {
    /// Opens (or creates) the file at `path`.
    pub(crate) fn open(path: &Path) -> Result<Sqlite, RegistryError> {
        let target = path.display().to_string();
        let fail = |e: rusqlite::Error| RegistryError::from_sqlite(&target, e);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(fail)?;
        conn.busy_handler(Some(busy)).map_err(fail)?;
        // A file that is not a database fails here, on its first read.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(fail)?;
        // 32 MiB of page cache per connection (the default is 2 MiB): the indexes that a
        // batch inserts into at random places (UIDs, keys) stay in memory instead of being
        // read again.
        conn.pragma_update(None, "cache_size", -32768)
            .map_err(fail)?;
        // Reads map the file instead of copying pages (up to 1 GiB of it).
        conn.pragma_update(None, "mmap_size", 1i64 << 30)
            .map_err(fail)?;
        // IN lists of several lengths are each one statement.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Sqlite {
            conn,
            path: path.to_owned(),
            target,
        })
    }

    /// The connection, for tests that limit the file's size.
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

struct SqliteTx<'c> {
    tx: &'c rusqlite::Transaction<'c>,
    target: &'c str,
}

fn to_sql(v: &Val) -> ToSqlOutput<'_> {
    match v {
        Val::Null => ToSqlOutput::Owned(Value::Null),
        Val::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
        Val::Real(r) => ToSqlOutput::Owned(Value::Real(*r)),
        Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Val::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
    }
}

fn from_sql(v: ValueRef<'_>) -> Val {
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(r) => Val::Real(r),
        ValueRef::Text(t) => Val::Text(match std::str::from_utf8(t) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
        ValueRef::Blob(b) => Val::Blob(b.to_vec()),
    }
}

impl Tx for SqliteTx<'_> {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, RegistryError> {
        let fail = |e| RegistryError::from_sqlite(self.target, e);
        let mut st = self.tx.prepare_cached(sql).map_err(fail)?;
        let n = st
            .execute(rusqlite::params_from_iter(params.iter().map(to_sql)))
            .map_err(fail)?;
        Ok(n as u64)
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Val],
        row: &mut dyn FnMut(Vec<Val>) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError> {
        let fail = |e| RegistryError::from_sqlite(self.target, e);
        let mut st = self.tx.prepare_cached(sql).map_err(fail)?;
        let n = st.column_count();
        let mut rows = st
            .query(rusqlite::params_from_iter(params.iter().map(to_sql)))
            .map_err(fail)?;
        while let Some(r) = rows.next().map_err(fail)? {
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                v.push(from_sql(r.get_ref(i).map_err(fail)?));
            }
            row(v)?;
        }
        Ok(())
    }

    fn insert(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Val>>,
    ) -> Result<(), RegistryError> {
        if rows.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            placeholders.join(", ")
        );
        let fail = |e| RegistryError::from_sqlite(self.target, e);
        let mut st = self.tx.prepare_cached(&sql).map_err(fail)?;
        for r in &rows {
            st.execute(rusqlite::params_from_iter(r.iter().map(to_sql)))
                .map_err(fail)?;
        }
        Ok(())
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}

impl Db for Sqlite {
    fn transaction(
        &mut self,
        access: Access,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError> {
        let target = self.target.as_str();
        let fail = |e| RegistryError::from_sqlite(target, e);
        // IMMEDIATE takes the write lock at once: two writers never both read, then both
        // try to write.
        let behavior = match access {
            Access::Write => TransactionBehavior::Immediate,
            Access::Read => TransactionBehavior::Deferred,
        };
        let tx = self
            .conn
            .transaction_with_behavior(behavior)
            .map_err(fail)?;
        f(&mut SqliteTx { tx: &tx, target })?;
        match access {
            Access::Write => tx.commit().map_err(fail),
            Access::Read => tx.rollback().map_err(fail),
        }
    }

    fn target(&self) -> &str {
        &self.target
    }

    fn reopen(&self) -> Result<Box<dyn Db>, RegistryError> {
        Ok(Box::new(Sqlite::open(&self.path)?))
    }
}
