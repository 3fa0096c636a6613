use super::differential::read_alike;
use super::parser::{Bad, decode};
use super::tag::{
    CODE_MEANING, CODE_VALUE, CODING_SCHEME, LONG_CODE_VALUE, RELATIONSHIP_TYPE, Tag, UNDEFINED,
    dictionary_vr, implicit_vr, vr_class,
};
use super::tree::{LINEAR_LOOKUP_MAX, Span, Stored};
use super::*;

fn el(tag: Tag, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    v.extend_from_slice(&((tag & 0xFFFF) as u16).to_le_bytes());
    v.extend_from_slice(vr);
    v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    v.extend_from_slice(value);
    v
}

#[test]
fn implicit_vr_shortcuts_agree_with_the_dictionary() {
    let shortcuts = [
        0x0040_A730,
        0x0040_A043,
        0x0040_A300,
        0x0040_08EA,
        0x0040_A168,
        0x0040_A504,
        0x0008_1199,
        0x0008_1115,
        0x0008_1111,
        0x0008_1032,
        0x0040_A375,
        0x0040_A385,
        0x0040_A301,
        0x0040_A073,
        0x0040_A078,
        0x5200_9229,
        0x5200_9230,
        0x0040_A370,
        0x0040_A372,
        0x0040_0275,
        0x0008_114A,
        0x0040_A360,
        0x0040_A525,
        0x0040_A088,
        0x0040_A010,
        0x0040_A040,
        0x0040_A050,
        0x0040_A491,
        0x0040_A493,
        0x0008_0105,
        0x0008_010F,
        0x0008_0100,
        0x0008_0102,
        0x0008_0103,
        0x0008_0104,
        0x0040_A027,
        0x0040_A30A,
        0x0040_A160,
        0x0040_A124,
        0x0008_1150,
        0x0008_1155,
        0x0040_A171,
        0x0008_0117,
        0x0040_A120,
        0x0040_A032,
        0x0008_0106,
        0x0040_A030,
        0x0040_A121,
        0x0040_A122,
        0x0040_A123,
        0x0040_A075,
        0x0040_A161,
        0x0040_DB73,
    ];
    for tag in shortcuts {
        assert_eq!(implicit_vr(tag), dictionary_vr(tag), "{tag:08X}");
    }
}

#[test]
fn table_entries_stay_small() {
    // An element, an item (a run of elements), and the view of an item handed out.
    assert_eq!(std::mem::size_of::<Stored>(), 16);
    assert_eq!(std::mem::size_of::<Span>(), 8);
    assert_eq!(std::mem::size_of::<Item<'_, '_>>(), 16);
}

#[test]
fn nested_items_are_views_of_the_tables() {
    // (0040,A730) SQ, undefined length: two items, the second holding a nested sequence.
    let mut b = el(0x0008_0016, b"UI", b"1.2\0");
    b.extend_from_slice(&[
        0x40, 0x00, 0x30, 0xA7, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    b.extend(el(0x0040_A010, b"CS", b"CONTAINS"));
    b.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    b.extend_from_slice(&[
        0x40, 0x00, 0x30, 0xA7, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    b.extend(el(0x0040_A040, b"CS", b"NUM "));
    b.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    b.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    b.extend(el(0x0040_A010, b"CS", b"HAS PROPERTIES"));
    b.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    b.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    b.extend(el(0x0040_A491, b"CS", b"COMPLETE"));
    let p = parse(&b, &Limits::default()).unwrap();
    let ds = p.dataset.root();
    assert_eq!(ds.stored().len(), 3);
    let items: Vec<_> = ds.items(0x0040_A730).iter().collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].ascii(0x0040_A010), Some("CONTAINS"));
    assert_eq!(items[1].ascii(0x0040_A010), Some("HAS PROPERTIES"));
    let nested: Vec<_> = items[1].items(0x0040_A730).iter().collect();
    assert_eq!(nested.len(), 1);
    assert_eq!(nested[0].ascii(0x0040_A040), Some("NUM"));
    assert!(nested[0].items(0x0040_A730).is_empty());
    assert_eq!(ds.ascii(0x0040_A491), Some("COMPLETE"));
    assert!(Item::default().items(0x0040_A730).is_empty());
    assert!(Item::default().get(0x0008_0016).is_none());
    // A moved tree still reads the same.
    let moved = Box::new(p);
    assert_eq!(
        moved
            .dataset
            .root()
            .items(0x0040_A730)
            .get(1)
            .unwrap()
            .items(0x0040_A730)
            .len(),
        1
    );
}

#[test]
fn tables_kept_between_parses_hold_only_the_new_file() {
    let mut a = el(0x0008_0016, b"UI", b"1.2.3\0");
    a.extend(el(0x0010_0020, b"LO", b"FIRST "));
    let b = el(0x0010_0020, b"LO", b"SECOND");
    let first = parse(&a, &Limits::default()).unwrap();
    assert_eq!(first.dataset.root().ascii(0x0010_0020), Some("FIRST"));
    // A second tree while the first is alive: its own tables.
    let second = parse(&b, &Limits::default()).unwrap();
    assert_eq!(second.dataset.root().ascii(0x0010_0020), Some("SECOND"));
    assert_eq!(first.dataset.root().ascii(0x0010_0020), Some("FIRST"));
    drop(first);
    drop(second);
    // Then one made with the kept storage: nothing of the earlier files shows through.
    let third = parse(&b, &Limits::default()).unwrap();
    assert_eq!(third.dataset.root().stored().len(), 1);
    assert_eq!(third.dataset.root().ascii(0x0008_0016), None);
    assert_eq!(third.dataset.root().ascii(0x0010_0020), Some("SECOND"));
}

#[test]
fn large_items_are_searched_by_halves_only_when_in_order() {
    let value = |i: u32| format!("V{i:03}").into_bytes();
    let tags: Vec<Tag> = (0..40).map(|i| 0x0008_1000 + 2 * i).collect();
    let dataset = |order: &[Tag]| -> Vec<u8> {
        order
            .iter()
            .flat_map(|&t| el(t, b"LO", &value(t & 0xFFF)))
            .collect()
    };
    // In order: binary search finds every tag, and nothing between them.
    let sorted = dataset(&tags);
    let p = parse(&sorted, &Limits::default()).unwrap();
    assert!(p.dataset.root().stored().len() > LINEAR_LOOKUP_MAX);
    assert!(p.dataset.tables.large_items_sorted);
    for &t in &tags {
        assert_eq!(
            p.dataset.root().bytes(t),
            Some(&value(t & 0xFFF)[..]),
            "{t:08X}"
        );
        assert_eq!(p.dataset.root().bytes(t + 1), None);
    }
    // A tag repeated out of order: every lookup reads the elements in file order and
    // finds the first one written.
    let mut shuffled = tags.clone();
    shuffled.swap(3, 30);
    shuffled.push(tags[10]);
    let mut bytes = dataset(&shuffled);
    bytes.truncate(bytes.len() - 12);
    bytes.extend(el(tags[10], b"LO", b"LATE"));
    let p = parse(&bytes, &Limits::default()).unwrap();
    assert!(!p.dataset.tables.large_items_sorted);
    for &t in &tags {
        assert_eq!(
            p.dataset.root().bytes(t),
            Some(&value(t & 0xFFF)[..]),
            "{t:08X}"
        );
    }
}

#[test]
fn raw_explicit_dataset_without_meta() {
    let mut b = el(0x0008_0016, b"UI", b"1.2.3\0");
    b.extend(el(0x0010_0020, b"LO", b"PAT1"));
    let p = parse(&b, &Limits::default()).unwrap();
    assert_eq!(p.dataset.root().ascii(0x0008_0016), Some("1.2.3"));
    assert_eq!(p.dataset.root().ascii(0x0010_0020), Some("PAT1"));
}

#[test]
fn declared_length_beyond_input_is_truncation() {
    // (0008,0016) implicit, length 0xFFFFFFF0, two bytes of value
    let b = [0x08, 0x00, 0x16, 0x00, 0xF0, 0xFF, 0xFF, 0xFF, b'1', b'.'];
    match parse(&b, &Limits::default()) {
        Err(ParseError::Truncated { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn text_is_not_dicom() {
    assert!(matches!(
        parse(
            b"hello, this is not a DICOM file at all",
            &Limits::default()
        ),
        Err(ParseError::NotDicom)
    ));
    assert!(parse(b"", &Limits::default()).is_err());
}

#[test]
fn deep_nesting_is_limited() {
    // 200 nested undefined-length sequences of undefined-length items
    let mut b = Vec::new();
    for _ in 0..200 {
        b.extend_from_slice(&[
            0x40, 0x00, 0x30, 0xA7, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    let mut with_first = el(0x0008_0016, b"UI", b"1.2\0");
    with_first.extend(b);
    match parse(&with_first, &Limits::default()) {
        Err(ParseError::LimitExceeded { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_huge_depth_limit_is_clamped_before_the_stack_runs_out() {
    // 20,000 nested levels, with a caller asking for no practical limit, on a thread with
    // a small (1 MiB) stack: the hard ceiling answers before the recursion gets deep.
    let mut b = el(0x0008_0016, b"UI", b"1.2\0");
    for _ in 0..20_000 {
        b.extend_from_slice(&[
            0x40, 0x00, 0x30, 0xA7, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    let limits = Limits {
        max_depth: usize::MAX,
        ..Limits::default()
    };
    let r = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            matches!(
                parse(&b, &limits),
                Err(ParseError::LimitExceeded { limit: 256, .. })
            )
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(r);
}

/// Encodes SR test data in explicit or implicit VR little endian.
#[derive(Clone, Copy)]
struct Enc {
    explicit: bool,
}

impl Enc {
    fn el(self, tag: Tag, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
        v.extend_from_slice(&((tag & 0xFFFF) as u16).to_le_bytes());
        match (self.explicit, vr_class(Vr(*vr)) == Some(true)) {
            (true, false) => {
                v.extend_from_slice(vr);
                v.extend_from_slice(&(value.len() as u16).to_le_bytes());
            }
            (true, true) => {
                v.extend_from_slice(vr);
                v.extend_from_slice(&[0, 0]);
                v.extend_from_slice(&(value.len() as u32).to_le_bytes());
            }
            (false, _) => v.extend_from_slice(&(value.len() as u32).to_le_bytes()),
        }
        v.extend_from_slice(value);
        v
    }

    /// A sequence of `items`, each of the given bytes; `defined`: with lengths (the
    /// sequence's and its items'), else with delimiters.
    fn sq(self, tag: Tag, vr: &[u8; 2], items: &[Vec<u8>], defined: bool) -> Vec<u8> {
        let mut value = Vec::new();
        for item in items {
            value.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
            if defined {
                value.extend_from_slice(&(item.len() as u32).to_le_bytes());
                value.extend_from_slice(item);
            } else {
                value.extend_from_slice(&UNDEFINED.to_le_bytes());
                value.extend_from_slice(item);
                value.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
            }
        }
        if !defined {
            value.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        }
        let mut v = self.el(tag, vr, &[]);
        let len = if defined {
            value.len() as u32
        } else {
            UNDEFINED
        };
        let at = v.len() - 4;
        v[at..].copy_from_slice(&len.to_le_bytes());
        v.extend(value);
        v
    }

    fn code(self, value: &[u8], scheme: &[u8], meaning: &[u8]) -> Vec<u8> {
        let mut v = self.el(CODE_VALUE, b"SH", value);
        v.extend(self.el(CODING_SCHEME, b"SH", scheme));
        v.extend(self.el(CODE_MEANING, b"LO", meaning));
        v
    }

    /// A NUM content item: concept, value and unit, the sequences with lengths or not.
    fn num(self, concept: &[u8], meaning: &[u8], unit: &[u8], defined: bool) -> Vec<u8> {
        let mut v = self.el(RELATIONSHIP_TYPE, b"CS", b"CONTAINS");
        v.extend(self.el(0x0040_A040, b"CS", b"NUM "));
        let name = self.code(concept, b"DCM ", meaning);
        v.extend(self.sq(CONCEPT_NAME, b"SQ", &[name], defined));
        let mut mv = self.sq(UNITS, b"SQ", &[self.code(unit, b"UCUM", unit)], !defined);
        mv.extend(self.el(0x0040_A30A, b"DS", b"1.5 "));
        v.extend(self.sq(0x0040_A300, b"SQ", &[mv], defined));
        v
    }

    /// A report's dataset holding every form of code sequence: repeated codes (read once
    /// each), with lengths and without, a fourth value, a Long Code Value, no value, two
    /// items, none, a nested sequence, too many values; in explicit data, a UN sequence.
    fn report(self) -> Vec<u8> {
        let mut items = Vec::new();
        for round in 0..3 {
            for defined in [false, true] {
                items.push(self.num(b"113722", b"Dose Area Product Total", b"Gy.m2", defined));
                items.push(self.num(b"113725", b"Dose (RP) Total", b"Gy", defined));
                if round == 0 {
                    items.push(self.num(b"113725", b"Dose (RP) total", b"Gy", defined));
                }
            }
        }
        let mut odd = Vec::new();
        let mut with_version = self.code(b"113738", b"DCM", b"Dose (RP)");
        with_version.extend(self.el(0x0008_0103, b"SH", b"01"));
        odd.push(vec![with_version]);
        let mut long = self.el(CODE_VALUE, b"SH", b"  ");
        long.extend(self.el(LONG_CODE_VALUE, b"UC", b"a-long-code-value-of-more-than-16"));
        long.extend(self.el(CODING_SCHEME, b"SH", b"99X"));
        odd.push(vec![long]);
        odd.push(vec![self.el(CODE_MEANING, b"LO", b"no value")]);
        odd.push(vec![
            self.code(b"1", b"DCM", b"first"),
            self.code(b"2", b"DCM", b"second"),
        ]);
        odd.push(vec![]);
        let mut nested = self.code(b"3", b"DCM", b"with an equivalent code");
        nested.extend(self.sq(0x0008_0121, b"SQ", &[self.code(b"4", b"DCM", b"x")], true));
        odd.push(vec![nested]);
        let mut many = self.code(b"5", b"DCM", b"many values");
        for i in 0..6u32 {
            many.extend(self.el(0x0009_1000 + i, b"LO", b"x "));
        }
        odd.push(vec![many]);
        for (i, code) in odd.iter().enumerate() {
            let mut v = self.el(RELATIONSHIP_TYPE, b"CS", b"HAS PROPERTIES");
            v.extend(self.el(0x0040_A040, b"CS", b"CODE"));
            v.extend(self.sq(CONCEPT_NAME, b"SQ", &[self.code(b"9", b"DCM", b"n")], true));
            v.extend(self.sq(CONCEPT_CODE, b"SQ", code, i % 2 == 0));
            items.push(v);
        }
        if self.explicit {
            // A UN sequence of undefined length: implicit VR inside (PS3.5 6.2.2).
            let implicit = Enc { explicit: false };
            let mut v = self.el(RELATIONSHIP_TYPE, b"CS", b"CONTAINS");
            v.extend(implicit_un(&implicit.sq(
                CONCEPT_NAME,
                b"SQ",
                &[implicit.code(b"113722", b"DCM ", b"Dose Area Product Total")],
                false,
            )));
            items.push(v);
        }
        let mut ds = self.el(0x0008_0016, b"UI", b"1.2.840.10008.5.1.4.1.1.88.67\0");
        ds.extend(self.sq(0x0040_A730, b"SQ", &items, false));
        ds
    }
}

/// An implicit VR sequence of undefined length re-encoded as an explicit VR UN element.
fn implicit_un(implicit_sq: &[u8]) -> Vec<u8> {
    let mut v = implicit_sq[..4].to_vec();
    v.extend_from_slice(b"UN\0\0");
    v.extend_from_slice(&implicit_sq[4..]);
    v
}

#[test]
fn the_roots_first_content_sequence_is_visited_in_any_encoding() {
    // The root's Content Sequence with lengths or delimiters, as an undefined-length UN (an
    // implicit VR sequence inside explicit data), and twice at the top level (only the first
    // is visited; the second stays in the tree). Each way, items nested in content items
    // and a limit hit after some items were visited read as from the whole tree.
    for explicit in [true, false] {
        let e = Enc { explicit };
        // Five content items, each with 0 to 4 items nested in it, encoded by `enc`.
        let items_in = |enc: Enc| -> Vec<Vec<u8>> {
            (0..5)
                .map(|n| {
                    let mut item = enc.num(b"113722", b"Dose Area Product Total", b"Gy.m2", true);
                    let nested = vec![enc.num(b"113725", b"Dose", b"Gy", false); n];
                    item.extend(enc.sq(CONTENT_SEQUENCE, b"SQ", &nested, false));
                    item
                })
                .collect()
        };
        let items = items_in(e);
        let mut forms = vec![
            e.sq(CONTENT_SEQUENCE, b"SQ", &items, true),
            e.sq(CONTENT_SEQUENCE, b"SQ", &items, false),
        ];
        if explicit {
            let as_implicit = items_in(Enc { explicit: false });
            forms.push(e.sq(CONTENT_SEQUENCE, b"UN", &as_implicit, false));
        }
        let twice = {
            let mut v = e.sq(CONTENT_SEQUENCE, b"SQ", &items[..2], false);
            v.extend(e.sq(CONTENT_SEQUENCE, b"SQ", &items[2..], true));
            v
        };
        forms.push(twice.clone());
        for content in forms {
            let mut ds = e.el(0x0008_0016, b"UI", b"1.2.840.10008.5.1.4.1.1.88.67\0");
            ds.extend(e.el(0x0040_A040, b"CS", b"CONTAINER "));
            ds.extend(content);
            ds.extend(e.el(0x0040_DB73, b"LO", b"after the content"));
            assert!(parse(&ds, &Limits::default()).is_ok());
            read_alike(&ds, &Limits::default());
            for max_elements in [20, 60, 120] {
                read_alike(
                    &ds,
                    &Limits {
                        max_elements,
                        ..Limits::default()
                    },
                );
            }
        }
        // Twice at the top level: the first sequence's items are visited, the second's kept.
        let mut ds = e.el(0x0008_0016, b"UI", b"1.2.840.10008.5.1.4.1.1.88.67\0");
        ds.extend(twice);
        let mut visited = 0;
        let p = parse_visiting(&ds, &Limits::default(), false, &mut |_| visited += 1).unwrap();
        assert_eq!(visited, 2);
        let sequences: Vec<usize> = p
            .dataset
            .root()
            .stored()
            .iter()
            .filter(|s| s.tag == CONTENT_SEQUENCE)
            .map(|s| s.len as usize)
            .collect();
        assert_eq!(sequences, [0, 3]);
    }
}

#[test]
fn code_sequences_kept_as_codes_read_as_their_items_do() {
    for explicit in [true, false] {
        let report = Enc { explicit }.report();
        let codes = read_alike(&report, &Limits::default());
        // Dose Area Product Total, Dose (RP) Total, Dose (RP) total, Gy.m2 and Gy, each with
        // lengths and without, whatever the repeats: 10 entries. Then the 4-value code, the
        // Long Code Value and "n" (7 times): 13, and the UN sequence's in explicit data.
        assert_eq!(codes, if explicit { 14 } else { 13 });
        let p = parse(&report, &Limits::default()).unwrap();
        let content: Vec<_> = p.dataset.root().items(CONTENT_SEQUENCE).iter().collect();
        let dap = content[0].code(CONCEPT_NAME).unwrap();
        assert_eq!((dap.value, dap.scheme), (&b"113722"[..], &b"DCM"[..]));
        assert_eq!(dap.meaning, b"Dose Area Product Total");
        let unit = content[0]
            .items(0x0040_A300)
            .first()
            .unwrap()
            .code(UNITS)
            .unwrap();
        assert_eq!(unit.value, b"Gy.m2");
        // The odd forms, after the 14 NUM items.
        let coded = |i: usize| content[14 + i].code(CONCEPT_CODE).map(|c| c.value);
        assert_eq!(coded(0), Some(&b"113738"[..]));
        assert_eq!(coded(1), Some(&b"a-long-code-value-of-more-than-16"[..]));
        assert_eq!(coded(2), None);
        assert_eq!(coded(3), Some(&b"1"[..]));
        assert_eq!(coded(4), None);
        assert_eq!(coded(5), Some(&b"3"[..]));
        assert_eq!(coded(6), Some(&b"5"[..]));
        if explicit {
            let un = content[21].code(CONCEPT_NAME).unwrap();
            assert_eq!(un.value, b"113722");
        }
        // Under Miri, which is slow, a sample of each.
        let step = if cfg!(miri) { 293 } else { 1 };
        // Every element limit and depth limit fails (or not) at the same place both ways.
        for max_elements in (1..400).step_by(step) {
            let limits = Limits {
                max_elements,
                ..Limits::default()
            };
            read_alike(&report, &limits);
        }
        for max_depth in 0..6 {
            let limits = Limits {
                max_depth,
                ..Limits::default()
            };
            read_alike(&report, &limits);
        }
        // Every truncation, and bytes flipped at random.
        for cut in (0..report.len()).step_by(step) {
            read_alike(&report[..cut], &Limits::default());
        }
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..3_000 / step {
            let mut b = report.clone();
            for _ in 0..1 + (x >> 60) % 3 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let at = (x >> 20) as usize % b.len();
                b[at] ^= (x >> 8) as u8 | 1;
            }
            read_alike(&b, &Limits::default());
        }
    }
}

#[test]
fn a_code_read_in_one_syntax_is_not_reused_in_another() {
    // An explicit VR code sequence of undefined length, then a UN sequence whose value is
    // the same bytes: its Code Value has another VR than the dictionary's (LO), so that the
    // UN's items read as implicit VR, where they are not a code item (the VR reads as part
    // of a length), and reading fails, as it does without the code table.
    let e = Enc { explicit: true };
    let mut code_item = e.el(CODE_VALUE, b"LO", b"113722");
    code_item.extend(e.el(CODING_SCHEME, b"SH", b"DCM "));
    code_item.extend(e.el(CODE_MEANING, b"LO", b"DAP "));
    let code = e.sq(CONCEPT_NAME, b"SQ", &[code_item], false);
    let mut un = code[..4].to_vec();
    un.extend_from_slice(b"UN\0\0");
    un.extend_from_slice(&code[8..]);
    let mut item = e.el(RELATIONSHIP_TYPE, b"CS", b"CONTAINS");
    item.extend(code);
    let mut ds = e.el(0x0008_0016, b"UI", b"1.2.840.10008.5.1.4.1.1.88.67\0");
    let mut second = item.clone();
    second.extend(un);
    ds.extend(e.sq(CONTENT_SEQUENCE, b"SQ", &[item, second], false));
    read_alike(&ds, &Limits::default());
    assert!(parse(&ds, &Limits::default()).is_err());
}

#[test]
fn corpus_code_sequences_read_alike() {
    // The corpus when the environment names it (as CI does); its reports are checked
    // whole, and cut and flipped, both ways.
    let Some(dir) = std::env::var_os("KERMA_CORPUS") else {
        return;
    };
    let mut reports = 0;
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        if read_alike(&bytes, &Limits::default()) > 0 {
            reports += 1;
            let mut x = bytes.len() as u64;
            for i in 0..40 {
                read_alike(&bytes[..bytes.len() * i / 40], &Limits::default());
                let mut b = bytes.clone();
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let at = (x >> 20) as usize % b.len();
                b[at] ^= (x >> 8) as u8 | 1;
                read_alike(&b, &Limits::default());
            }
        }
    }
    assert!(reports >= 20, "{reports} reports with codes in the corpus");
}

#[test]
fn a_cut_header_names_the_end_of_the_first_cut_field() {
    // Each header, and the end of its fields: tag group and element, then the VR, the
    // (reserved and) length fields of each form.
    let explicit = Syntax::ExplicitLittle;
    let implicit = Syntax::ImplicitLittle;
    let short = el(0x0010_0020, b"LO", b"");
    let mut long = el(0x0009_1010, b"OB", b"");
    long.splice(6..8, [0, 0, 0, 0, 0, 0]);
    let implicit_header = [0x10, 0x00, 0x20, 0x00, 0, 0, 0, 0];
    let item = [0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0];
    for (header, syntax, ends) in [
        (&short[..], explicit, &[2, 4, 6, 8][..]),
        (&long[..], explicit, &[2, 4, 6, 12]),
        (&implicit_header[..], implicit, &[2, 4, 8]),
        (&item[..], explicit, &[2, 4, 8]),
        (&item[..], implicit, &[2, 4, 8]),
    ] {
        assert_eq!(header.len(), *ends.last().unwrap());
        for cut in 0..header.len() {
            let needed = ends.iter().find(|&&e| e > cut).unwrap();
            match decode::<Bad>(&header[..cut], 0, syntax) {
                Err(Bad::Truncated(n)) => assert_eq!(n, *needed, "{header:?} cut at {cut}"),
                _ => panic!("{header:?} cut at {cut}"),
            }
        }
        let (h, size) = decode::<Bad>(header, 0, syntax).ok().unwrap();
        assert_eq!((h.len, size), (0, header.len()));
    }
    let mut bad = short.clone();
    bad[4] = b'l';
    assert!(matches!(
        decode::<Bad>(&bad, 0, explicit),
        Err(Bad::InvalidVr)
    ));
}
