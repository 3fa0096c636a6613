//! Vectors, the patient's placement on the table and the beam pyramid.
//!
//! Room frame (cm): origin at the isocentre; +x towards the table's left side, +y downwards
//! (with gravity), +z towards the head end of the table. For a head-first supine patient it
//! is DICOM's patient coordinate system (PS3.3 C.7.6.2.1.1: +x left, +y posterior, +z head)
//! translated to the isocentre, and PySkinDose's frame (`rdsr_normalizer.py`).
//!
//! Positioner angles (PS3.3 C.8.7.5.1.2) are relative to the patient: the primary angle turns
//! the image receptor from the patient's anterior towards the patient's left (LAO, positive)
//! or right (RAO, negative), the secondary angle towards the head (cranial, positive) or the
//! feet; at 0°/0° the receptor is anterior and the source posterior. The receptor's direction
//! in the patient frame is (sin α cos β, −cos α cos β, sin β); the source sits at the
//! source-to-isocentre distance on the other side.

use std::ops::{Add, Mul, Neg, Sub};

/// A point or direction, cm.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Vec3 {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

impl Vec3 {
    pub(crate) const fn new(x: f64, y: f64, z: f64) -> Vec3 {
        Vec3 { x, y, z }
    }
    pub(crate) fn dot(self, o: Vec3) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }
    pub(crate) fn cross(self, o: Vec3) -> Vec3 {
        Vec3::new(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }
    pub(crate) fn norm(self) -> f64 {
        self.dot(self).sqrt()
    }
    /// The unit vector, `None` for a zero or non-finite vector.
    pub(crate) fn unit(self) -> Option<Vec3> {
        let n = self.norm();
        (n.is_finite() && n > 0.0).then(|| self * (1.0 / n))
    }
    /// Component-wise product.
    pub(crate) fn scale(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x * o.x, self.y * o.y, self.z * o.z)
    }
}

impl Add for Vec3 {
    type Output = Vec3;
    fn add(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}
impl Sub for Vec3 {
    type Output = Vec3;
    fn sub(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}
impl Mul<f64> for Vec3 {
    type Output = Vec3;
    fn mul(self, k: f64) -> Vec3 {
        Vec3::new(self.x * k, self.y * k, self.z * k)
    }
}
impl Neg for Vec3 {
    type Output = Vec3;
    fn neg(self) -> Vec3 {
        Vec3::new(-self.x, -self.y, -self.z)
    }
}

/// How the patient lies on the table (Patient Table Relationship 113745 and Patient
/// Orientation Modifier 113744, CIDs 21 and 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Orientation {
    /// Head first, supine (the default of both open tools).
    #[default]
    HeadFirstSupine,
    /// Feet first, supine.
    FeetFirstSupine,
    /// Head first, prone.
    HeadFirstProne,
    /// Feet first, prone.
    FeetFirstProne,
}

impl Orientation {
    /// Signs of the patient axes in the room frame (x, y, z).
    fn signs(self) -> Vec3 {
        match self {
            Orientation::HeadFirstSupine => Vec3::new(1.0, 1.0, 1.0),
            Orientation::FeetFirstSupine => Vec3::new(-1.0, 1.0, -1.0),
            Orientation::HeadFirstProne => Vec3::new(-1.0, -1.0, 1.0),
            Orientation::FeetFirstProne => Vec3::new(1.0, -1.0, -1.0),
        }
    }

    /// `head_first_supine`…
    pub fn as_str(self) -> &'static str {
        match self {
            Orientation::HeadFirstSupine => "head_first_supine",
            Orientation::FeetFirstSupine => "feet_first_supine",
            Orientation::HeadFirstProne => "head_first_prone",
            Orientation::FeetFirstProne => "feet_first_prone",
        }
    }
}

/// Where the patient frame sits in the room frame for one table position: room = origin +
/// signs ⊙ patient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Placement {
    pub origin: Vec3,
    pub signs: Vec3,
}

impl Placement {
    /// The patient on the table top whose head-end centre is at `table` (room frame): the
    /// skin lying on the pad (`pad_cm` above the table top), the head end of the body at the
    /// head end of the table for head-first orientations (the feet there for feet-first),
    /// moved by `offset` (room frame). `length_cm` and `thickness_cm` are the phantom's.
    pub(crate) fn on_table(
        table: Vec3,
        pad_cm: f64,
        offset: Vec3,
        orientation: Orientation,
        length_cm: f64,
        thickness_cm: f64,
    ) -> Placement {
        let signs = orientation.signs();
        // Prone: the front lies on the pad, the back is up by the thickness.
        let lift = if signs.y < 0.0 { thickness_cm } else { 0.0 };
        // Feet first: the head is a body length from the table's head end.
        let shift = if signs.z < 0.0 { -length_cm } else { 0.0 };
        Placement {
            origin: table + offset + Vec3::new(0.0, -pad_cm - lift, shift),
            signs,
        }
    }

    pub(crate) fn point(&self, p: Vec3) -> Vec3 {
        self.origin + self.signs.scale(p)
    }

    pub(crate) fn direction(&self, d: Vec3) -> Vec3 {
        self.signs.scale(d)
    }
}

/// One beam: a pyramid from the focal spot through a rectangular collimated field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Beam {
    /// Focal spot, room frame.
    pub source: Vec3,
    /// Central axis, unit, from the source towards the receptor.
    pub axis: Vec3,
    /// Unit vectors across the field (width, height), perpendicular to the axis.
    pub across: Vec3,
    pub along: Vec3,
    /// Tangents of the half opening angles across and along.
    pub half_tan_across: f64,
    pub half_tan_along: f64,
}

impl Beam {
    /// The beam of positioner angles `primary_deg`, `secondary_deg` (patient-relative, DICOM
    /// signs), `source_to_isocenter_cm`, and a field of `width_cm` × `height_cm` at
    /// `at_distance_cm` from the source, for a patient placed by `placement` (whose signs
    /// turn patient directions into room directions). The isocentre is the room's origin.
    pub(crate) fn new(
        primary_deg: f64,
        secondary_deg: f64,
        source_to_isocenter_cm: f64,
        width_cm: f64,
        height_cm: f64,
        at_distance_cm: f64,
        placement: &Placement,
    ) -> Option<Beam> {
        let (a, b) = (primary_deg.to_radians(), secondary_deg.to_radians());
        let receptor = Vec3::new(a.sin() * b.cos(), -a.cos() * b.cos(), b.sin());
        let across = Vec3::new(a.cos(), a.sin(), 0.0);
        let along = receptor.cross(across);
        let axis = placement.direction(receptor).unit()?;
        let across = placement.direction(across).unit()?;
        let along = placement.direction(along).unit()?;
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !(ok(source_to_isocenter_cm) && ok(width_cm) && ok(height_cm) && ok(at_distance_cm)) {
            return None;
        }
        Some(Beam {
            source: -axis * source_to_isocenter_cm,
            axis,
            across,
            along,
            half_tan_across: width_cm / 2.0 / at_distance_cm,
            half_tan_along: height_cm / 2.0 / at_distance_cm,
        })
    }

    /// The same beam in the patient frame of `placement` (whose signs are their own inverse).
    pub(crate) fn in_patient_frame(&self, placement: &Placement) -> Beam {
        let back = |v: Vec3| placement.signs.scale(v);
        Beam {
            source: back(self.source - placement.origin),
            axis: back(self.axis),
            across: back(self.across),
            along: back(self.along),
            ..*self
        }
    }

    /// Whether `p` is inside the pyramid; then its distance from the source along the ray.
    #[inline]
    pub(crate) fn distance_if_inside(&self, p: Vec3) -> Option<f64> {
        let w = p - self.source;
        let t = w.dot(self.axis);
        if t <= 0.0 {
            return None;
        }
        if w.dot(self.across).abs() > t * self.half_tan_across
            || w.dot(self.along).abs() > t * self.half_tan_along
        {
            return None;
        }
        Some(w.norm())
    }
}

/// The table top (with its pad) as a slab under the patient, room frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TableSlab {
    /// Head-end centre of the table top's upper surface.
    pub head_top: Vec3,
    pub length_cm: f64,
    pub width_cm: f64,
    pub thickness_cm: f64,
}

impl TableSlab {
    /// Whether the segment from `source` to `p` crosses the table's lower face (so that the
    /// ray went through table and pad), for a source below that face.
    pub(crate) fn crossed(&self, source: Vec3, p: Vec3) -> bool {
        let bottom = self.head_top.y + self.thickness_cm;
        if source.y <= bottom || p.y >= bottom {
            return false;
        }
        let k = (bottom - source.y) / (p.y - source.y);
        let x = source.x + k * (p.x - source.x);
        let z = source.z + k * (p.z - source.z);
        (x - self.head_top.x).abs() <= self.width_cm / 2.0
            && z <= self.head_top.z
            && z >= self.head_top.z - self.length_cm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hfs() -> Placement {
        Placement::on_table(
            Vec3::default(),
            0.0,
            Vec3::default(),
            Orientation::HeadFirstSupine,
            100.0,
            20.0,
        )
    }

    #[test]
    fn pa_beam_comes_from_below() {
        let b = Beam::new(0.0, 0.0, 80.0, 10.0, 10.0, 100.0, &hfs()).unwrap();
        assert!((b.source - Vec3::new(0.0, 80.0, 0.0)).norm() < 1e-12);
        assert!((b.axis.y + 1.0).abs() < 1e-12);
        // 10 cm at 100 cm: 4 cm at 40 cm from the source; the isocentre plane at 80 cm: ±4 cm.
        assert!(b.distance_if_inside(Vec3::new(3.9, 0.0, 0.0)).is_some());
        assert!(b.distance_if_inside(Vec3::new(4.1, 0.0, 0.0)).is_none());
        assert!(b.distance_if_inside(Vec3::new(0.0, 90.0, 0.0)).is_none());
    }

    #[test]
    fn lao_puts_the_receptor_on_the_patients_left() {
        let b = Beam::new(90.0, 0.0, 80.0, 10.0, 10.0, 100.0, &hfs()).unwrap();
        assert!((b.axis.x - 1.0).abs() < 1e-12, "{:?}", b.axis);
        assert!(b.source.x < -79.9);
        // Cranial: receptor towards the head, source towards the feet.
        let c = Beam::new(0.0, 30.0, 80.0, 10.0, 10.0, 100.0, &hfs()).unwrap();
        assert!(c.axis.z > 0.0 && c.source.z < 0.0);
        // Feet first: the patient's left is the table's right.
        let ffs = Placement::on_table(
            Vec3::default(),
            0.0,
            Vec3::default(),
            Orientation::FeetFirstSupine,
            100.0,
            20.0,
        );
        let f = Beam::new(90.0, 0.0, 80.0, 10.0, 10.0, 100.0, &ffs).unwrap();
        assert!((f.axis.x + 1.0).abs() < 1e-12);
    }

    #[test]
    fn table_crossing() {
        let t = TableSlab {
            head_top: Vec3::new(0.0, 10.0, 50.0),
            length_cm: 200.0,
            width_cm: 45.0,
            thickness_cm: 5.0,
        };
        let src = Vec3::new(0.0, 80.0, 0.0);
        assert!(t.crossed(src, Vec3::new(0.0, 6.0, 0.0)));
        // Beyond the head end.
        assert!(!t.crossed(src, Vec3::new(0.0, 6.0, 60.0)));
        // A source above the table.
        assert!(!t.crossed(Vec3::new(0.0, -80.0, 0.0), Vec3::new(0.0, 6.0, 0.0)));
    }
}
