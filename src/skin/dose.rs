//! The estimate: each event's beam on the phantom, the dose to every skin cell it enters, and
//! the conservative bound.

use super::factors::{FIELD_SIDES_CM, Factors, interpolate};
use super::geometry::{Beam, Orientation, Placement, TableSlab, Vec3};
use super::input::SkinEvent;
use super::phantom::{Phantom, PhantomSize};
use super::settings::{FieldSize, RoomGeometry, Settings};
use super::{DoseMap, Location, Method, SkinDose, SkinInput};
use crate::rdsr::ReferencePoint;

/// Largest angular step of the sub-beams of a rotational run, degrees.
const ROTATION_STEP_DEG: f64 = 5.0;
/// Table angles up to this are taken as level (not modelled), degrees.
const LEVEL_TABLE_DEG: f64 = 1.0;

/// One event's dose factors that do not depend on the cell.
struct Quality {
    /// K_a,r × calibration, mGy.
    ka_r_mgy: f64,
    /// Backscatter factor at each tabulated field side (linear between).
    bsf: [f64; 5],
    /// (μen/ρ) water/air at each tabulated field side (nearest).
    mu_en: [f64; 5],
}

impl Quality {
    fn new(factors: &Factors, e: &SkinEvent, calibration: f64, inherent_al: f64) -> Quality {
        let ka_r_mgy = e.ka_r.map_or(0.0, |k| k.as_mgy()) * calibration;
        let hvl = e
            .kvp_kv
            .and_then(|k| factors.hvl_mm_al(k, inherent_al + e.aluminium_mm, e.copper_mm));
        let mut bsf = [1.0; 5];
        let mut mu_en = [1.0; 5];
        match (e.kvp_kv, hvl) {
            (Some(k), Some(h)) => {
                for (i, s) in FIELD_SIDES_CM.iter().enumerate() {
                    bsf[i] = factors.backscatter(k, h, *s);
                    mu_en[i] = factors.mu_en_water_air(k, h, *s);
                }
            }
            _ => {
                // Without kVp: the largest factors of the tables.
                let b = factors
                    .rows()
                    .iter()
                    .map(|q| q.backscatter)
                    .fold(1.0, f64::max);
                let m = factors
                    .rows()
                    .iter()
                    .map(|q| q.mu_en_water_air)
                    .fold(1.0, f64::max);
                bsf = [b; 5];
                mu_en = [m; 5];
            }
        }
        Quality {
            ka_r_mgy,
            bsf,
            mu_en,
        }
    }

    /// BSF × μen/ρ for a square field of side `side_cm` at the skin.
    fn medium(&self, side_cm: f64) -> f64 {
        let b = interpolate(&FIELD_SIDES_CM, &self.bsf, side_cm).unwrap_or(1.0);
        let i = FIELD_SIDES_CM
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1 - side_cm).abs().total_cmp(&(b.1 - side_cm).abs()))
            .map_or(0, |(i, _)| i);
        b * self.mu_en[i]
    }

    /// The largest BSF × μen/ρ over field sides.
    fn medium_max(&self) -> f64 {
        self.bsf
            .iter()
            .zip(&self.mu_en)
            .map(|(b, m)| b * m)
            .fold(1.0, f64::max)
    }
}

/// Source-to-reference-point distance: the event's own (113737), else from the reference
/// point's definition: 30 cm in front of the image input surface (113861) is DSD − 30 cm;
/// otherwise the interventional reference point, DSI − 15 cm (IEC 60601-2-43; PS3.16 113860).
fn reference_distance_cm(e: &SkinEvent) -> Option<f64> {
    if let Some(d) = e.source_to_reference_point_cm.filter(|d| *d > 0.0) {
        return Some(d);
    }
    let at_receptor =
        matches!(&e.reference_point, Some(ReferencePoint::Code(c)) if c.value() == "113861");
    if at_receptor {
        return e
            .source_to_detector_cm
            .map(|d| d - 30.0)
            .filter(|d| *d > 0.0);
    }
    e.source_to_isocenter_cm
        .map(|d| d - 15.0)
        .filter(|d| *d > 0.0)
}

/// The field (width, height) at a distance from the source, cm.
fn field(e: &SkinEvent, mode: FieldSize, d_ref: f64) -> Option<(f64, f64, f64)> {
    let positive = |v: Option<f64>| v.filter(|x| x.is_finite() && *x > 0.0);
    let dsd = positive(e.source_to_detector_cm);
    if mode == FieldSize::Auto
        && let (Some(w), Some(h), Some(d)) =
            (positive(e.field_width_cm), positive(e.field_height_cm), dsd)
    {
        return Some((w, h, d));
    }
    if mode != FieldSize::DapOverKerma
        && let (Some(a), Some(d)) = (positive(e.field_area_cm2), dsd)
    {
        return Some((a.sqrt(), a.sqrt(), d));
    }
    let k = e.ka_r.map(|k| k.as_gy()).filter(|k| *k > 0.0)?;
    let area_cm2 = e.dap.map(|d| d.as_gy_m2())? / k * 1e4;
    (area_cm2.is_finite() && area_cm2 > 0.0).then(|| (area_cm2.sqrt(), area_cm2.sqrt(), d_ref))
}

/// A beam ready to be laid on the phantom.
struct Shot {
    beam: Beam,
    /// The beam in the patient frame, where the cells are.
    local: Beam,
    placement: Placement,
    table: TableSlab,
    /// Share of the event's K_a,r (1 for a stationary beam).
    weight: f64,
    d_ref_cm: f64,
    /// Field side per cm of distance from the source (√area / distance).
    side_per_cm: f64,
    event: usize,
}

/// The rows (z = −(r + ½) row_cm) of one column of cells, at `dx`, `dy` from the source
/// across, whose centres may satisfy every face (w · face ≤ 0, w from the source): each face
/// bounds z on one side; a row of margin on each side, since each cell is checked again.
fn rows_in_beam(
    faces: &[Vec3; 5],
    dx: f64,
    dy: f64,
    source_z: f64,
    row_cm: f64,
    rows: usize,
) -> Option<(usize, usize)> {
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    for f in faces {
        // dx f.x + dy f.y + (z − source_z) f.z ≤ 0
        let a = dx * f.x + dy * f.y - source_z * f.z;
        if f.z > 1e-12 {
            hi = hi.min(-a / f.z);
        } else if f.z < -1e-12 {
            lo = lo.max(-a / f.z);
        } else if a > 0.0 {
            return None;
        }
    }
    if lo > hi {
        return None;
    }
    // z = −(r + ½) row_cm  ⇔  r = −z / row_cm − ½: high z is a low row.
    let first = (-hi / row_cm - 1.5).floor().max(0.0);
    let last = (-lo / row_cm + 0.5).ceil().min(rows as f64 - 1.0);
    if rows == 0 || last < first || first.is_nan() || last.is_nan() {
        return None;
    }
    Some((first as usize, last as usize))
}

/// What stops a map, as a sentence.
fn missing(what: &str, n: usize, total: usize) -> String {
    format!("{n} of {total} events with K_a,r have no {what}")
}

/// The beams of every event, or why there can be no map.
fn shots(
    input: &SkinInput,
    room: &RoomGeometry,
    settings: &Settings,
    size: &PhantomSize,
    used: &[usize],
) -> Result<Vec<Shot>, String> {
    let total = used.len();
    let count =
        |f: &dyn Fn(&SkinEvent) -> bool| used.iter().filter(|&&i| f(&input.events[i])).count();
    for (what, n) in [
        (
            "positioner primary angle",
            count(&|e| e.primary_deg.is_none()),
        ),
        (
            "positioner secondary angle",
            count(&|e| e.secondary_deg.is_none()),
        ),
        (
            "source-to-isocentre distance",
            count(&|e| e.source_to_isocenter_cm.is_none()),
        ),
        (
            "table position (longitudinal, lateral and height)",
            count(&|e| {
                e.table_longitudinal_mm.is_none()
                    || e.table_lateral_mm.is_none()
                    || e.table_height_mm.is_none()
            }),
        ),
    ] {
        if n > 0 {
            return Err(missing(what, n, total));
        }
    }
    let foreign = count(&|e| e.table_not_in_beam_frame);
    if foreign > 0 {
        return Err(format!(
            "{foreign} of {total} events give table positions that are not in the beam's frame (Philips Azurion, reported to PySkinDose as #48): the patient cannot be placed"
        ));
    }
    let tilted = count(&|e| {
        [
            e.table_head_tilt_deg,
            e.table_horizontal_rotation_deg,
            e.table_cradle_tilt_deg,
        ]
        .iter()
        .any(|a| a.is_some_and(|a| a.abs() > LEVEL_TABLE_DEG))
    });
    if tilted > 0 {
        return Err(format!(
            "{tilted} of {total} events have the table tilted or rotated by more than {LEVEL_TABLE_DEG}°, which kerma does not model"
        ));
    }
    let mut out = Vec::with_capacity(used.len());
    for &i in used {
        let e = &input.events[i];
        let d_ref = reference_distance_cm(e)
            .ok_or_else(|| format!("event {} has no source-to-reference-point distance", i + 1))?;
        let (w, h, at) = field(e, room.field_size, d_ref).ok_or_else(|| {
            format!(
                "event {} has no field size (collimation, or DAP and K_a,r)",
                i + 1
            )
        })?;
        let [zx, zy, zz] = room.table_zero_cm;
        let [sx, sy, sz] = room.table_sign;
        let table_ref = Vec3::new(
            zx + sx * e.table_longitudinal_mm.unwrap_or(0.0) / 10.0,
            zy + sy * e.table_height_mm.unwrap_or(0.0) / 10.0,
            zz + sz * e.table_lateral_mm.unwrap_or(0.0) / 10.0,
        );
        let orientation = settings
            .orientation
            .or(e.orientation)
            .unwrap_or(Orientation::HeadFirstSupine);
        let [ox, oy, oz] = settings.patient_offset_cm;
        let placement = Placement::on_table(
            table_ref,
            settings.table.pad_thickness_cm,
            Vec3::new(ox, oy, oz),
            orientation,
            size.length_cm,
            size.thickness_cm,
        );
        let table = TableSlab {
            head_top: table_ref,
            length_cm: settings.table.length_cm,
            width_cm: settings.table.width_cm,
            thickness_cm: settings.table.thickness_cm,
        };
        let dsi = e.source_to_isocenter_cm.unwrap_or(0.0);
        let a0 = room.primary_sign * e.primary_deg.unwrap_or(0.0);
        let b0 = room.secondary_sign * e.secondary_deg.unwrap_or(0.0);
        let (a1, b1) = match (e.rotational, e.primary_end_deg, e.secondary_end_deg) {
            (true, Some(a1), b1) => (
                room.primary_sign * a1,
                b1.map_or(b0, |b| room.secondary_sign * b),
            ),
            _ => (a0, b0),
        };
        let sweep = (a1 - a0).abs().max((b1 - b0).abs());
        let steps = ((sweep / ROTATION_STEP_DEG).ceil() as usize).clamp(1, 360);
        let side_per_cm = (w * h).sqrt() / at;
        for s in 0..steps {
            let f = if steps == 1 {
                0.0
            } else {
                s as f64 / (steps - 1) as f64
            };
            let beam = Beam::new(
                a0 + f * (a1 - a0),
                b0 + f * (b1 - b0),
                dsi,
                w,
                h,
                at,
                &placement,
            )
            .ok_or_else(|| format!("event {} has no usable beam geometry", i + 1))?;
            out.push(Shot {
                beam,
                local: beam.in_patient_frame(&placement),
                placement,
                table,
                weight: 1.0 / steps as f64,
                d_ref_cm: d_ref,
                side_per_cm,
                event: i,
            });
        }
    }
    Ok(out)
}

/// The dose factor of one shot at one cell (patient frame), or `None` when the beam does not
/// enter the skin there: K share × (d_ref/d)² × BSF × μen/ρ × table transmission.
#[inline]
fn cell_dose(
    shot: &Shot,
    q: &Quality,
    room: &RoomGeometry,
    at: Vec3,
    normal: Vec3,
    check_normal: bool,
) -> Option<f64> {
    let d = shot.local.distance_if_inside(at)?;
    if check_normal && (at - shot.local.source).dot(normal) >= 0.0 {
        return None;
    }
    let at = shot.placement.point(at);
    let isq = (shot.d_ref_cm / d).powi(2);
    let medium = q.medium(shot.side_per_cm * d);
    let table = if shot.table.crossed(shot.beam.source, at) {
        room.table_transmission
    } else {
        1.0
    };
    Some(shot.weight * q.ka_r_mgy * isq * medium * table)
}

/// The estimate for one procedure (see [`estimate`](super::estimate)); `cull`: visit only the
/// rows of cells each beam can reach (the same result, tested, faster).
pub(crate) fn run(input: &SkinInput, settings: &Settings, cull: bool) -> SkinDose {
    let factors = Factors::bundled();
    let used: Vec<usize> = (0..input.events.len())
        .filter(|&i| input.events[i].ka_r.is_some_and(|k| k.as_mgy() > 0.0))
        .collect();
    let room = match (&input.manufacturer, &input.model) {
        (Some(m), Some(d)) => settings.rooms.iter().find(|r| r.matches(m, d)),
        _ => None,
    };
    let calibration = room.map_or(1.0, |r| r.ka_r_calibration);
    let qualities: Vec<Quality> = input
        .events
        .iter()
        .map(|e| Quality::new(factors, e, calibration, settings.inherent_filtration_mm_al))
        .collect();
    let mut result = SkinDose::empty(settings);
    if used.is_empty() {
        result.reason = Some(if input.events.is_empty() {
            "no irradiation events: K_a,r per event is needed".to_owned()
        } else {
            "no event has a K_a,r (Dose (RP))".to_owned()
        });
        return result;
    }
    // The bound: every event on one spot of skin at its reference point, largest BSF × μen/ρ,
    // no table.
    let bound_rp: f64 = used
        .iter()
        .map(|&i| qualities[i].ka_r_mgy * qualities[i].medium_max())
        .sum();
    result.upper_bound_mgy = Some(bound_rp);
    result.psd_mgy = Some(bound_rp);
    result.events_used = used.len();
    let no_map = |mut r: SkinDose, reason: String| {
        r.method = Method::UpperBound;
        r.reason = Some(reason);
        r
    };
    let Some(room) = room else {
        let who = match (&input.manufacturer, &input.model) {
            (Some(m), Some(d)) => format!("{m} {d}"),
            (Some(m), None) => format!("{m} (no model name)"),
            _ => "a device without manufacturer and model".to_owned(),
        };
        return no_map(
            result,
            format!(
                "no room geometry for {who}: its table zero and axis signs are unknown (give them with --skin-settings)"
            ),
        );
    };
    if let Some(why) = &room.no_map {
        return no_map(result, why.clone());
    }
    let size = settings.phantom_size.unwrap_or_else(|| {
        let mut s = PhantomSize::for_patient(
            settings.phantom,
            input.patient_size_m,
            input.patient_weight_kg,
        );
        s.cell_cm = settings.cell_cm;
        s
    });
    let Some(phantom) = Phantom::shared(size) else {
        return no_map(result, format!("the phantom {size:?} cannot be built"));
    };
    let phantom = phantom.as_ref();
    let shots = match shots(input, room, settings, &size, &used) {
        Ok(s) => s,
        Err(why) => return no_map(result, why),
    };
    let check_normal = size.model != super::PhantomModel::Plane;
    let mut dose = vec![0.0f64; phantom.cells.len()];
    let mut worst = vec![0.0f64; input.events.len()];
    // Cells are stored row by row from the head end, and every row has the same columns (the
    // same x and y): along one column the beam's faces bound z linearly, so a shot visits only
    // the rows between those bounds, and none of a column that faces away from the source.
    let row_cm = size.length_cm / phantom.rows.max(1) as f64;
    let columns = phantom.columns as usize;
    let rows = phantom.rows as usize;
    for shot in &shots {
        let q = &qualities[shot.event];
        let b = &shot.local;
        let faces = [
            b.across - b.axis * b.half_tan_across,
            -b.across - b.axis * b.half_tan_across,
            b.along - b.axis * b.half_tan_along,
            -b.along - b.axis * b.half_tan_along,
            -b.axis,
        ];
        let mut event_max: f64 = 0.0;
        for (col, top) in phantom.cells.iter().take(columns).enumerate() {
            let (first, last) = if cull {
                let (dx, dy) = (top.at.x - b.source.x, top.at.y - b.source.y);
                if check_normal && dx * top.normal.x + dy * top.normal.y >= 0.0 {
                    continue;
                }
                match rows_in_beam(&faces, dx, dy, b.source.z, row_cm, rows) {
                    Some(r) => r,
                    None => continue,
                }
            } else {
                (0, rows.saturating_sub(1))
            };
            for row in first..=last {
                let k = row * columns + col;
                let (Some(c), Some(slot)) = (phantom.cells.get(k), dose.get_mut(k)) else {
                    break;
                };
                if let Some(d) = cell_dose(shot, q, room, c.at, c.normal, check_normal) {
                    *slot += d;
                    event_max = event_max.max(d / shot.weight);
                }
            }
        }
        worst[shot.event] = worst[shot.event].max(event_max);
    }
    let (peak, psd) =
        dose.iter().enumerate().fold(
            (0usize, 0.0f64),
            |best, (i, &d)| if d > best.1 { (i, d) } else { best },
        );
    if psd <= 0.0 {
        return no_map(
            result,
            "no event's beam enters the phantom with this room's table zero and signs (check the room geometry and the patient offset)".to_owned(),
        );
    }
    let bound_geometry: f64 = used.iter().map(|&i| worst[i]).sum();
    let bound = bound_rp.max(bound_geometry);
    let cell = phantom.cells[peak];
    let mut at_peak: Vec<usize> = shots
        .iter()
        .filter(|s| {
            cell_dose(
                s,
                &qualities[s.event],
                room,
                cell.at,
                cell.normal,
                check_normal,
            )
            .is_some()
        })
        .map(|s| s.event)
        .collect();
    at_peak.dedup();
    let (across, down) = phantom.map_cm(cell.column, cell.row);
    let area =
        |gy: f64| dose.iter().filter(|&&d| d >= gy * 1000.0).count() as f64 * phantom.cell_area_cm2;
    result.method = Method::Map;
    result.psd_mgy = Some(psd);
    result.upper_bound_mgy = Some(bound);
    result.phantom = Some(size);
    result.location = Some(Location {
        region: phantom.region(&cell),
        across_cm: across,
        from_head_cm: down,
    });
    result.area_above_2gy_cm2 = Some(area(2.0));
    result.area_above_5gy_cm2 = Some(area(5.0));
    result.events_at_peak = Some(at_peak.len());
    result.room_geometry = Some(room.source.clone());
    result.map = Some(DoseMap {
        columns: phantom.columns,
        rows: phantom.rows,
        across_step_cm: phantom.map_width_cm / phantom.columns.max(1) as f64,
        down_step_cm: size.length_cm / phantom.rows.max(1) as f64,
        dose_mgy: {
            let mut grid = vec![0.0f32; (phantom.columns * phantom.rows) as usize];
            for (c, d) in phantom.cells.iter().zip(&dose) {
                if let Some(slot) = grid.get_mut((c.row * phantom.columns + c.column) as usize) {
                    *slot = *d as f32;
                }
            }
            grid
        },
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::AirKerma;

    /// Visiting only the rows a beam can reach changes nothing: the same map, cell by cell,
    /// for steep, lateral, rotational and shifted beams on both phantoms and orientations.
    #[test]
    fn culling_rows_gives_the_same_map() {
        for (model, orientation) in [
            ("plane", "head_first_supine"),
            ("cylinder", "head_first_supine"),
            ("cylinder", "feet_first_prone"),
        ] {
            let settings = Settings::from_json(&format!(
                r#"{{"kerma_skin_settings": 1, "phantom": {{"model": "{model}"}},
                    "orientation": "{orientation}",
                    "rooms": [{{"manufacturer": "T", "models": ["M"],
                               "table_zero_cm": {{"x": 0, "y": 12, "z": 90}}}}]}}"#
            ))
            .unwrap();
            let mut input = SkinInput {
                manufacturer: Some("T".into()),
                model: Some("M".into()),
                ..SkinInput::default()
            };
            for i in 0..40 {
                let mut e = SkinEvent::default();
                e.ka_r = AirKerma::try_from_mgy(10.0 + i as f64).ok();
                e.kvp_kv = Some(70.0 + i as f64);
                e.primary_deg = Some(-120.0 + 6.0 * i as f64);
                e.secondary_deg = Some(-45.0 + (i * 7 % 90) as f64);
                e.rotational = i % 9 == 0;
                e.primary_end_deg = e.primary_deg.map(|a| a + 200.0);
                e.source_to_isocenter_cm = Some(75.0);
                e.source_to_detector_cm = Some(110.0);
                e.field_area_cm2 = Some((5.0 + i as f64).powi(2));
                e.table_longitudinal_mm = Some(-80.0 + 4.0 * i as f64);
                e.table_lateral_mm = Some(-300.0 + 15.0 * i as f64);
                e.table_height_mm = Some(-40.0 + 2.0 * i as f64);
                input.events.push(e);
            }
            let fast = run(&input, &settings, true);
            let slow = run(&input, &settings, false);
            assert_eq!(fast.method, Method::Map, "{:?}", fast.reason);
            assert_eq!(fast, slow, "{model} {orientation}");
            assert!(fast.psd_mgy.unwrap() > 0.0);
        }
    }
}
