//! Dose conversion factors of a beam quality: first half-value layer from kVp and filtration,
//! backscatter factor and (μen/ρ) water/air, from the bundled tables of Benmakhlouf et al.
//! (`src/skin/data/`, each with its source in its header).
//!
//! - HVL: the 2011 table's beam qualities. For a tube voltage, the HVL of the 3.1 mm Al
//!   inherent filtration rows is interpolated linearly in added copper; the effect of another
//!   aluminium filtration (inherent + added) is the difference between the copper-free rows
//!   of that aluminium and of 3.1 mm Al, added in full whatever the copper. Copper hardens
//!   the beam so that aluminium matters less behind it (80 kV, 0.3 mm Cu: +0.11 mm HVL per
//!   0.6 mm Al in the table, +0.35 mm without copper): this overestimates the HVL behind
//!   copper, and with it the backscatter factor and the μen/ρ ratio, both of which rise with
//!   HVL, so the dose errs high. Tube voltages are linear between the 10 kV steps and held
//!   at 50 kV below and 150 kV above (the table's range; a lower voltage gets a higher HVL).
//! - Backscatter factor: the 2013 analytic fit in kVp and HVL for each tabulated square field
//!   side (5, 10, 20, 25 and 35 cm), linear in the side between them and held outside them;
//!   kVp held within 50–150 kV.
//! - (μen/ρ) water/air: the 2011 table at the nearest tabulated kVp and field side, linear in
//!   HVL between its beam qualities and held outside them.

/// The 2011 table (Benmakhlouf et al. 2011).
const TABLE_2011: &str = include_str!("data/benmakhlouf_2011.csv");
/// The 2013 fit coefficients (Benmakhlouf et al. 2013).
const FIT_2013: &str = include_str!("data/benmakhlouf_2013_bsf_fit.csv");

/// Tabulated field sides of both tables, cm.
pub(crate) const FIELD_SIDES_CM: [f64; 5] = [5.0, 10.0, 20.0, 25.0, 35.0];
/// Tabulated tube voltages, kV.
const KVPS: [f64; 11] = [
    50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 110.0, 120.0, 130.0, 140.0, 150.0,
];

/// One row of the 2011 table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quality {
    pub kvp_kv: f64,
    pub inherent_mm_al: f64,
    pub added_mm_cu: f64,
    pub hvl_mm_al: f64,
    pub field_side_cm: f64,
    pub backscatter: f64,
    pub mu_en_water_air: f64,
}

/// The bundled factor tables, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct Factors {
    rows: Vec<Quality>,
    /// Per tabulated field side, the nine coefficients of the 2013 fit.
    fit: Vec<(f64, [f64; 9])>,
}

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .skip(1)
}

fn numbers(line: &str) -> Vec<f64> {
    line.split(',')
        .filter_map(|f| f.trim().parse().ok())
        .collect()
}

/// Linear interpolation in `xs` (ascending) of `ys` at `x`, held at both ends; `None` for
/// no points.
pub(crate) fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> Option<f64> {
    let n = xs.len().min(ys.len());
    if n == 0 {
        return None;
    }
    if x <= xs[0] || n == 1 {
        return Some(ys[0]);
    }
    if x >= xs[n - 1] {
        return Some(ys[n - 1]);
    }
    let i = xs[..n].partition_point(|&v| v <= x).clamp(1, n - 1);
    let (x0, x1, y0, y1) = (xs[i - 1], xs[i], ys[i - 1], ys[i]);
    if x1 <= x0 {
        return Some(y0);
    }
    Some(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
}

impl Factors {
    /// The bundled tables, parsed on first use. They are part of the crate and checked by its
    /// tests, so a row that does not parse is left out rather than reported.
    pub(crate) fn bundled() -> &'static Factors {
        static TABLES: std::sync::OnceLock<Factors> = std::sync::OnceLock::new();
        TABLES.get_or_init(Factors::parse)
    }

    fn parse() -> Factors {
        let rows = data_lines(TABLE_2011)
            .filter_map(|l| {
                let v = numbers(l);
                (v.len() == 8).then(|| Quality {
                    kvp_kv: v[0],
                    inherent_mm_al: v[1],
                    added_mm_cu: v[2],
                    hvl_mm_al: v[3],
                    field_side_cm: v[5],
                    backscatter: v[6],
                    mu_en_water_air: v[7],
                })
            })
            .collect();
        let fit = data_lines(FIT_2013)
            .filter_map(|l| {
                let v = numbers(l);
                if v.len() != 10 {
                    return None;
                }
                let mut c = [0.0; 9];
                c.copy_from_slice(&v[1..]);
                Some((v[0], c))
            })
            .collect();
        Factors { rows, fit }
    }

    /// The rows of the 2011 table.
    pub(crate) fn rows(&self) -> &[Quality] {
        &self.rows
    }

    /// Rows at one field side (HVL does not depend on it) and one kVp.
    fn at(&self, kvp: f64) -> impl Iterator<Item = &Quality> {
        self.rows
            .iter()
            .filter(move |q| q.field_side_cm == 20.0 && q.kvp_kv == kvp)
    }

    /// HVL at tabulated `kvp` for `al` mm Al total and `cu` mm Cu added.
    fn hvl_at_kvp(&self, kvp: f64, al: f64, cu: f64) -> Option<f64> {
        let mut by_cu: Vec<(f64, f64)> = self
            .at(kvp)
            .filter(|q| q.inherent_mm_al == 3.1)
            .map(|q| (q.added_mm_cu, q.hvl_mm_al))
            .collect();
        by_cu.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (cus, hvls): (Vec<f64>, Vec<f64>) = by_cu.into_iter().unzip();
        let base = interpolate(&cus, &hvls, cu)?;
        let mut by_al: Vec<(f64, f64)> = self
            .at(kvp)
            .filter(|q| q.added_mm_cu == 0.0)
            .map(|q| (q.inherent_mm_al, q.hvl_mm_al))
            .collect();
        by_al.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (als, hvls): (Vec<f64>, Vec<f64>) = by_al.into_iter().unzip();
        let delta = interpolate(&als, &hvls, al)? - interpolate(&als, &hvls, 3.1)?;
        Some(base + delta)
    }

    /// First HVL (mm Al) of a beam of `kvp_kv` through `al_mm` of aluminium (inherent and
    /// added) and `cu_mm` of added copper (see the module's method).
    pub(crate) fn hvl_mm_al(&self, kvp_kv: f64, al_mm: f64, cu_mm: f64) -> Option<f64> {
        if !(kvp_kv.is_finite() && al_mm.is_finite() && cu_mm.is_finite()) {
            return None;
        }
        let kvp = kvp_kv.clamp(KVPS[0], KVPS[KVPS.len() - 1]);
        let i = KVPS.partition_point(|&k| k <= kvp).clamp(1, KVPS.len() - 1);
        let (k0, k1) = (KVPS[i - 1], KVPS[i]);
        let h0 = self.hvl_at_kvp(k0, al_mm, cu_mm)?;
        let h1 = self.hvl_at_kvp(k1, al_mm, cu_mm)?;
        interpolate(&[k0, k1], &[h0, h1], kvp)
    }

    /// The 2013 fit's backscatter factor at each tabulated field side.
    fn fit_at(&self, kvp: f64, hvl: f64) -> (Vec<f64>, Vec<f64>) {
        let kvp = kvp.clamp(KVPS[0], KVPS[KVPS.len() - 1]);
        self.fit
            .iter()
            .map(|(s, c)| {
                let a = c[0] + c[1] * kvp + c[2] * kvp * kvp;
                let b = c[3] + c[4] * kvp + c[5] * kvp * kvp;
                let q = c[6] + c[7] * kvp + c[8] * kvp * kvp;
                (*s, a + b * hvl + q * hvl * hvl)
            })
            .unzip()
    }

    /// Backscatter factor of a square field of side `field_side_cm` at the skin.
    pub(crate) fn backscatter(&self, kvp_kv: f64, hvl_mm_al: f64, field_side_cm: f64) -> f64 {
        let (sides, bsf) = self.fit_at(kvp_kv, hvl_mm_al);
        interpolate(&sides, &bsf, field_side_cm).unwrap_or(1.0)
    }

    /// (μen/ρ) water/air at the nearest tabulated kVp and field side, linear in HVL.
    pub(crate) fn mu_en_water_air(&self, kvp_kv: f64, hvl_mm_al: f64, field_side_cm: f64) -> f64 {
        let nearest = |set: &[f64], x: f64| {
            set.iter()
                .copied()
                .min_by(|a, b| (a - x).abs().total_cmp(&(b - x).abs()))
                .unwrap_or(x)
        };
        let kvp = nearest(&KVPS, kvp_kv);
        let side = nearest(&FIELD_SIDES_CM, field_side_cm);
        let mut pts: Vec<(f64, f64)> = self
            .rows
            .iter()
            .filter(|q| q.kvp_kv == kvp && q.field_side_cm == side)
            .map(|q| (q.hvl_mm_al, q.mu_en_water_air))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (h, m): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
        interpolate(&h, &m, hvl_mm_al).unwrap_or(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn the_2011_table_is_complete() {
        let f = Factors::bundled();
        assert_eq!(f.rows().len(), 715);
        assert_eq!(f.fit.len(), 5);
        for kvp in KVPS {
            for side in FIELD_SIDES_CM {
                let n = f
                    .rows()
                    .iter()
                    .filter(|q| q.kvp_kv == kvp && q.field_side_cm == side)
                    .count();
                assert_eq!(n, 13, "{kvp} kV, {side} cm");
            }
        }
    }

    /// Anchors of the 2011 table at 20 × 20 cm, 3.1 mm Al, no copper (GEOMETRY.md §3.1).
    #[test]
    fn anchors_of_the_2011_table() {
        let f = Factors::bundled();
        for (kvp, hvl, bsf, mu) in [
            (50.0, 1.99, 1.281, 1.016),
            (70.0, 2.73, 1.359, 1.019),
            (80.0, 3.12, 1.388, 1.021),
            (100.0, 3.95, 1.431, 1.026),
            (120.0, 4.79, 1.455, 1.032),
            (150.0, 6.04, 1.472, 1.040),
        ] {
            let q = f
                .rows()
                .iter()
                .find(|q| {
                    q.kvp_kv == kvp
                        && q.inherent_mm_al == 3.1
                        && q.added_mm_cu == 0.0
                        && q.field_side_cm == 20.0
                })
                .unwrap();
            assert_eq!(
                (q.hvl_mm_al, q.backscatter, q.mu_en_water_air),
                (hvl, bsf, mu)
            );
            assert!(close(f.hvl_mm_al(kvp, 3.1, 0.0).unwrap(), hvl, 1e-9));
            assert!(close(f.mu_en_water_air(kvp, hvl, 20.0), mu, 1e-9));
        }
        // 80 kV + 0.3 mm Cu: HVL 6.47, BSF 1.550, μen/ρ 1.030.
        assert!(close(f.hvl_mm_al(80.0, 3.1, 0.3).unwrap(), 6.47, 1e-9));
        assert!(close(f.mu_en_water_air(80.0, 6.47, 20.0), 1.030, 1e-9));
    }

    /// The 2013 fit reproduces every backscatter factor of the 2011 table within 2 %, and
    /// the published anchors to 0.001 (80 kV, HVL 3.12 mm Al: 1.242, 1.330, 1.389, 1.399,
    /// 1.407 for 5 to 35 cm; PySkinDose's test: 80 kV, HVL 7.88: 1.300, 1.458, 1.589, 1.617,
    /// 1.639 within 1 %).
    #[test]
    fn the_2013_fit_matches_the_2011_table() {
        let f = Factors::bundled();
        for q in f.rows() {
            let b = f.backscatter(q.kvp_kv, q.hvl_mm_al, q.field_side_cm);
            assert!(
                (b / q.backscatter - 1.0).abs() < 0.02,
                "{q:?}: fit {b}, table {}",
                q.backscatter
            );
        }
        for (side, want) in FIELD_SIDES_CM
            .iter()
            .zip([1.242, 1.330, 1.389, 1.399, 1.407])
        {
            assert!(close(f.backscatter(80.0, 3.12, *side), want, 0.0015));
        }
        for (side, want) in FIELD_SIDES_CM
            .iter()
            .zip([1.300, 1.458, 1.589, 1.617, 1.639])
        {
            assert!((f.backscatter(80.0, 7.88, *side) / want - 1.0).abs() < 0.01);
        }
        // Between sides: linear; outside: held.
        let mid = f.backscatter(80.0, 3.12, 15.0);
        assert!(mid > 1.330 && mid < 1.389);
        assert_eq!(
            f.backscatter(80.0, 3.12, 50.0),
            f.backscatter(80.0, 3.12, 35.0)
        );
    }

    #[test]
    fn hvl_between_table_points_and_with_other_aluminium() {
        let f = Factors::bundled();
        // 77 kV, 0.6 mm Cu: between 70 kV (6.94) and 80 kV (7.88).
        let h = f.hvl_mm_al(77.0, 3.1, 0.6).unwrap();
        assert!(close(h, 6.94 + 0.7 * (7.88 - 6.94), 1e-9));
        // 80 kV without copper at 4.1 mm Al: the table's 3.63.
        assert!(close(f.hvl_mm_al(80.0, 4.1, 0.0).unwrap(), 3.63, 1e-9));
        // Behind copper the aluminium difference is added in full: above the table's 4.99.
        let h = f.hvl_mm_al(80.0, 4.1, 0.1).unwrap();
        assert!(h >= 4.99 && close(h, 4.66 + 0.51, 1e-9));
        // Held at 50 kV below the table.
        assert_eq!(f.hvl_mm_al(40.0, 3.1, 0.0), f.hvl_mm_al(50.0, 3.1, 0.0));
        assert_eq!(f.hvl_mm_al(f64::NAN, 3.1, 0.0), None);
    }
}
