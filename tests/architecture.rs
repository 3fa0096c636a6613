//! No import cycles among the crate's top-level modules.
//!
//! Every `src/**/*.rs` file except `lib.rs` belongs to a top-level module (`src/foo.rs` and
//! `src/foo/bar.rs` both belong to `foo`). Its paths `crate::name…`, `crate::{name…, …}` and
//! `super::…` chains that climb to the crate root name the modules it depends on; a name that
//! `lib.rs` re-exports (`crate::Code`) counts for the module it comes from. Comments, string
//! literals and items gated on `cfg(test)`, `cfg(fuzzing)` or `cfg(doctest)` are not part of
//! the library as built and are left out. The test fails with every cycle of the resulting
//! graph and the lines that make its edges.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// tokens

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Rust source as identifiers, `::` and punctuation, without comments, string, character
/// and number literals, and lifetimes.
fn lex(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Skips a quoted literal whose opening quote is at `i`; returns the index after it.
    let skip_quoted = |mut i: usize, line: &mut usize| {
        i += 1;
        while i < c.len() && c[i] != '"' {
            if c[i] == '\\' {
                i += 1;
            }
            if at(i) == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_quoted(i, &mut line);
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                // an escaped character literal
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // a lifetime or a label
                i += 1;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
            }
        } else if ch.is_ascii_digit() {
            while at(i).is_alphanumeric()
                || at(i) == '_'
                || (at(i) == '.' && at(i + 1).is_ascii_digit())
            {
                i += 1;
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
            if raw_prefix && (at(i) == '"' || at(i) == '#') {
                let mut hashes = 0;
                while at(i + hashes) == '#' {
                    hashes += 1;
                }
                if at(i + hashes) == '"' {
                    // a raw string: ends at `"` followed by as many `#`
                    i += hashes + 1;
                    while i < c.len() {
                        if c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                            i += hashes + 1;
                            break;
                        }
                        if c[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                    continue;
                }
                if word == "r" && hashes == 1 {
                    // a raw identifier
                    i += 1;
                    let start = i;
                    while at(i).is_alphanumeric() || at(i) == '_' {
                        i += 1;
                    }
                    let word: String = c[start..i].iter().collect();
                    out.push(Token {
                        tok: Tok::Ident(word),
                        line,
                    });
                    continue;
                }
            }
            if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                i = skip_quoted(i, &mut line);
                continue;
            }
            if word == "b" && at(i) == '\'' {
                i += 1;
                continue;
            }
            out.push(Token {
                tok: Tok::Ident(word),
                line,
            });
        } else if ch == ':' && at(i + 1) == ':' {
            out.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    out
}

fn is_punct(t: Option<&Token>, p: char) -> bool {
    t.is_some_and(|t| t.tok == Tok::Punct(p))
}

fn ident(t: Option<&Token>) -> Option<&str> {
    match t.map(|t| &t.tok) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

fn is_open(t: &Token) -> bool {
    matches!(t.tok, Tok::Punct('(' | '[' | '{'))
}

fn is_close(t: &Token) -> bool {
    matches!(t.tok, Tok::Punct(')' | ']' | '}'))
}

/// The index after the bracket that closes the one opened at `open`.
fn matching(toks: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < toks.len() {
        if is_open(&toks[i]) {
            depth += 1;
        } else if is_close(&toks[i]) {
            depth -= 1;
            if depth == 0 {
                return i + 1;
            }
        }
        i += 1;
    }
    toks.len()
}

/// The end of the item that starts at `i`: after its `;` or its closing `}` at its own
/// level, or before the bracket that closes the enclosing one.
fn item_end(toks: &[Token], start: usize) -> usize {
    let mut i = start;
    while i < toks.len() {
        let t = &toks[i];
        if is_open(t) {
            let end = matching(toks, i);
            // `fn … {}`, `mod … {}`, `impl … {}` end with their body; a `{` in an expression
            // (`let x = S { … };`) is followed by more, up to the `;`
            if t.tok == Tok::Punct('{') && !is_expression_item(&toks[start..i]) {
                return end;
            }
            i = end;
        } else if is_close(t) {
            return i;
        } else if t.tok == Tok::Punct(';') {
            return i + 1;
        } else {
            i += 1;
        }
    }
    toks.len()
}

/// Whether a `{` that follows `before` (the item's tokens so far) opens an expression
/// (`let x = S { … };`, `const X: S = S { … };`) rather than the item's body.
fn is_expression_item(before: &[Token]) -> bool {
    before
        .iter()
        .any(|t| t.tok == Tok::Punct('=') || ident(Some(t)) == Some("let"))
}

/// Whether an attribute's tokens (inside `#[…]`) are a `cfg` that cannot hold outside tests,
/// fuzzing and doctests.
fn test_only_cfg(attr: &[Token]) -> bool {
    ident(attr.first()) == Some("cfg")
        && is_punct(attr.get(1), '(')
        && cfg_value(attr, &mut 2) == Some(false)
}

/// The value of the `cfg` predicate at `*i` (moved past it) when `test`, `fuzzing` and
/// `doctest` are false and every other option unknown (`None`).
fn cfg_value(toks: &[Token], i: &mut usize) -> Option<bool> {
    let name = ident(toks.get(*i)).unwrap_or("");
    *i += 1;
    if matches!(name, "all" | "any" | "not") && is_punct(toks.get(*i), '(') {
        *i += 1;
        let mut values = Vec::new();
        while *i < toks.len() && !is_punct(toks.get(*i), ')') {
            values.push(cfg_value(toks, i));
            if is_punct(toks.get(*i), ',') {
                *i += 1;
            }
        }
        *i += 1;
        let all = |v: Option<bool>| values.iter().all(|x| *x == v);
        return match name {
            "not" => values.first().copied().flatten().map(|v| !v),
            "all" if values.contains(&Some(false)) => Some(false),
            "all" => all(Some(true)).then_some(true),
            _ if values.contains(&Some(true)) => Some(true),
            _ => all(Some(false)).then_some(false),
        };
    }
    if is_punct(toks.get(*i), '=') {
        // `feature = "…"`: the lexer dropped the string
        *i += 1;
    }
    if matches!(name, "test" | "fuzzing" | "doctest") {
        Some(false)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// one file's dependencies

/// A dependency found in a file: the top-level name it starts with and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Use {
    name: String,
    line: usize,
}

/// What one file says: the crate-root names it uses, and its out-of-line child modules that
/// exist only for tests.
#[derive(Debug, Default)]
struct FileUses {
    uses: Vec<Use>,
    test_only_children: Vec<String>,
}

/// Reads a file of module path `module` (e.g. `["reference", "survey"]`).
fn file_uses(src: &str, module: &[String]) -> FileUses {
    let toks = lex(src);
    let mut out = FileUses::default();
    // inline modules: (name, index of the token after their closing brace)
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        while inline.last().is_some_and(|(_, end)| i >= *end) {
            inline.pop();
        }
        let t = &toks[i];
        // attributes
        if t.tok == Tok::Punct('#') {
            let inner = is_punct(toks.get(i + 1), '!');
            let open = i + 1 + usize::from(inner);
            if is_punct(toks.get(open), '[') {
                let close = matching(&toks, open);
                let skip = test_only_cfg(&toks[open + 1..close - 1]);
                if skip && inner {
                    // `#![cfg(test)]`: the whole file or inline module
                    let end = inline.last().map_or(toks.len(), |(_, end)| end - 1);
                    i = end;
                    continue;
                }
                if skip {
                    // further attributes, then the item
                    let mut j = close;
                    while is_punct(toks.get(j), '#') && is_punct(toks.get(j + 1), '[') {
                        j = matching(&toks, j + 1);
                    }
                    let end = item_end(&toks, j);
                    if let Some(m) = toks[j..end]
                        .windows(3)
                        .find(|w| ident(Some(&w[0])) == Some("mod") && is_punct(Some(&w[2]), ';'))
                        .and_then(|w| ident(Some(&w[1])))
                    {
                        out.test_only_children.push(m.to_owned());
                    }
                    i = end;
                    continue;
                }
                i = close;
                continue;
            }
        }
        match &t.tok {
            Tok::Ident(w) if w == "mod" => {
                if let (Some(name), true) = (ident(toks.get(i + 1)), is_punct(toks.get(i + 2), '{'))
                {
                    inline.push((name.to_owned(), matching(&toks, i + 2)));
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(w)
                if (w == "crate" || w == "super")
                    && toks.get(i + 1).map(|t| &t.tok) == Some(&Tok::PathSep) =>
            {
                // a path from the crate root, or climbing from this module
                let preceded = i > 0 && toks[i - 1].tok == Tok::PathSep;
                if !preceded {
                    let mut j = i;
                    let mut here: Vec<String> = module
                        .iter()
                        .cloned()
                        .chain(inline.iter().map(|(n, _)| n.clone()))
                        .collect();
                    if w == "crate" {
                        here.clear();
                        j += 2;
                    } else {
                        while ident(toks.get(j)) == Some("super")
                            && toks.get(j + 1).map(|t| &t.tok) == Some(&Tok::PathSep)
                        {
                            here.pop();
                            j += 2;
                        }
                    }
                    if let Some(top) = here.first() {
                        out.uses.push(Use {
                            name: top.clone(),
                            line: t.line,
                        });
                    } else {
                        out.uses.extend(root_names(&toks, j));
                    }
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The first names of the path(s) that start at `j`, just after `crate::`: `name` or each
/// `name` of a `{name…, name…}` group.
fn root_names(toks: &[Token], j: usize) -> Vec<Use> {
    match toks.get(j) {
        Some(Token {
            tok: Tok::Ident(name),
            line,
        }) => vec![Use {
            name: name.clone(),
            line: *line,
        }],
        Some(t) if t.tok == Tok::Punct('{') => {
            let end = matching(toks, j) - 1;
            let mut out = Vec::new();
            let mut k = j + 1;
            let mut first = true;
            while k < end {
                let t = &toks[k];
                if first
                    && let Tok::Ident(name) = &t.tok
                    && name != "self"
                {
                    out.push(Use {
                        name: name.clone(),
                        line: t.line,
                    });
                }
                first = false;
                if is_open(t) {
                    k = matching(toks, k);
                    continue;
                }
                if t.tok == Tok::Punct(',') {
                    first = true;
                }
                k += 1;
            }
            out
        }
        _ => Vec::new(),
    }
}

/// From `lib.rs`: its modules and the names it re-exports, each with the module it comes from
/// (`pub use codes::{Code, Concept};` gives `Code → codes`, `Concept → codes`).
fn crate_root(src: &str) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let toks = lex(src);
    let mut modules = BTreeSet::new();
    let mut reexports = BTreeMap::new();
    for (i, t) in toks.iter().enumerate() {
        match ident(Some(t)) {
            Some("mod") => {
                if let Some(name) = ident(toks.get(i + 1)) {
                    modules.insert(name.to_owned());
                }
            }
            Some("use") => {
                let Some(from) = ident(toks.get(i + 1)) else {
                    continue;
                };
                if toks.get(i + 2).map(|t| &t.tok) != Some(&Tok::PathSep) {
                    continue;
                }
                // the last identifier of each leaf path, up to the `;`
                let end = (i..toks.len())
                    .find(|&k| is_punct(toks.get(k), ';'))
                    .unwrap_or(toks.len());
                for k in i + 3..end {
                    if let Some(name) = ident(toks.get(k)) {
                        let leaf = matches!(
                            toks.get(k + 1).map(|t| &t.tok),
                            Some(Tok::Punct(',' | '}' | ';'))
                        );
                        if leaf && name != "self" {
                            reexports.insert(name.to_owned(), from.to_owned());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (modules, reexports)
}

// ---------------------------------------------------------------------------
// the graph

/// `from → to → where`: each edge with the `file:line` places that make it.
type Graph = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// The module path of a file under `src/`: `foo.rs` and `foo/mod.rs` are `[foo]`,
/// `foo/bar.rs` is `[foo, bar]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" {
            parts.push(stem.to_owned());
        }
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The dependency graph of the top-level modules of the crate whose sources are in `src`.
fn crate_graph(src: &Path) -> (BTreeSet<String>, Graph) {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read src/lib.rs");
    let (modules, reexports) = crate_root(&lib);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut parsed = Vec::new();
    // files declared by a test-only `mod x;` (and anything under them)
    let mut test_only: Vec<PathBuf> = Vec::new();
    for path in files {
        let rel = path.strip_prefix(src).expect("under src").to_path_buf();
        if rel == Path::new("lib.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let module = module_path(&rel);
        let uses = file_uses(&text, &module);
        let dir: PathBuf = module.iter().collect();
        for child in &uses.test_only_children {
            test_only.push(dir.join(child));
        }
        parsed.push((rel, module, uses));
    }
    let mut graph = Graph::new();
    for (rel, module, uses) in parsed {
        let as_module: PathBuf = module.iter().collect();
        if test_only.iter().any(|t| as_module.starts_with(t)) {
            continue;
        }
        let from = &module[0];
        for u in uses.uses {
            let to = if modules.contains(&u.name) {
                &u.name
            } else if let Some(m) = reexports.get(&u.name) {
                m
            } else {
                continue;
            };
            if to != from {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to.clone())
                    .or_default()
                    .push(format!("src/{}:{}", rel.display(), u.line));
            }
        }
    }
    (modules, graph)
}

/// Every elementary cycle of `graph`, each starting at its smallest node, in order.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        path: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        let Some(next) = graph.get(path.last().expect("non-empty path")) else {
            return;
        };
        for n in next {
            if n == start {
                out.push(path.clone());
            } else if n.as_str() > start && !path.contains(n) {
                path.push(n.clone());
                walk(graph, start, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    for start in graph.keys() {
        walk(graph, start, &mut vec![start.clone()], &mut out);
    }
    out
}

/// `Err` with each cycle and the places that make its edges.
fn check_acyclic(graph: &Graph) -> Result<(), String> {
    let plain: BTreeMap<String, BTreeSet<String>> = graph
        .iter()
        .map(|(k, v)| (k.clone(), v.keys().cloned().collect()))
        .collect();
    let found = cycles(&plain);
    if found.is_empty() {
        return Ok(());
    }
    let mut msg = format!("{} import cycle(s) among src/ modules:\n", found.len());
    for c in &found {
        let mut ring = c.clone();
        ring.push(c[0].clone());
        let _ = writeln!(msg, "  {}", ring.join(" -> "));
        for pair in ring.windows(2) {
            let places = &graph[&pair[0]][&pair[1]];
            let _ = writeln!(
                msg,
                "      {} -> {}: {}",
                pair[0],
                pair[1],
                places.join(", ")
            );
        }
    }
    Err(msg)
}

// ---------------------------------------------------------------------------
// tests

#[test]
fn src_modules_have_no_import_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (modules, graph) = crate_graph(&src);
    // The checker must see the crate: its modules, and every module in some edge (a module
    // nothing imports and that imports nothing would mean its uses went unread).
    assert!(modules.len() >= 5, "modules from src/lib.rs: {modules:?}");
    let touched: BTreeSet<&String> = graph
        .iter()
        .flat_map(|(from, to)| std::iter::once(from).chain(to.keys()))
        .collect();
    let silent: Vec<&String> = modules.iter().filter(|m| !touched.contains(m)).collect();
    assert!(silent.is_empty(), "modules in no dependency: {silent:?}");
    if let Err(msg) = check_acyclic(&graph) {
        panic!("{msg}");
    }
}

fn graph_of(edges: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, b) in edges {
        g.entry((*a).to_owned())
            .or_default()
            .insert((*b).to_owned());
    }
    g
}

fn names(cycles: &[Vec<String>]) -> Vec<String> {
    cycles.iter().map(|c| c.join(">")).collect()
}

#[test]
fn cycle_finder_finds_every_cycle_of_a_small_graph() {
    // a → b → c → a, with a chord a → c; d ↔ e; f → a and c → d lead into cycles only
    let g = graph_of(&[
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("a", "c"),
        ("c", "d"),
        ("d", "e"),
        ("e", "d"),
        ("f", "a"),
        ("g", "g"),
    ]);
    assert_eq!(names(&cycles(&g)), ["a>b>c", "a>c", "d>e", "g"]);
}

#[test]
fn cycle_finder_passes_a_dag() {
    // a diamond and a chain: many paths, no cycle
    let g = graph_of(&[
        ("a", "b"),
        ("a", "c"),
        ("b", "d"),
        ("c", "d"),
        ("d", "e"),
        ("a", "e"),
    ]);
    assert!(cycles(&g).is_empty());
}

#[test]
fn a_cycle_fails_the_check_with_its_places() {
    let mut g = Graph::new();
    let mut edge = |a: &str, b: &str, at: &str| {
        g.entry(a.into())
            .or_default()
            .entry(b.into())
            .or_default()
            .push(at.into());
    };
    edge("procedure", "report", "src/procedure.rs:26");
    edge("report", "procedure", "src/report.rs:12");
    edge("report", "units", "src/report.rs:14");
    let msg = check_acyclic(&g).unwrap_err();
    assert!(msg.contains("procedure -> report -> procedure"), "{msg}");
    assert!(
        msg.contains("procedure -> report: src/procedure.rs:26"),
        "{msg}"
    );
    g.get_mut("report").unwrap().remove("procedure");
    assert_eq!(check_acyclic(&g), Ok(()));
}

#[test]
fn uses_are_read_from_paths_groups_and_super_but_not_comments_strings_or_tests() {
    let src = r##"
        //! Doc naming crate::doc_only.
        use crate::a::X;
        use crate::{b::Y, c, self};
        pub(crate) use crate::{
            d::{Z, W},
        };
        /* crate::block_comment /* nested crate::nested */ */
        fn f<'a>(x: &'a str) -> char {
            let s = "crate::in_string \" crate::escaped";
            let r = r#"crate::raw " still crate::raw"#;
            let bytes = b"crate::bytes";
            let q = '"';
            let e = crate::e::value(super::super::g::h, super::same);
            'x'
        }
        #[cfg(test)]
        mod tests {
            use crate::test_only;
            use super::*;
        }
        #[cfg(any(test, fuzzing))]
        pub fn differential() { crate::fuzz_only::run(); }
        #[cfg(not(test))]
        fn real() { crate::not_test::run(); }
        #[cfg(test)]
        mod test_file;
        mod inner {
            use super::super::k;
        }
    "##;
    let module = ["m".to_owned(), "sub".to_owned()];
    let u = file_uses(src, &module);
    let got: Vec<(&str, usize)> = u.uses.iter().map(|u| (u.name.as_str(), u.line)).collect();
    assert_eq!(
        got,
        [
            ("a", 3),
            ("b", 4),
            ("c", 4),
            ("d", 6),
            ("e", 14),
            ("g", 14),
            ("m", 14),
            ("not_test", 25),
            ("m", 29),
        ]
    );
    assert_eq!(u.test_only_children, ["test_file"]);
}

#[test]
fn root_modules_and_reexports_are_read_from_lib() {
    let (modules, reexports) = crate_root(
        "mod codes;\npub mod report;\npub(crate) mod units;\n\
         pub use codes::{Code, Concept};\npub use units::Dap as Pka;\npub use report::*;\n",
    );
    assert_eq!(
        modules.into_iter().collect::<Vec<_>>(),
        ["codes", "report", "units"]
    );
    assert_eq!(reexports.get("Code").map(String::as_str), Some("codes"));
    assert_eq!(reexports.get("Concept").map(String::as_str), Some("codes"));
    assert_eq!(reexports.get("Pka").map(String::as_str), Some("units"));
    assert_eq!(reexports.get("Dap"), None);
}
