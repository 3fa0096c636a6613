//! The two backends behind one small interface: parameters and rows as [`Val`]s, statements
//! written once with `?N` placeholders (SQLite's; PostgreSQL gets `$N`), batches in one
//! transaction each.

use super::RegistryError;

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Val {
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn real(&self) -> Option<f64> {
        match self {
            Val::Real(r) => Some(*r),
            Val::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn into_blob(self) -> Option<Vec<u8>> {
        match self {
            Val::Blob(b) => Some(b),
            _ => None,
        }
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_owned())
    }
}

impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}

impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::Real(v)
    }
}

impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Int(i64::from(v))
    }
}

impl From<u64> for Val {
    /// Counts and sizes above `i64::MAX` cannot occur in a file's figures; they saturate.
    fn from(v: u64) -> Val {
        Val::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Val {
    fn from(v: usize) -> Val {
        Val::from(v as u64)
    }
}

/// What differs between the backends' SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// Statements and queries inside one transaction.
pub(crate) trait Tx {
    /// Runs a statement; returns the number of rows changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, RegistryError>;

    /// Runs a query and hands each row to `row`, in order.
    fn query(
        &mut self,
        sql: &str,
        params: &[Val],
        row: &mut dyn FnMut(Vec<Val>) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError>;

    /// Inserts `rows` (each with one value per column) into `table`.
    fn insert(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Val>>,
    ) -> Result<(), RegistryError>;

    /// The backend's SQL dialect.
    fn dialect(&self) -> Dialect;
}

/// Collects every row of a query.
pub(crate) fn rows(
    tx: &mut dyn Tx,
    sql: &str,
    params: &[Val],
) -> Result<Vec<Vec<Val>>, RegistryError> {
    let mut out = Vec::new();
    tx.query(sql, params, &mut |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

/// What a transaction may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Holds the database's write lock (so that batches of concurrent writers follow one
    /// another) and commits when its work returns `Ok`; on an error nothing of it remains.
    Write,
    /// Sees one committed state throughout, and changes nothing.
    Read,
}

/// A database: one transaction at a time.
pub(crate) trait Db: Send {
    /// Runs `f` in one transaction of `access`.
    fn transaction(
        &mut self,
        access: Access,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError>;

    /// Runs `f` in a write transaction (see [`Access::Write`]).
    fn write(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError> {
        self.transaction(Access::Write, f)
    }

    /// Runs `f` in a read-only transaction (see [`Access::Read`]).
    fn read(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError> {
        self.transaction(Access::Read, f)
    }

    /// Where the database is, without any password.
    fn target(&self) -> &str;

    /// A second connection to the same database (for reading while this one writes).
    fn reopen(&self) -> Result<Box<dyn Db>, RegistryError>;
}

/// `sql` with SQLite's `?N` placeholders rewritten as PostgreSQL's `$N`.
pub(crate) fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(
            postgres_placeholders("SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?13) AND d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $13) AND d = '?'"
        );
    }
}
