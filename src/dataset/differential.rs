//! Reading with and without the code table, compared: the property that makes the code table
//! safe to use, checked by the tests and by the `code_table` fuzz target.

use super::code_table::Code;
use super::tag::CONTENT_SEQUENCE;
use super::tree::{Item, Stored, Value};
use super::{Limits, ParseError, Parsed, Parser, parse, parse_visiting, parse_with};

/// The code an element holds: its code table entry, or its first item's.
fn code_of<'a>(item: &Item<'_, 'a>, e: &Stored) -> Option<Code<'a>> {
    match item.view(e).value {
        Value::Code(id) => item.code_at(id),
        Value::Items(r) => item.items_in(r).first()?.as_code(),
        Value::Bytes(_) => None,
    }
}

/// Asserts that two items read alike: the same elements, values and items, and the same
/// code where either kept a code sequence in its code table.
fn assert_alike(a: &Item<'_, '_>, b: &Item<'_, '_>, path: &str) {
    assert_alike_but(a, b, path, false);
}

/// [`assert_alike`]; `visited`: `b` is the root of a tree read by [`parse_visiting`], whose
/// first Content Sequence has no items.
fn assert_alike_but(a: &Item<'_, '_>, b: &Item<'_, '_>, path: &str, mut visited: bool) {
    let (x, y) = (a.stored(), b.stored());
    assert_eq!(x.len(), y.len(), "{path}: element count");
    for (e, f) in x.iter().zip(y) {
        let here = format!("{path}/{:08X}", e.tag);
        assert_eq!((e.tag, e.vr), (f.tag, f.vr), "{here}");
        match (a.view(e).value, b.view(f).value) {
            (Value::Bytes(p), Value::Bytes(q)) => assert_eq!(p, q, "{here}"),
            (Value::Items(_), Value::Items(q)) if visited && e.tag == CONTENT_SEQUENCE => {
                assert_eq!(q.len, 0, "{here}: a visited sequence keeps no items");
                visited = false;
            }
            (Value::Items(p), Value::Items(q)) => {
                let (p, q) = (a.items_in(p), b.items_in(q));
                assert_eq!(p.len(), q.len(), "{here}: items");
                for (i, (p, q)) in p.iter().zip(q.iter()).enumerate() {
                    assert_alike(&p, &q, &format!("{here}[{i}]"));
                }
            }
            (Value::Code(_), Value::Items(_) | Value::Code(_))
            | (Value::Items(_), Value::Code(_)) => {
                assert_eq!(code_of(a, e), code_of(b, f), "{here}");
                assert!(code_of(a, e).is_some(), "{here}: a kept code has a value");
            }
            (p, q) => panic!("{here}: {p:?} / {q:?}"),
        }
    }
}

/// Parses `buf` with and without the code table, and asserts the two read alike (the same
/// error, or trees that read alike). The number of codes in the table.
pub(crate) fn read_alike(buf: &[u8], limits: &Limits) -> usize {
    let with = parse(buf, limits);
    let mut plain = Parser::new(buf, limits);
    plain.code_table = false;
    let without = parse_with(plain);
    let codes = match (&with, &without) {
        (Ok(p), Ok(q)) => {
            assert!(q.dataset.tables.codes.entries.is_empty());
            assert_eq!(p.pixel_data_at, q.pixel_data_at);
            assert_eq!(
                p.dataset.content_items_without_relationship(),
                q.dataset.content_items_without_relationship()
            );
            assert_alike(&p.dataset.root(), &q.dataset.root(), "");
            p.dataset.tables.codes.entries.len()
        }
        (Err(e), Err(f)) => {
            assert_eq!(format!("{e:?}"), format!("{f:?}"));
            0
        }
        _ => panic!("{with:?} / {without:?}"),
    };
    visiting_reads_alike(buf, limits, &with);
    codes
}

/// Parses `buf` handing the root's content items to a visitor, and asserts that each reads
/// as the same item of `whole` (the tree [`parse`] makes), and the rest of the tree alike.
fn visiting_reads_alike(buf: &[u8], limits: &Limits, whole: &Result<Parsed<'_>, ParseError>) {
    let items = match whole {
        Ok(p) => p.dataset.root().items(CONTENT_SEQUENCE),
        Err(_) => Item::default().items(CONTENT_SEQUENCE),
    };
    let mut visited = 0;
    let visiting = parse_visiting(buf, limits, false, &mut |item| {
        if let Some(w) = items.get(visited) {
            assert_alike(&w, item, &format!("content[{visited}]"));
        }
        visited += 1;
    });
    match (whole, &visiting) {
        (Ok(p), Ok(v)) => {
            assert_eq!(visited, items.len(), "content items visited");
            assert_eq!(p.pixel_data_at, v.pixel_data_at);
            assert_eq!(
                p.dataset.content_items_without_relationship(),
                v.dataset.content_items_without_relationship()
            );
            assert_alike_but(&p.dataset.root(), &v.dataset.root(), "", true);
            // Each content item left the tables once visited.
            if !items.is_empty() {
                let (v, p) = (&v.dataset.tables, &p.dataset.tables);
                assert!(v.elements.len() < p.elements.len());
                assert!(v.items.len() < p.items.len());
            }
        }
        (Err(e), Err(f)) => assert_eq!(format!("{e:?}"), format!("{f:?}")),
        _ => panic!("{whole:?} / {visiting:?}"),
    }
}
