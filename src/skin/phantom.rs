//! Patient phantoms: skin cells with their position, outward normal, area and coordinates on
//! the unrolled map, in the patient's own frame.
//!
//! Patient frame (cm): DICOM's patient coordinate system (PS3.3 C.7.6.2.1.1): +x towards the
//! patient's left, +y posterior, +z towards the head; the origin is on the body's midline at
//! the top of the head, at the level of the back (the skin lying on the table top for a
//! supine patient). Cells are centred on a regular grid of `cell_cm` or finer.

use super::geometry::Vec3;

/// Which phantom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PhantomModel {
    /// A flat rectangle on the table top: the back of a supine patient.
    Plane,
    /// An elliptic cylinder lying on the table: back, sides and front.
    Cylinder,
}

impl PhantomModel {
    /// `plane` or `cylinder`.
    pub fn as_str(self) -> &'static str {
        match self {
            PhantomModel::Plane => "plane",
            PhantomModel::Cylinder => "cylinder",
        }
    }
}

/// Size of a phantom, cm.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct PhantomSize {
    /// The model.
    pub model: PhantomModel,
    /// Head-to-feet length, cm.
    pub length_cm: f64,
    /// Plane: full width; cylinder: full left-right width (twice the lateral semi-axis), cm.
    pub width_cm: f64,
    /// Cylinder: full front-back thickness (twice the antero-posterior semi-axis), cm; not
    /// used by the plane.
    pub thickness_cm: f64,
    /// Side of a skin cell (and step along the ellipse), cm.
    pub cell_cm: f64,
}

/// The reference patient of the default sizes: 170 cm, 70 kg.
pub(crate) const REFERENCE_HEIGHT_CM: f64 = 170.0;
/// The reference patient's weight, kg.
pub(crate) const REFERENCE_WEIGHT_KG: f64 = 70.0;

impl PhantomSize {
    /// PySkinDose's example sizes (`settings_example.json`): plane 120 × 40 cm; cylinder
    /// 150 cm long with semi-axes 20 cm (left-right) and 10 cm (front-back); 1 cm cells.
    pub fn reference(model: PhantomModel) -> PhantomSize {
        match model {
            PhantomModel::Plane => PhantomSize {
                model,
                length_cm: 120.0,
                width_cm: 40.0,
                thickness_cm: 0.0,
                cell_cm: 1.0,
            },
            PhantomModel::Cylinder => PhantomSize {
                model,
                length_cm: 150.0,
                width_cm: 40.0,
                thickness_cm: 20.0,
                cell_cm: 1.0,
            },
        }
    }

    /// The reference sizes taken as those of a 170 cm, 70 kg patient, scaled to a patient's
    /// height and weight when known: lengths in proportion to height, the cross-section's
    /// semi-axes by √(weight / height) relative to the reference (so that the volume follows
    /// the weight), each factor held within 0.6–1.6. A kerma approximation, not from a
    /// source: the phantom places the skin, it is not an anatomical model.
    ///
    /// ```
    /// use kerma::skin::{PhantomModel, PhantomSize};
    /// let s = PhantomSize::for_patient(PhantomModel::Cylinder, Some(1.87), Some(70.0));
    /// assert!((s.length_cm - 165.0).abs() < 1e-9);
    /// assert!(s.width_cm < 40.0); // taller at the same weight: slimmer
    /// ```
    pub fn for_patient(
        model: PhantomModel,
        height_m: Option<f64>,
        weight_kg: Option<f64>,
    ) -> PhantomSize {
        let mut s = PhantomSize::reference(model);
        let height_cm = height_m
            .map(|h| h * 100.0)
            .filter(|h| h.is_finite() && *h > 0.0);
        let weight = weight_kg.filter(|w| w.is_finite() && *w > 0.0);
        let along = height_cm.map_or(1.0, |h| (h / REFERENCE_HEIGHT_CM).clamp(0.6, 1.6));
        let across = match weight {
            Some(w) => {
                let h = height_cm.unwrap_or(REFERENCE_HEIGHT_CM);
                ((w / h) / (REFERENCE_WEIGHT_KG / REFERENCE_HEIGHT_CM))
                    .sqrt()
                    .clamp(0.6, 1.6)
            }
            None => 1.0,
        };
        s.length_cm *= along;
        s.width_cm *= across;
        s.thickness_cm *= across;
        s
    }
}

/// One skin cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cell {
    /// Centre, patient frame, cm.
    pub at: Vec3,
    /// Outward unit normal (the plane's points to the table: +y, posterior).
    pub normal: Vec3,
    /// Column and row on the unrolled map.
    pub column: u32,
    pub row: u32,
}

/// A phantom's cells and its unrolled map grid.
#[derive(Debug, Clone)]
pub(crate) struct Phantom {
    pub size: PhantomSize,
    pub cells: Vec<Cell>,
    /// Map columns (across the body) and rows (head to feet).
    pub columns: u32,
    pub rows: u32,
    /// Area of one cell, cm².
    pub cell_area_cm2: f64,
    /// Cylinder: the circumference, cm (the map's width); plane: its width.
    pub map_width_cm: f64,
}

/// Most cells a phantom may have (a 2 m × 1.5 m skin at 1 cm), so that a settings file cannot
/// make kerma allocate without bound.
const MAX_CELLS: f64 = 300_000.0;

impl Phantom {
    /// The cells of `size`; `None` when a dimension is not positive and finite or the grid
    /// would be larger than a whole body at 1 cm.
    pub(crate) fn new(size: PhantomSize) -> Option<Phantom> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        let cell = size.cell_cm;
        if !ok(cell) || !ok(size.length_cm) || !ok(size.width_cm) {
            return None;
        }
        let rows_f = (size.length_cm / cell).ceil();
        match size.model {
            PhantomModel::Plane => {
                let cols_f = (size.width_cm / cell).ceil();
                if rows_f * cols_f > MAX_CELLS {
                    return None;
                }
                let (rows, cols) = (rows_f as u32, cols_f as u32);
                let (dz, dx) = (size.length_cm / rows_f, size.width_cm / cols_f);
                let mut cells = Vec::with_capacity((rows * cols) as usize);
                for r in 0..rows {
                    for c in 0..cols {
                        cells.push(Cell {
                            at: Vec3::new(
                                -size.width_cm / 2.0 + (c as f64 + 0.5) * dx,
                                0.0,
                                -(r as f64 + 0.5) * dz,
                            ),
                            normal: Vec3::new(0.0, 1.0, 0.0),
                            column: c,
                            row: r,
                        });
                    }
                }
                Some(Phantom {
                    size,
                    cells,
                    columns: cols,
                    rows,
                    cell_area_cm2: dz * dx,
                    map_width_cm: size.width_cm,
                })
            }
            PhantomModel::Cylinder => {
                if !ok(size.thickness_cm) {
                    return None;
                }
                let (a, b) = (size.width_cm / 2.0, size.thickness_cm / 2.0);
                let ring = ellipse_ring(a, b, cell)?;
                let cols = ring.len() as u32;
                if rows_f * cols as f64 > MAX_CELLS {
                    return None;
                }
                let rows = rows_f as u32;
                let dz = size.length_cm / rows_f;
                let step = ring.first().map_or(cell, |p| p.2);
                let mut cells = Vec::with_capacity((rows * cols) as usize);
                for r in 0..rows {
                    for (c, (p, n, _)) in ring.iter().enumerate() {
                        cells.push(Cell {
                            at: Vec3::new(p.x, p.y, -(r as f64 + 0.5) * dz),
                            normal: *n,
                            column: c as u32,
                            row: r,
                        });
                    }
                }
                Some(Phantom {
                    size,
                    cells,
                    columns: cols,
                    rows,
                    cell_area_cm2: dz * step,
                    map_width_cm: step * cols as f64,
                })
            }
        }
    }

    /// The phantom of `size`, built once and shared while it is among the few sizes used
    /// last (most procedures of a site use the default sizes, and building the cells costs
    /// more than a small procedure's dose); `None` as [`Phantom::new`].
    pub(crate) fn shared(size: PhantomSize) -> Option<std::sync::Arc<Phantom>> {
        use std::sync::{Arc, Mutex};
        /// Sizes kept: a few phantoms of a few megabytes at most.
        const KEPT: usize = 4;
        static LAST: Mutex<Vec<Arc<Phantom>>> = Mutex::new(Vec::new());
        let same = |p: &Phantom| {
            let (a, b) = (&p.size, &size);
            a.model == b.model
                && [a.length_cm, a.width_cm, a.thickness_cm, a.cell_cm]
                    .iter()
                    .zip([b.length_cm, b.width_cm, b.thickness_cm, b.cell_cm])
                    .all(|(x, y)| x.to_bits() == y.to_bits())
        };
        if let Ok(last) = LAST.lock()
            && let Some(p) = last.iter().find(|p| same(p))
        {
            return Some(p.clone());
        }
        let built = Arc::new(Phantom::new(size)?);
        if let Ok(mut last) = LAST.lock() {
            if last.len() >= KEPT {
                last.remove(0);
            }
            last.push(built.clone());
        }
        Some(built)
    }

    /// Map coordinates (cm) of a cell's centre: across (plane: from the patient's right edge
    /// to the left; cylinder: arc length from the back's midline, positive towards the
    /// patient's left, ±half the circumference at the front) and from the top of the head.
    pub(crate) fn map_cm(&self, column: u32, row: u32) -> (f64, f64) {
        let across_step = self.map_width_cm / self.columns.max(1) as f64;
        let down_step = self.size.length_cm / self.rows.max(1) as f64;
        let down = (row as f64 + 0.5) * down_step;
        let across = match self.size.model {
            PhantomModel::Plane => (column as f64 + 0.5) * across_step - self.map_width_cm / 2.0,
            PhantomModel::Cylinder => {
                let u = column as f64 * across_step;
                if u > self.map_width_cm / 2.0 {
                    u - self.map_width_cm
                } else {
                    u
                }
            }
        };
        (across, down)
    }

    /// The body region and side of a cell (a rough anatomical label for reports).
    pub(crate) fn region(&self, cell: &Cell) -> String {
        // Fractions of the phantom's length from the top of the head, for a body lying with
        // its head at the phantom's head end: approximate adult proportions, a label only.
        let f = (-cell.at.z / self.size.length_cm.max(1e-9)).clamp(0.0, 1.0);
        let level = if f < 0.12 {
            "head"
        } else if f < 0.18 {
            "neck"
        } else if f < 0.40 {
            "thorax"
        } else if f < 0.55 {
            "abdomen"
        } else if f < 0.68 {
            "pelvis"
        } else {
            "legs"
        };
        let n = cell.normal;
        let side =
            if self.size.model == PhantomModel::Plane || n.y >= std::f64::consts::FRAC_1_SQRT_2 {
                "back"
            } else if n.y <= -std::f64::consts::FRAC_1_SQRT_2 {
                "front"
            } else if n.x > 0.0 {
                "left side"
            } else {
                "right side"
            };
        format!("{level}, {side}")
    }
}

/// Points on the ellipse x = a cos t, y = b (1 − sin t)… spaced by equal arc length of at
/// most `cell` cm, starting at the back's midline (x = 0, y = 0: the skin on the table) and
/// going towards the patient's left: (centre, outward normal, arc step). The ellipse's centre
/// is at y = −b (anterior of the back by the semi-axis).
fn ellipse_ring(a: f64, b: f64, cell: f64) -> Option<Vec<(Vec3, Vec3, f64)>> {
    // Parametrise by θ from the back: point (a sin θ, −b + b cos θ).
    let point = |t: f64| Vec3::new(a * t.sin(), -b + b * t.cos(), 0.0);
    let fine = 4096usize;
    let mut arc = Vec::with_capacity(fine + 1);
    arc.push(0.0);
    let mut prev = point(0.0);
    for i in 1..=fine {
        let t = std::f64::consts::TAU * i as f64 / fine as f64;
        let p = point(t);
        let d = arc[i - 1] + (p - prev).norm();
        arc.push(d);
        prev = p;
    }
    let perimeter = arc[fine];
    let n = (perimeter / cell).ceil();
    if !(n.is_finite() && n >= 3.0) || n > MAX_CELLS {
        return None;
    }
    let step = perimeter / n;
    let ts: Vec<f64> = (0..=fine)
        .map(|i| std::f64::consts::TAU * i as f64 / fine as f64)
        .collect();
    let mut ring = Vec::with_capacity(n as usize);
    for k in 0..n as usize {
        let s = k as f64 * step;
        let t = super::factors::interpolate(&arc, &ts, s)?;
        let p = point(t);
        // Outward normal of (a sin t, b cos t): (b sin t, a cos t), normalised.
        let normal = Vec3::new(b * t.sin(), a * t.cos(), 0.0).unit()?;
        ring.push((p, normal, step));
    }
    Some(ring)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_cells_cover_its_area() {
        let p = Phantom::new(PhantomSize::reference(PhantomModel::Plane)).unwrap();
        assert_eq!(p.cells.len(), 120 * 40);
        assert!((p.cell_area_cm2 - 1.0).abs() < 1e-12);
        assert_eq!(p.region(&p.cells[0]), "head, back");
    }

    #[test]
    fn cylinder_ring_is_the_ellipse() {
        let p = Phantom::new(PhantomSize::reference(PhantomModel::Cylinder)).unwrap();
        // Ramanujan's perimeter of a 20 × 10 cm ellipse: 96.88 cm.
        let (a, b) = (20.0f64, 10.0f64);
        let h = ((a - b) / (a + b)).powi(2);
        let ramanujan =
            std::f64::consts::PI * (a + b) * (1.0 + 3.0 * h / (10.0 + (4.0 - 3.0 * h).sqrt()));
        assert!(
            (p.map_width_cm - ramanujan).abs() < 0.01,
            "{}",
            p.map_width_cm
        );
        assert!(p.cell_area_cm2 <= 1.0 + 1e-12);
        let first = p.cells[0];
        assert!(first.at.y.abs() < 1e-12 && first.at.x.abs() < 1e-12);
        assert!((first.normal.y - 1.0).abs() < 1e-12);
        // Every cell lies on the ellipse centred at y = −10.
        for c in p.cells.iter().take(p.columns as usize) {
            let e = (c.at.x / a).powi(2) + ((c.at.y + b) / b).powi(2);
            assert!((e - 1.0).abs() < 1e-6);
        }
        let front = p.cells[(p.columns / 2) as usize];
        assert!(p.region(&front).ends_with("front"));
    }

    #[test]
    fn sizes_follow_the_patient_and_stay_bounded() {
        let r = PhantomSize::for_patient(PhantomModel::Cylinder, None, None);
        assert_eq!(r, PhantomSize::reference(PhantomModel::Cylinder));
        let heavy = PhantomSize::for_patient(PhantomModel::Cylinder, Some(1.7), Some(140.0));
        assert!((heavy.width_cm / 40.0 - 2f64.sqrt()).abs() < 1e-9);
        let absurd = PhantomSize::for_patient(PhantomModel::Cylinder, Some(17.0), Some(1e6));
        assert!(absurd.length_cm <= 150.0 * 1.6 && absurd.width_cm <= 40.0 * 1.6);
        let mut bad = PhantomSize::reference(PhantomModel::Plane);
        bad.cell_cm = 0.0;
        assert!(Phantom::new(bad).is_none());
        bad.cell_cm = 0.001;
        assert!(Phantom::new(bad).is_none());
    }
}
