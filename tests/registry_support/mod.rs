//! Registries for tests: a fresh SQLite file, and a fresh PostgreSQL database on the server
//! of `KERMA_POSTGRES_URL` (required under `CI=true`); and a dump of a registry's content
//! that leaves out what legitimately differs between two ingests of the same files (row
//! ids, times, the history of fates).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A database for one test.
pub enum Target {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        url: String,
        admin: String,
        name: String,
    },
}

/// The server of `KERMA_POSTGRES_URL`; `None` (said loudly) when unset outside CI.
pub fn postgres_url() -> Option<String> {
    match std::env::var("KERMA_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "KERMA_POSTGRES_URL is not set under CI: the PostgreSQL registry tests must run \
                 (.ci/run starts a server with .ci/postgres)"
            );
            eprintln!("\n*** KERMA_POSTGRES_URL is not set: SKIPPING the PostgreSQL half ***\n");
            None
        }
    }
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let cut = base
        .rfind('/')
        .filter(|&i| i > "postgres://".len())
        .unwrap_or(base.len());
    format!("{}/{db}{query}", &base[..cut])
}

impl Target {
    pub fn sqlite() -> Target {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kerma.db");
        Target::Sqlite { _dir: dir, path }
    }

    /// A new, empty database on the test server.
    pub fn postgres(admin: &str, tag: &str) -> Target {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "kerma_t_{}_{}_{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = postgres::Client::connect(admin, postgres::NoTls)
            .expect("connect to KERMA_POSTGRES_URL");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        Target::Postgres {
            url: with_database(admin, &name),
            admin: admin.to_owned(),
            name,
        }
    }

    /// SQLite, and PostgreSQL when a server is given.
    pub fn all(tag: &str) -> Vec<Target> {
        let mut v = vec![Target::sqlite()];
        if let Some(u) = postgres_url() {
            v.push(Target::postgres(&u, tag));
        }
        v
    }

    pub fn url(&self) -> String {
        match self {
            Target::Sqlite { path, .. } => path.display().to_string(),
            Target::Postgres { url, .. } => url.clone(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Target::Sqlite { .. } => "sqlite",
            Target::Postgres { .. } => "postgres",
        }
    }

    /// Runs the statements of `sql` outside kerma (to make a database kerma must cope with).
    pub fn exec(&self, sql: &str) {
        match self {
            Target::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .and_then(|c| c.execute_batch(sql))
                .expect("sqlite statements"),
            Target::Postgres { url, .. } => postgres::Client::connect(url, postgres::NoTls)
                .and_then(|mut c| c.batch_execute(sql))
                .expect("postgres statements"),
        }
    }

    /// Rows of `sql`, each as its columns' names and texts.
    pub fn rows(&self, sql: &str) -> Vec<Vec<(String, Option<String>)>> {
        match self {
            Target::Sqlite { path, .. } => {
                let c = rusqlite::Connection::open(path).expect("open sqlite");
                let mut st = c.prepare(sql).expect("prepare");
                let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
                let mut out = Vec::new();
                let mut rows = st.query([]).expect("query");
                while let Some(r) = rows.next().expect("row") {
                    let mut v = Vec::new();
                    for (i, n) in names.iter().enumerate() {
                        use rusqlite::types::ValueRef;
                        let t = match r.get_ref(i).expect("column") {
                            ValueRef::Null => None,
                            ValueRef::Integer(x) => Some(x.to_string()),
                            ValueRef::Real(x) => Some(format!("{x:?}")),
                            ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                            ValueRef::Blob(b) => Some(blake3::hash(b).to_hex().to_string()),
                        };
                        v.push((n.clone(), t));
                    }
                    out.push(v);
                }
                out
            }
            Target::Postgres { url, .. } => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                let mut out = Vec::new();
                for m in c.simple_query(sql).expect("query") {
                    if let postgres::SimpleQueryMessage::Row(r) = m {
                        let v = r
                            .columns()
                            .iter()
                            .enumerate()
                            .map(|(i, col)| (col.name().to_owned(), r.get(i).map(str::to_owned)))
                            .collect();
                        out.push(v);
                    }
                }
                out
            }
        }
    }

    pub fn count(&self, table: &str) -> usize {
        self.rows(&format!("SELECT COUNT(*) AS n FROM {table}"))[0][0]
            .1
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The registry's content, table by table, rows sorted: file ids replaced by path and
    /// version; times, ids and the fate history left out.
    pub fn dump(&self) -> BTreeMap<String, Vec<String>> {
        let files: BTreeMap<String, String> = self
            .rows("SELECT id, path, version FROM files")
            .into_iter()
            .map(|r| {
                let t = |i: usize| r[i].1.clone().unwrap_or_default();
                (t(0), format!("{}#{}", t(1), t(2)))
            })
            .collect();
        let skip = [
            "id",
            "ingested_at",
            "replaced_at",
            "fate_since",
            "updated_at",
            "last_seen",
        ];
        let mut out = BTreeMap::new();
        for table in [
            "files",
            "file_links",
            "planes",
            "events",
            "images",
            "procedures",
            "procedure_planes",
            "rooms",
            "kerma_schema",
        ] {
            let mut rows: Vec<String> = self
                .rows(&format!("SELECT * FROM {table}"))
                .into_iter()
                .map(|r| {
                    r.into_iter()
                        .filter(|(n, _)| !skip.contains(&n.as_str()))
                        .map(|(n, v)| match n.as_str() {
                            "file_id" => format!(
                                "file={}",
                                v.and_then(|id| files.get(&id).cloned()).unwrap_or_default()
                            ),
                            _ => format!("{n}={}", v.unwrap_or_else(|| "NULL".into())),
                        })
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect();
            rows.sort();
            out.insert(table.to_owned(), rows);
        }
        out
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Target::Postgres { admin, name, .. } = self
            && let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Asserts two dumps are equal, naming the first table and row that differ.
pub fn assert_same(
    a: &BTreeMap<String, Vec<String>>,
    b: &BTreeMap<String, Vec<String>>,
    what: &str,
) {
    for (table, rows) in a {
        let other = &b[table];
        if rows != other {
            let only_a: Vec<&String> = rows.iter().filter(|r| !other.contains(r)).collect();
            let only_b: Vec<&String> = other.iter().filter(|r| !rows.contains(r)).collect();
            // Where the first two differing rows part.
            let (x, y) = (
                only_a.first().map_or("", |s| s.as_str()),
                only_b.first().map_or("", |s| s.as_str()),
            );
            let at = x.bytes().zip(y.bytes()).take_while(|(p, q)| p == q).count();
            let from = at.saturating_sub(80);
            panic!(
                "{what}: table {table} differs ({} vs {} rows; {} and {} differ)\nfirst: …{}\nsecond: …{}",
                rows.len(),
                other.len(),
                only_a.len(),
                only_b.len(),
                x.get(from..(at + 200).min(x.len())).unwrap_or(x),
                y.get(from..(at + 200).min(y.len())).unwrap_or(y),
            );
        }
    }
}
