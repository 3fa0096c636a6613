//! `--list`: what kerma knows, from the bundled tables and the user's.

use std::collections::BTreeMap;
use std::io::{self, Write};

use kerma::reference::{MinSampleSize, SurveyConfig};

use crate::args::List;
use crate::labels::{quantity_name, significant, unit_name};

/// Names of the jurisdiction codes of the bundled tables.
const JURISDICTIONS: &[(&str, &str)] = &[
    ("AU", "Australia"),
    ("CH", "Switzerland"),
    ("DE", "Germany"),
    ("ES", "Spain"),
    ("EU", "European (multinational surveys)"),
    ("FR", "France"),
    ("KR", "South Korea"),
    ("MA", "Morocco"),
    ("UK", "United Kingdom"),
    ("US", "United States"),
];

fn jurisdiction_name(code: &str) -> &str {
    JURISDICTIONS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map_or("", |(_, n)| n)
}

pub fn write(mut out: impl Write, what: List, config: &SurveyConfig) -> io::Result<()> {
    match what {
        List::ProcedureTypes => procedure_types(&mut out, config),
        List::Jurisdictions => jurisdictions(&mut out, config),
        List::Drl => drl(&mut out, config),
    }
}

/// Every procedure code that a rule assigns or a table has, with its name and where levels
/// exist for it.
fn procedure_types(out: &mut impl Write, config: &SurveyConfig) -> io::Result<()> {
    writeln!(
        out,
        "{:<34} {:<46} {:<6} {:<20} trigger levels",
        "code", "name", "typed", "DRLs"
    )?;
    for t in config.tables.procedure_types(&config.mapping) {
        let name = if t.name.is_empty() { &t.code } else { &t.name };
        writeln!(
            out,
            "{:<34} {name:<46} {:<6} {:<20} {}",
            t.code,
            if t.mapping_rules > 0 { "yes" } else { "no" },
            dash(&t.drl_jurisdictions.join(" ")),
            dash(&t.trigger_jurisdictions.join(" "))
        )?;
    }
    writeln!(
        out,
        "\n\"typed\": a procedure-typing rule assigns the code (data/procedure-types.csv, --mapping).\n\
         Trigger levels without a code apply to every procedure."
    )
}

fn dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// Every jurisdiction of the tables, with its sources and minimum sample size.
fn jurisdictions(out: &mut impl Write, config: &SurveyConfig) -> io::Result<()> {
    #[derive(Default)]
    struct J<'a> {
        drl: BTreeMap<&'a str, (Option<i32>, usize)>,
        triggers: BTreeMap<&'a str, (Option<i32>, usize)>,
    }
    let mut all: BTreeMap<String, J> = BTreeMap::new();
    for l in config.tables.drl_levels() {
        let e = all
            .entry(l.jurisdiction.to_ascii_uppercase())
            .or_default()
            .drl
            .entry(&l.source_id)
            .or_insert((l.year, 0));
        e.1 += 1;
    }
    for l in config.tables.trigger_levels() {
        let e = all
            .entry(l.jurisdiction.to_ascii_uppercase())
            .or_default()
            .triggers
            .entry(&l.source_id)
            .or_insert((l.year, 0));
        e.1 += 1;
    }
    let sources = |m: &BTreeMap<&str, (Option<i32>, usize)>| {
        m.iter()
            .map(|(s, (y, n))| {
                let rows = if *n == 1 {
                    "1 row".to_owned()
                } else {
                    format!("{n} rows")
                };
                match y {
                    Some(y) => format!("{s} ({y}, {rows})"),
                    None => format!("{s} ({rows})"),
                }
            })
            .collect::<Vec<_>>()
    };
    for (code, j) in &all {
        let min = min_sample(&config.min_sample_sizes, code);
        writeln!(out, "{code}  {}", jurisdiction_name(code))?;
        writeln!(out, "    minimum sample for a DRL comparison: {min}")?;
        for s in sources(&j.drl) {
            writeln!(out, "    reference levels: {s}")?;
        }
        for s in sources(&j.triggers) {
            writeln!(out, "    trigger levels:   {s}")?;
        }
    }
    writeln!(
        out,
        "\n--jurisdiction CODE compares with the most recent reference level of CODE for each\n\
         procedure type and quantity. The sources are described in data/reference-levels/SOURCES.md."
    )
}

/// The minimum sample size that applies to every procedure of jurisdiction `code`.
fn min_sample(table: &[MinSampleSize], code: &str) -> String {
    let pick = table
        .iter()
        .find(|m| {
            m.procedure_code.is_none()
                && m.jurisdiction
                    .as_deref()
                    .is_some_and(|j| j.eq_ignore_ascii_case(code))
        })
        .or_else(|| {
            table
                .iter()
                .find(|m| m.jurisdiction.is_none() && m.procedure_code.is_none())
        });
    pick.map_or_else(
        || "-".to_owned(),
        |m| {
            format!(
                "{} procedures ({}{})",
                m.n,
                m.basis,
                if m.verified { "" } else { "; not verified" }
            )
        },
    )
}

/// Every reference level, with its source and where it was read.
fn drl(out: &mut impl Write, config: &SurveyConfig) -> io::Result<()> {
    writeln!(
        out,
        "{:<4} {:<34} {:<5} {:<30} {:<17} {:<18} {:>10} {:<8} {:<29} origin",
        "jur.",
        "source",
        "year",
        "procedure type",
        "population",
        "quantity",
        "value",
        "unit",
        "statistic"
    )?;
    let mut levels: Vec<_> = config.tables.drl_levels().iter().collect();
    levels.sort_by(|a, b| {
        (
            a.jurisdiction.as_str(),
            &a.procedure_code,
            a.source_id.as_str(),
        )
            .cmp(&(
                b.jurisdiction.as_str(),
                &b.procedure_code,
                b.source_id.as_str(),
            ))
    });
    for l in levels {
        let q = l.value.quantity();
        let kind = if l.is_guide_value() {
            format!("{} (guide)", quantity_name(q))
        } else {
            quantity_name(q).to_owned()
        };
        writeln!(
            out,
            "{:<4} {:<34} {:<5} {:<30} {:<17} {:<18} {:>10} {:<8} {:<29} {}",
            l.jurisdiction,
            l.source_id,
            l.year.map_or_else(|| "-".to_owned(), |y| y.to_string()),
            l.procedure_code,
            dash(&l.population),
            kind,
            significant(l.value.in_report_unit(), 6),
            unit_name(q.report_unit()),
            dash(&l.statistic),
            l.origin
        )?;
    }
    writeln!(
        out,
        "\nEach source is described, with what was checked and where, in\n\
         data/reference-levels/SOURCES.md. A level applies to the median of a sample of\n\
         procedures, never to one patient."
    )
}
