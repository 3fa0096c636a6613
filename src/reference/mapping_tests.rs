//! Tests of the mapping format and of the bundled rules, each rule against its own real-looking
//! example and near miss.

use std::sync::OnceLock;

use super::*;
use crate::reference::pattern::fold;

/// The bundled mapping, read once for the property test.
fn bundled() -> &'static ProcedureMapping {
    static MAP: OnceLock<ProcedureMapping> = OnceLock::new();
    MAP.get_or_init(ProcedureMapping::bundled)
}

proptest::proptest! {
    #[test]
    fn classify_never_panics(text in "\\PC{0,40}", room in "\\PC{0,8}") {
        let map = bundled();
        let c = map.classify(&room, &[ProcedureText::new(TextField::ProtocolName, text.clone())]);
        proptest::prop_assert_eq!(c.procedure_code.is_some(), matches!(c.status, MatchStatus::Matched | MatchStatus::MultipleResolved));
        let f = fold(&text);
        proptest::prop_assert_eq!(fold(&f), f);
    }
}

fn one(map: &ProcedureMapping, field: TextField, text: &str) -> Classification {
    map.classify("room", &[ProcedureText::new(field, text)])
}

fn code(text: &str) -> Option<String> {
    one(
        &ProcedureMapping::bundled(),
        TextField::StudyDescription,
        text,
    )
    .procedure_code
}

#[test]
fn every_bundled_rule_types_its_example_and_not_its_near_miss() {
    let map = ProcedureMapping::bundled();
    assert!(map.rules.len() > 150, "{} rules", map.rules.len());
    for rule in &map.rules {
        let field = rule.field.example_field();
        assert!(
            !rule.examples.is_empty() && !rule.near_misses.is_empty(),
            "{}: every bundled rule has an example and a near miss",
            rule.origin
        );
        for e in &rule.examples {
            assert!(
                rule.matches_text(field, &Folded::new(e)),
                "{}: {e}",
                rule.origin
            );
            let c = one(&map, field, e);
            assert_eq!(
                c.procedure_code.as_deref(),
                Some(rule.code.as_str()),
                "{}: example {e:?} is typed {:?}",
                rule.origin,
                c
            );
        }
        for n in &rule.near_misses {
            assert!(
                !rule.matches_text(field, &Folded::new(n)),
                "{}: {n}",
                rule.origin
            );
            let c = one(&map, field, n);
            assert_ne!(
                c.procedure_code.as_deref(),
                Some(rule.code.as_str()),
                "{}: near miss {n:?} is typed {:?}",
                rule.origin,
                c
            );
        }
    }
}

#[test]
fn bundled_mapping_common_names() {
    let cases = [
        ("CORONAROGRAPHIE", "coronary_angiography"),
        ("Coronary angiography", "coronary_angiography"),
        ("CORO DIAGNOSTIC", "coronary_angiography"),
        ("CORO G ET D", "coronary_angiography"),
        ("Coronarogr.", "coronary_angiography"),
        ("Coro + ATL IVA", "pci"),
        ("Angioplastie coronaire 2 stents", "pci"),
        ("PTCA LAD", "pci"),
        ("Chimio-embolisation hépatique", "tace_liver"),
        ("CHIMIO EMBOL FOIE", "tace_liver"),
        ("DEB-TACE", "tace_liver"),
        ("Hepatic chemoembolization", "tace_liver"),
        ("Embolisation utérine", "uterine_fibroid_embolisation"),
        (
            "Embolisation de fibromes utérins",
            "uterine_fibroid_embolisation",
        ),
        (
            "Uterine artery embolisation",
            "uterine_fibroid_embolisation",
        ),
        ("VERTEBROPLASTIE L2", "vertebroplasty"),
        ("VTP L2", "vertebroplasty"),
        ("Vertebroplasty", "vertebroplasty"),
        ("Drainage biliaire externe", "biliary_drainage"),
        ("PTBD", "biliary_drainage"),
        ("Percutaneous biliary drainage", "biliary_drainage"),
        ("Artériographie cérébrale", "cerebral_angiography"),
        ("ARTERIO CEREBRALE", "cerebral_angiography"),
        ("Cerebral angiogram", "cerebral_angiography"),
        ("Embolisation d'anévrisme cérébral", "neuro_embolisation"),
        (
            "Artériographie des membres inférieurs",
            "lower_limb_arteriography",
        ),
        ("ARTERIO MI/MS", "lower_limb_arteriography"),
        ("Lower limb angiography", "lower_limb_arteriography"),
        ("Artériographie rénale", "renal_arteriography"),
        (
            "Biopsie hépatique transjugulaire",
            "transjugular_liver_biopsy",
        ),
        ("Prothèse colique", "colonic_stent"),
        (
            "Angioplastie fémoro-poplitée",
            "femoropopliteal_revascularisation",
        ),
        ("ATL AFS droite", "femoropopliteal_revascularisation"),
        ("Stent iliaque", "iliac_stent"),
        ("TAVI", "tavi"),
        ("Ablation de flutter", "electrophysiology"),
        ("Etude électrophysiologique", "electrophysiology"),
        ("Pacemaker double chambre", "pacemaker_dual_chamber"),
        ("Pose PM DDD", "pacemaker_dual_chamber"),
        ("Stimulateur simple chambre", "pacemaker_single_chamber"),
        ("Resynchronisation cardiaque", "crt_implantation"),
    ];
    for (text, expected) in cases {
        assert_eq!(code(text).as_deref(), Some(expected), "{text}");
    }
    // Not a fluoroscopy procedure type of the DRL table, or not enough to say which
    for text in [
        "Specimen radiograph",
        "Thorax face",
        "",
        "Fistulographie",
        "angioplastie rénale",
        "pose de chambre implantable",
        "TIPS",
        "PTC",
        "ATL",
        "ATL MI",
        "Coroscanner",
        "Thrombectomie mécanique ACM",
        "Radioembolisation hépatique (SIRT)",
        "Cyphoplastie L1",
        "CPRE + prothèse biliaire",
        "Embolisation utérine pour hémorragie du post-partum",
        "Coro bilan pré-TAVI",
    ] {
        let c = code(text);
        assert!(
            c.is_none()
                || (text == "Coro bilan pré-TAVI" && c.as_deref() == Some("coronary_angiography")),
            "{text}: {c:?}"
        );
    }
    // a near miss of one type may be another type
    assert_eq!(
        code("Coro contrôle post ATL").as_deref(),
        Some("coronary_angiography")
    );
    assert_eq!(code("DAI DDD"), None);
}

/// The descriptions, procedure codes and protocol names of the real corpus
/// (`$KERMA_CORPUS`), with the baseline's procedure ids: none is a fluoroscopy procedure type
/// of the DRL table that can be told from its wording, so all stay untyped.
#[test]
fn real_corpus_texts_stay_untyped() {
    use TextField::*;
    let map = ProcedureMapping::bundled();
    let procedures: &[&[(TextField, &str)]] = &[
        &[
            (StudyDescription, "liuotushoidon raajojen"),
            (PerformedProcedureStepDescription, "liuotushoidon raajojen"),
            (ProtocolName, "Abdomen 2fps 25%"),
        ],
        &[
            (StudyDescription, "Exam Protocol SR"),
            (ProtocolName, "FL - Ang"),
        ],
        &[
            (StudyDescription, "CR THORAX"),
            (ProtocolName, "THORAX AP 90kv-0,9mAs"),
        ],
        &[
            (StudyDescription, "Z_Physics Test"),
            (ProtocolName, "Phys erect lrgfld"),
        ],
        &[(StudyDescription, "DL OK THORAX"), (ProtocolName, "Skelet")],
        &[
            (StudyDescription, "Cardiac"),
            (StudyDescription, "Radiation Dose Information"),
        ],
        &[
            (StudyDescription, "DSA Body"),
            (RequestedProcedureDescription, "Prov/Test"),
            (ProcedureCode, "XXXXX Prov/Test"),
            (ProtocolName, "Body 2"),
            (ProtocolName, "FL låg High Con."),
            (ProtocolName, "PTC/Nefro"),
        ],
        &[
            (StudyDescription, "Kardiologisk 7,5 b/s"),
            (ProtocolName, "Coronar Med 7.5 b/s  (Normal)"),
        ],
        // a temporary pacing lead: not a pacemaker implantation, and no chamber count
        &[
            (StudyDescription, "Cardiac pacemaker temporary"),
            (ProtocolName, "CP_Standard"),
        ],
        &[
            (StudyDescription, "Functieonderzoek t.b.v. HCK"),
            (ProtocolName, "Functieonderzoek t.b.v. HCK"),
        ],
        &[
            (StudyDescription, "hardware removal"),
            (StudyDescription, "Unknown Protocol"),
        ],
        &[
            (StudyDescription, "Huvud"),
            (ProtocolName, "Cerebral 2fps 25%"),
        ],
        &[
            (StudyDescription, "Mobile image intensifier thorax"),
            (StudyDescription, "Radiation Summary Report"),
        ],
        &[
            (RequestedProcedureDescription, "Gastrostomy Insertion"),
            (ProcedureCode, "IGPEGI Gastrostomy Insertion"),
            (ProtocolName, "Gastro 7.5f/s Middle"),
        ],
    ];
    for texts in procedures {
        let texts: Vec<ProcedureText> = texts
            .iter()
            .map(|(f, t)| ProcedureText::new(*f, *t))
            .collect();
        let c = map.classify("room", &texts);
        assert_eq!(c.status, MatchStatus::Unmatched, "{texts:?}: {c:?}");
    }
}

#[test]
fn protocol_names_are_not_read_by_abbreviation_rules() {
    let map = ProcedureMapping::bundled();
    // an acquisition program named after the cardiac room's main use
    let c = one(&map, TextField::ProtocolName, "Coro 10fps");
    assert_eq!(c.status, MatchStatus::Unmatched);
    let c = one(&map, TextField::RequestedProcedureDescription, "Coro 10fps");
    assert_eq!(c.procedure_code.as_deref(), Some("coronary_angiography"));
    // a full name is read wherever it is
    let c = one(&map, TextField::ProtocolName, "Coronarographie");
    assert_eq!(c.procedure_code.as_deref(), Some("coronary_angiography"));
    // and a procedure code's meaning is a description
    let c = one(&map, TextField::ProcedureCode, "CC01 CORO + ATL IVA");
    assert_eq!(c.procedure_code.as_deref(), Some("pci"));
    // a code value, with any meaning
    let c = one(&map, TextField::ProcedureCode, "415070008 PCI");
    assert_eq!(c.procedure_code.as_deref(), Some("pci"));
    let c = one(&map, TextField::StudyDescription, "415070008");
    assert_eq!(c.status, MatchStatus::Unmatched);
}

#[test]
fn an_optional_part_leaves_the_procedure_untyped() {
    let map = ProcedureMapping::bundled();
    for text in [
        "Coronarographie +/- angioplastie",
        "CORO ± ATL",
        "Coro +- ATL IVA",
    ] {
        let c = one(&map, TextField::StudyDescription, text);
        assert_eq!(c.status, MatchStatus::Ambiguous, "{text}");
        assert_eq!(c.procedure_code, None);
        assert_eq!(c.matched_codes, ["pci", "coronary_angiography"], "{text}");
    }
    // one type only: the marker changes nothing
    let c = one(&map, TextField::StudyDescription, "Coronarographie +/- FFR");
    assert_eq!(c.procedure_code.as_deref(), Some("coronary_angiography"));
    // without the marker, PCI takes precedence over the diagnostic part
    let c = one(
        &map,
        TextField::StudyDescription,
        "Coronarographie + angioplastie",
    );
    assert_eq!(
        (c.status, c.procedure_code.as_deref()),
        (MatchStatus::MultipleResolved, Some("pci"))
    );
    // two therapeutic types of equal priority
    let c = one(&map, TextField::StudyDescription, "TAVI + ATL IVA");
    assert_eq!((c.status, c.procedure_code), (MatchStatus::Ambiguous, None));
}

#[test]
fn bundled_codes_are_drl_codes() {
    let tables = crate::reference::ReferenceTables::bundled();
    for c in ProcedureMapping::bundled().procedure_codes() {
        assert!(
            tables.drl_levels().iter().any(|l| l.procedure_code == c),
            "{c} is not a procedure_code of drl.csv"
        );
    }
}

#[test]
fn priority_ties_and_rooms() {
    let mut m = ProcedureMapping::default();
    m.load_csv(
        "m.csv",
        "priority,procedure_code,field,match,pattern,room\n\
         10,pci,,word,pci,\n\
         10,tavi,,word,tavi,\n\
         50,coronary_angiography,protocol_name,,coro,\n\
         90,electrophysiology,,,*,EP-LAB\n"
            .as_bytes(),
    )
    .unwrap();
    let c = m.classify(
        "x",
        &[
            ProcedureText::new(TextField::StudyDescription, "PCI"),
            ProcedureText::new(TextField::StudyDescription, "TAVI"),
        ],
    );
    assert_eq!(c.status, MatchStatus::Ambiguous);
    assert_eq!(c.procedure_code, None);
    assert_eq!(c.rules, ["m.csv:2", "m.csv:3"]);
    // field restriction
    assert_eq!(
        one(&m, TextField::StudyDescription, "coro").status,
        MatchStatus::Unmatched
    );
    assert_eq!(
        one(&m, TextField::ProtocolName, "Coro gauche")
            .procedure_code
            .as_deref(),
        Some("coronary_angiography")
    );
    // room-only rule matches without any text
    let c = m.classify("ep-lab", &[]);
    assert_eq!(c.procedure_code.as_deref(), Some("electrophysiology"));
}

#[test]
fn description_scope_unless_and_prefix() {
    let mut m = ProcedureMapping::default();
    m.load_csv(
        "m.csv",
        "priority,procedure_code,field,match,pattern,unless\n\
         10,coronary_angiography,description,word,coro,scanner|ct\n\
         10,tace_liver,any,prefix,chimio*embol,\n"
            .as_bytes(),
    )
    .unwrap();
    let typed = |f: TextField, t: &str| one(&m, f, t).procedure_code;
    for f in [
        TextField::StudyDescription,
        TextField::RequestedProcedureDescription,
        TextField::PerformedProcedureStepDescription,
        TextField::ProcedureCode,
    ] {
        assert_eq!(
            typed(f, "CORO").as_deref(),
            Some("coronary_angiography"),
            "{f:?}"
        );
    }
    assert_eq!(typed(TextField::ProtocolName, "CORO"), None);
    // unless: whole words of the same text
    assert_eq!(typed(TextField::StudyDescription, "Coro-scanner"), None);
    assert_eq!(typed(TextField::StudyDescription, "CORO CT"), None);
    assert_eq!(
        typed(TextField::StudyDescription, "CORO CTO").as_deref(),
        Some("coronary_angiography")
    );
    // the word in another text of the procedure does not stop the rule
    let c = m.classify(
        "r",
        &[
            ProcedureText::new(TextField::StudyDescription, "CORO"),
            ProcedureText::new(TextField::RequestedProcedureDescription, "scanner"),
        ],
    );
    assert_eq!(c.procedure_code.as_deref(), Some("coronary_angiography"));
    // prefix
    assert_eq!(
        typed(TextField::ProtocolName, "Chimio-embol.").as_deref(),
        Some("tace_liver")
    );
    assert_eq!(typed(TextField::ProtocolName, "Chimio radioembol"), None);
}

#[test]
fn mapping_errors() {
    let load = |t: &str| ProcedureMapping::default().load_csv("m.csv", t.as_bytes());
    let e = load("priority,procedure_code,pattern\nhigh,pci,pci\n").unwrap_err();
    assert!(e.to_string().starts_with("m.csv:2: column priority"), "{e}");
    let column = |e: ReferenceError| match e {
        ReferenceError::InvalidField { column, .. } => column,
        other => panic!("{other}"),
    };
    assert_eq!(
        column(load("priority,procedure_code,pattern\n1,pci,--\n").unwrap_err()),
        "pattern"
    );
    let e = load("priority,procedure_code,pattern,flavour\n").unwrap_err();
    assert!(matches!(e, ReferenceError::UnknownColumn { .. }));
    assert_eq!(
        column(load("priority,procedure_code,field,pattern\n1,pci,series,pci\n").unwrap_err()),
        "field"
    );
    assert_eq!(
        column(load("priority,procedure_code,match,pattern\n1,pci,regex,pci\n").unwrap_err()),
        "match"
    );
    assert_eq!(
        column(load("priority,procedure_code,pattern,unless\n1,pci,pci,post|--\n").unwrap_err()),
        "unless"
    );
    assert_eq!(
        column(load("priority,procedure_code,pattern,unless\n1,pci,pci,*\n").unwrap_err()),
        "unless"
    );
    // a rule checked against its own examples
    let e = load("priority,procedure_code,match,pattern,example\n1,pci,word,pci,PCI|PCIe\n")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "m.csv:2: column example: invalid value \"PCIe\" (a text that this rule matches)"
    );
    let e = load(
        "priority,procedure_code,match,pattern,unless,near_miss\n1,pci,word,pci,prior,prior PCI|PCI\n",
    )
    .unwrap_err();
    assert_eq!(column(e), "near_miss");
    // a field-restricted rule is checked as a text of that field
    assert_eq!(
        load(
            "priority,procedure_code,field,pattern,example,near_miss\n\
             1,pci,protocol_name,ptca,PTCA,PCI\n"
        )
        .unwrap(),
        1
    );
}
