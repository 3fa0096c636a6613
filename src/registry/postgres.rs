//! The PostgreSQL backend (the `postgres` crate): one server for the sites of a hospital
//! group. Batches of concurrent writers follow one another through a transaction-level
//! advisory lock; rows are inserted by binary COPY.

use std::collections::HashMap;
use std::error::Error as _;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

mod tls;

use super::RegistryError;
use super::db::{Access, Db, Dialect, Tx, Val, postgres_placeholders};

/// The advisory lock key that serialises kerma's write batches ("kerma" in ASCII).
const WRITE_LOCK: i64 = 0x6b65726d61;

/// A registry in a PostgreSQL database.
pub(crate) struct Postgres {
    client: Client,
    statements: HashMap<String, Statement>,
    /// The URL as given (with its password: never shown).
    url: String,
    target: String,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("target", &self.target)
            .finish()
    }
}

/// `url` without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    // postgres://user:password@host/db?password=…
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let at = rest + at;
            if let Some(colon) = out[rest..at].find(':') {
                out.replace_range(rest + colon + 1..at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

/// A message of the server or the connection that cannot contain the URL's password: the
/// postgres crate's errors quote the server, never the connection string.
fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => match e.source() {
            Some(s) => format!("{e}: {s}"),
            None => e.to_string(),
        },
    }
}

impl Postgres {
    /// Connects to `url` (`postgres://user:password@host:port/database`, with TLS as its
    /// `sslmode` and `sslrootcert` ask: see [`tls`]).
    pub(crate) fn connect(url: &str) -> Result<Postgres, RegistryError> {
        let target = redact(url);
        let tls_error = |message: String| RegistryError::Tls {
            target: target.clone(),
            message,
        };
        let settings = tls::settings(url).map_err(tls_error)?;
        let config: postgres::Config = settings.url.parse().map_err(|e| fail(&target, e))?;
        let connected = match tls::connector(&settings).map_err(tls_error)? {
            None => config.connect(NoTls),
            Some(tls) => config.connect(tls),
        };
        let mut client = connected.map_err(|e| {
            if settings.mode != tls::Mode::Plain && tls::is_tls_failure(&e) {
                tls_error(message(&e))
            } else {
                fail(&target, e)
            }
        })?;
        // Each run of a cached statement is planned for the tables as they are then: a plan
        // made generic while a new registry's tables were empty (a sequential scan) stays
        // the plan after they hold millions of rows, until autovacuum analyses them.
        client
            .batch_execute("SET plan_cache_mode = force_custom_plan")
            .map_err(|e| fail(&target, e))?;
        Ok(Postgres {
            client,
            statements: HashMap::new(),
            url: url.to_owned(),
            target,
        })
    }
}

/// A [`Val`] as a parameter of whatever type the server expects.
#[derive(Debug)]
struct Param<'a>(&'a Val);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Val::Real(r) => match *ty {
                Type::FLOAT4 => (*r as f32).to_sql(ty, out),
                _ => r.to_sql(ty, out),
            },
            Val::Text(s) => s.as_str().to_sql(ty, out),
            Val::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn column(row: &postgres::Row, i: usize) -> Result<Val, postgres::Error> {
    let ty = row.columns()[i].type_();
    Ok(match *ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Val::Null, Val::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map_or(Val::Null, |v| Val::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map_or(Val::Null, |v| Val::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Val::Null, |v| Val::Int(v.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)?
            .map_or(Val::Null, Val::Real),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)?
            .map_or(Val::Null, |v| Val::Real(v.into())),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Val::Null, Val::Blob),
        _ => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Val::Null, Val::Text),
    })
}

struct PgTx<'a, 't> {
    tx: &'a mut postgres::Transaction<'t>,
    statements: &'a mut HashMap<String, Statement>,
    target: &'a str,
}

fn fail(target: &str, e: postgres::Error) -> RegistryError {
    RegistryError::Database {
        target: target.to_owned(),
        message: message(&e),
    }
}

impl PgTx<'_, '_> {
    fn fail(&self, e: postgres::Error) -> RegistryError {
        fail(self.target, e)
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, RegistryError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let st = self
            .tx
            .prepare(&postgres_placeholders(sql))
            .map_err(|e| self.fail(e))?;
        self.statements.insert(sql.to_owned(), st.clone());
        Ok(st)
    }
}

impl Tx for PgTx<'_, '_> {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, RegistryError> {
        let st = self.statement(sql)?;
        let ps: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as _).collect();
        self.tx.execute(&st, &refs).map_err(|e| self.fail(e))
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Val],
        row: &mut dyn FnMut(Vec<Val>) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError> {
        let st = self.statement(sql)?;
        let ps: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs = ps.iter().map(|p| p as &dyn ToSql);
        let target = self.target;
        let mut it = self.tx.query_raw(&st, refs).map_err(|e| fail(target, e))?;
        use postgres::fallible_iterator::FallibleIterator;
        loop {
            let r = match it.next() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => return Err(fail(target, e)),
            };
            let mut v = Vec::with_capacity(r.len());
            for i in 0..r.len() {
                v.push(column(&r, i).map_err(|e| fail(target, e))?);
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
        let list = columns.join(", ");
        // The column types as the server has them, from a statement that is prepared, never
        // run; both statements are prepared once per connection.
        let types: Vec<Type> = self
            .statement(&format!("SELECT {list} FROM {table}"))?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let copy = self.statement(&format!("COPY {table} ({list}) FROM STDIN BINARY"))?;
        if let Some(bad) = rows.iter().find(|r| r.len() != types.len()) {
            return Err(RegistryError::Corrupt {
                target: self.target.to_owned(),
                what: format!("a row for {table}"),
                message: format!("{} values for {} columns", bad.len(), types.len()),
            });
        }
        let target = self.target;
        let sink = self.tx.copy_in(&copy).map_err(|e| fail(target, e))?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        for row in &rows {
            writer
                .write_raw(row.iter().map(Param))
                .map_err(|e| fail(target, e))?;
        }
        writer.finish().map_err(|e| fail(target, e))?;
        Ok(())
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

impl Db for Postgres {
    fn transaction(
        &mut self,
        access: Access,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError> {
        let target = self.target.clone();
        let mut tx = match access {
            Access::Write => self.client.transaction(),
            Access::Read => self
                .client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start(),
        }
        .map_err(|e| fail(&target, e))?;
        if access == Access::Write {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
                .map_err(|e| fail(&target, e))?;
        }
        f(&mut PgTx {
            tx: &mut tx,
            statements: &mut self.statements,
            target: &target,
        })?;
        match access {
            Access::Write => tx.commit(),
            Access::Read => tx.rollback(),
        }
        .map_err(|e| fail(&target, e))
    }

    fn target(&self) -> &str {
        &self.target
    }

    fn reopen(&self) -> Result<Box<dyn Db>, RegistryError> {
        Ok(Box::new(Postgres::connect(&self.url)?))
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://kerma:s3cr%40t@db.local:5432/dose"),
            "postgres://kerma:***@db.local:5432/dose"
        );
        assert_eq!(
            redact("postgresql://kerma@localhost/dose?password=hunter2&sslmode=require"),
            "postgresql://kerma@localhost/dose?password=***&sslmode=require"
        );
        assert_eq!(
            redact("postgres://localhost/dose"),
            "postgres://localhost/dose"
        );
    }
}
