//! Rooms: the X-ray system a procedure was performed on, under a key that stays the same from
//! one export to the next and a name that a person recognises.
//!
//! The rules are on [`Room`].

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::Procedure;
use crate::extract::Identity;
use crate::rdsr::Device;

/// The room (X-ray system) of a procedure.
///
/// The device key is the first of these that the procedure's files give:
/// 1. the Device Observer UID (121012), mandatory in the device observer context
///    (PS3.16 TID 1004) of every RDSR;
/// 2. manufacturer, model and serial number, as `Manufacturer Model #serial`: those of the
///    device observer (121014, 121015, 121016), else of the header (Manufacturer (0008,0070),
///    Manufacturer's Model Name (0008,1090), Device Serial Number (0018,1000));
/// 3. Station Name (0008,1010), a name the site chose (PS3.3 C.7.5.1);
/// 4. manufacturer and model, as `Manufacturer Model`;
/// 5. `unknown`.
///
/// Keys 3 to 5 are weak: they may name several systems. The room's key is the device key,
/// unless a [`RoomTable`](super::RoomTable) groups the keys of two devices into one room (a
/// detector replaced, a new serial number): the room then has the key of the table row the
/// others join.
///
/// The name is Station Name, else Device Observer Name (121013), else
/// `Manufacturer Model (serial)`, else the key; a room table's name comes first. Every
/// procedure of a room shows one name: the best of these that its procedures give, from the
/// latest of them. Rooms whose names coincide (compared without regard to case, accents or
/// spacing) are told apart by serial number, `NAME (SN serial)`, where it is theirs alone,
/// else by key, `NAME (key)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Room {
    /// The room's key: the device key, or the key of the room that a
    /// [`RoomTable`](super::RoomTable) groups the device into.
    pub key: String,
    /// True when the device key is only a station name, or a manufacturer and model.
    pub weak: bool,
    /// The name shown for the room, the same for every procedure of the room and different
    /// from every other room's name.
    pub name: String,
    /// The key of the device that recorded the procedure (see above).
    pub device_key: String,
    /// Station Name (0008,1010).
    pub station_name: Option<String>,
    /// Device Observer Name (121013).
    pub device_observer_name: Option<String>,
    /// Manufacturer: of the device observer (121014), else of the header (0008,0070).
    pub manufacturer: Option<String>,
    /// Model: of the device observer (121015), else of the header (0008,1090).
    pub model: Option<String>,
    /// Serial number: of the device observer (121016), else of the header (0018,1000).
    pub serial_number: Option<String>,
}

/// `s` trimmed, or `None` when it is empty.
fn clean(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The header attributes that name a system.
#[derive(Debug, Clone, Default)]
struct Header {
    station_name: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    serial_number: Option<String>,
}

/// What a procedure's files say about its room, gathered while the procedure is built.
#[derive(Debug, Default)]
pub(super) struct RoomFacts {
    /// The device observer of the first report, replaced by that of any later report with a
    /// Device Observer UID.
    device: Option<Device>,
    /// The header of the first file that names a system.
    header: Option<Header>,
}

impl RoomFacts {
    /// A report's device observer.
    pub(super) fn report(&mut self, d: &Device) {
        if self.device.is_none() || d.observer_uid.is_some() {
            self.device = Some(d.clone());
        }
    }

    /// A file's header.
    pub(super) fn header(&mut self, id: &Identity) {
        if self.header.is_some() {
            return;
        }
        let h = Header {
            station_name: clean(&id.station_name).map(str::to_owned),
            manufacturer: clean(&id.manufacturer).map(str::to_owned),
            model: clean(&id.model).map(str::to_owned),
            serial_number: clean(&id.serial_number).map(str::to_owned),
        };
        let names_a_system = h.station_name.is_some()
            || h.manufacturer.is_some()
            || h.model.is_some()
            || h.serial_number.is_some();
        if names_a_system {
            self.header = Some(h);
        }
    }

    /// The procedure's room, named by its own files (set-level naming comes later).
    pub(super) fn room(self) -> Room {
        let d = self.device.unwrap_or_default();
        let h = self.header.unwrap_or_default();
        let triple = |m: &Option<String>, model: &Option<String>, s: &Option<String>| {
            Some(format!("{} {} #{}", clean(m)?, clean(model)?, clean(s)?))
        };
        let pair = |m: &Option<String>, model: &Option<String>| {
            Some(format!("{} {}", clean(m)?, clean(model)?))
        };
        let strong = clean(&d.observer_uid)
            .map(str::to_owned)
            .or_else(|| triple(&d.manufacturer, &d.model, &d.serial_number))
            .or_else(|| triple(&h.manufacturer, &h.model, &h.serial_number));
        let (device_key, weak) = match strong {
            Some(k) => (k, false),
            None => {
                let weak = h
                    .station_name
                    .clone()
                    .or_else(|| pair(&h.manufacturer, &h.model))
                    .or_else(|| pair(&d.manufacturer, &d.model))
                    .unwrap_or_else(|| "unknown".to_owned());
                (weak, true)
            }
        };
        let either = |a: &Option<String>, b: &Option<String>| {
            clean(a).or_else(|| clean(b)).map(str::to_owned)
        };
        let mut room = Room {
            key: device_key.clone(),
            weak,
            name: String::new(),
            device_key,
            station_name: h.station_name,
            device_observer_name: clean(&d.name).map(str::to_owned),
            manufacturer: either(&d.manufacturer, &h.manufacturer),
            model: either(&d.model, &h.model),
            serial_number: either(&d.serial_number, &h.serial_number),
        };
        room.name = room.own_name();
        room
    }
}

impl Room {
    /// The rank of [`own_name`](Room::own_name) (lower is better): 1 station name, 2 device
    /// observer name, 3 manufacturer, model and serial number, 4 key.
    fn name_rank(&self) -> u8 {
        if clean(&self.station_name).is_some() {
            1
        } else if clean(&self.device_observer_name).is_some() {
            2
        } else if [&self.manufacturer, &self.model, &self.serial_number]
            .into_iter()
            .any(|s| clean(s).is_some())
        {
            3
        } else {
            4
        }
    }

    /// The name this procedure's files give the room.
    fn own_name(&self) -> String {
        if let Some(s) = clean(&self.station_name).or_else(|| clean(&self.device_observer_name)) {
            return s.to_owned();
        }
        let base: Vec<&str> = [clean(&self.manufacturer), clean(&self.model)]
            .into_iter()
            .flatten()
            .collect();
        let base = base.join(" ");
        match (base.is_empty(), clean(&self.serial_number)) {
            (false, Some(s)) => format!("{base} ({s})"),
            (false, None) => base,
            (true, Some(s)) => format!("SN {s}"),
            (true, None) => self.key.clone(),
        }
    }
}

/// `s` for comparison: lower case, Latin accents and ligatures spelt out in ASCII, runs of
/// white space as one space, trimmed.
pub(super) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            continue;
        }
        match crate::value::unaccented(c) {
            Some(plain) => out.push_str(plain),
            None => out.push(c),
        }
    }
    out
}

/// Names every room: one name per key, the table's where `fixed` has one, else the best
/// name its procedures give (the latest of equal rank; `rooms` in date order); then names
/// that coincide are told apart (see [`Room`]).
pub(super) fn name_rooms<'a>(
    rooms: impl IntoIterator<Item = &'a mut Room>,
    fixed: &HashMap<String, String>,
) {
    let mut rooms: Vec<&mut Room> = rooms.into_iter().collect();
    // key → (rank, the room that names it)
    let mut namer: HashMap<&str, (u8, usize)> = HashMap::new();
    let mut written: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (i, room) in rooms.iter().enumerate() {
        let rank = if fixed.contains_key(&room.key) {
            0
        } else {
            room.name_rank()
        };
        let slot = namer.entry(room.key.as_str()).or_insert((rank, i));
        if rank <= slot.0 {
            *slot = (rank, i);
        }
        let s = written.entry(room.key.as_str()).or_default();
        s.extend(clean(&room.serial_number));
    }
    // key → its name, and its serial numbers folded
    let best: HashMap<&str, (u8, String)> = namer
        .iter()
        .map(|(&key, &(rank, i))| {
            let name = match fixed.get(key) {
                Some(n) => n.clone(),
                None => rooms.get(i).map(|r| r.own_name()).unwrap_or_default(),
            };
            (key, (rank, name))
        })
        .collect();
    let serials: HashMap<&str, BTreeSet<String>> = written
        .iter()
        .map(|(&k, s)| (k, s.iter().map(|s| fold(s)).collect()))
        .collect();
    // rooms sharing a name: folded name → keys
    let mut by_name: HashMap<String, Vec<&str>> = HashMap::new();
    for (key, (_, name)) in &best {
        by_name.entry(fold(name)).or_default().push(key);
    }
    let mut names: HashMap<String, String> = HashMap::new();
    for (key, (_, name)) in &best {
        let keys = by_name.get(&fold(name)).map_or(&[][..], Vec::as_slice);
        let shown = if keys.len() < 2 || fold(key) == fold(name) {
            name.clone()
        } else {
            let serial = serials.get(key).filter(|s| s.len() == 1).and_then(|s| {
                let s = s.first()?;
                let shared = keys
                    .iter()
                    .filter(|k| *k != key)
                    .any(|k| serials.get(k).is_some_and(|o| o.contains(s)));
                (!shared).then_some(s)
            });
            match serial {
                Some(_) => {
                    // the serial as the file writes it, not folded
                    let as_written = written
                        .get(key)
                        .and_then(|s| s.first())
                        .copied()
                        .unwrap_or_default();
                    format!("{name} (SN {as_written})")
                }
                None => format!("{name} ({key})"),
            }
        };
        names.insert((*key).to_owned(), shown);
    }
    for room in rooms.iter_mut() {
        if let Some(n) = names.get(&room.key) {
            room.name = n.clone();
        }
    }
}

/// One room of a [`RoomList`]: what its procedures say of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RoomSummary {
    /// Its number in the list, from 1 (shown as `R1`, `R2`…).
    pub number: usize,
    /// The room's key.
    pub key: String,
    /// The room's name.
    pub name: String,
    /// The device keys of its procedures (several when a room table groups devices).
    pub device_keys: Vec<String>,
    /// The station names of its procedures.
    pub station_names: Vec<String>,
    /// The device observer names of its procedures.
    pub device_observer_names: Vec<String>,
    /// The serial numbers of its procedures.
    pub serial_numbers: Vec<String>,
    /// How many procedures it has.
    pub procedures: usize,
}

impl RoomSummary {
    /// `R` and the room's number.
    pub fn label(&self) -> String {
        format!("R{}", self.number)
    }

    /// The texts by which a user may select the room.
    fn identifiers(&self) -> impl Iterator<Item = &String> {
        [&self.name, &self.key]
            .into_iter()
            .chain(&self.device_keys)
            .chain(&self.station_names)
            .chain(&self.device_observer_names)
            .chain(&self.serial_numbers)
    }
}

/// The distinct rooms of some procedures, in name order (without regard to case and
/// accents), numbered from 1: the same number for a room in every table and plot.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut p = kerma::Procedures::new();
/// let bytes = include_bytes!("../../testdata/survey_coro_01.dcm");
/// p.add("a.dcm", kerma::extract_bytes(bytes));
/// let set = p.finish();
/// let rooms = kerma::RoomList::of(&set.procedures);
/// let salle1 = rooms.select("salle1");
/// assert_eq!(salle1.len(), 1);
/// assert_eq!((salle1[0].name.as_str(), salle1[0].label()), ("SALLE1", "R1".to_owned()));
/// assert!(rooms.select("SALLE9").is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomList {
    rooms: Vec<RoomSummary>,
}

impl RoomList {
    /// The rooms of `procedures`.
    pub fn of<'a>(procedures: impl IntoIterator<Item = &'a Procedure>) -> RoomList {
        let mut by_key: HashMap<&str, RoomSummary> = HashMap::new();
        for p in procedures {
            let r = &p.room;
            let s = by_key.entry(r.key.as_str()).or_insert_with(|| RoomSummary {
                number: 0,
                key: r.key.clone(),
                name: r.name.clone(),
                device_keys: Vec::new(),
                station_names: Vec::new(),
                device_observer_names: Vec::new(),
                serial_numbers: Vec::new(),
                procedures: 0,
            });
            s.procedures += 1;
            for (list, value) in [
                (&mut s.device_keys, Some(r.device_key.as_str())),
                (&mut s.station_names, clean(&r.station_name)),
                (&mut s.device_observer_names, clean(&r.device_observer_name)),
                (&mut s.serial_numbers, clean(&r.serial_number)),
            ] {
                if let Some(v) = value
                    && !list.iter().any(|x| x == v)
                {
                    list.push(v.to_owned());
                }
            }
        }
        let mut rooms: Vec<RoomSummary> = by_key.into_values().collect();
        rooms.sort_by(|a, b| {
            (fold(&a.name), &a.name, &a.key).cmp(&(fold(&b.name), &b.name, &b.key))
        });
        for (i, r) in rooms.iter_mut().enumerate() {
            r.number = i + 1;
            r.device_keys.sort();
            r.station_names.sort();
            r.device_observer_names.sort();
            r.serial_numbers.sort();
        }
        RoomList { rooms }
    }

    /// The rooms, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, RoomSummary> {
        self.rooms.iter()
    }

    /// How many rooms there are.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    /// The room of `key`.
    pub fn get(&self, key: &str) -> Option<&RoomSummary> {
        self.rooms.iter().find(|r| r.key == key)
    }

    /// The rooms that `query` names, without regard to case, accents or spacing: those whose
    /// name, key, a device key, a station name, a device observer name or a serial number
    /// is `query`; if none is, those where one of these contains `query`. Empty when
    /// nothing matches.
    pub fn select(&self, query: &str) -> Vec<&RoomSummary> {
        let q = fold(query);
        if q.is_empty() {
            return Vec::new();
        }
        let exact: Vec<&RoomSummary> = self
            .rooms
            .iter()
            .filter(|r| r.identifiers().any(|s| fold(s) == q))
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        self.rooms
            .iter()
            .filter(|r| r.identifiers().any(|s| fold(s).contains(&q)))
            .collect()
    }
}

impl<'a> IntoIterator for &'a RoomList {
    type Item = &'a RoomSummary;
    type IntoIter = std::slice::Iter<'a, RoomSummary>;

    fn into_iter(self) -> Self::IntoIter {
        self.rooms.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    fn device(uid: Option<&str>, name: Option<&str>, m: &str, model: &str, sn: &str) -> Device {
        Device {
            observer_uid: uid.map(str::to_owned),
            name: name.map(str::to_owned),
            manufacturer: some(m),
            model: some(model),
            serial_number: some(sn),
        }
    }

    fn header(
        station: Option<&str>,
        m: Option<&str>,
        model: Option<&str>,
        sn: Option<&str>,
    ) -> Identity {
        Identity {
            station_name: station.map(str::to_owned),
            manufacturer: m.map(str::to_owned),
            model: model.map(str::to_owned),
            serial_number: sn.map(str::to_owned),
            ..Identity::default()
        }
    }

    fn room_of(device: Option<Device>, id: Option<Identity>) -> Room {
        let mut f = RoomFacts::default();
        if let Some(d) = device {
            f.report(&d);
        }
        if let Some(id) = id {
            f.header(&id);
        }
        f.room()
    }

    #[test]
    fn keys_in_order_uid_then_make_model_serial_then_station_then_make_model() {
        let uid = device(Some("1.2.3"), Some("OBS"), "ACME", "X1", "77");
        let no_uid = device(None, None, "ACME", "X1", "77");
        let hdr = header(Some("SALLE1"), Some("Hdr"), Some("H2"), Some("SN9"));
        let r = room_of(Some(uid), Some(hdr.clone()));
        assert_eq!((r.key.as_str(), r.weak), ("1.2.3", false));
        let r = room_of(Some(no_uid), Some(hdr.clone()));
        assert_eq!((r.key.as_str(), r.weak), ("ACME X1 #77", false));
        // without a report: the header's manufacturer, model and serial number
        let r = room_of(None, Some(hdr));
        assert_eq!((r.key.as_str(), r.weak), ("Hdr H2 #SN9", false));
        let r = room_of(
            None,
            Some(header(Some("SALLE1"), Some("Hdr"), Some("H2"), None)),
        );
        assert_eq!((r.key.as_str(), r.weak), ("SALLE1", true));
        let r = room_of(None, Some(header(None, Some("Hdr"), Some("H2"), None)));
        assert_eq!((r.key.as_str(), r.weak), ("Hdr H2", true));
        let r = room_of(None, None);
        assert_eq!((r.key.as_str(), r.weak), ("unknown", true));
        // blank values count as absent
        let r = room_of(
            None,
            Some(header(Some("  "), Some("Hdr"), Some("H2"), Some(" "))),
        );
        assert_eq!(r.key, "Hdr H2");
    }

    #[test]
    fn a_later_report_with_a_uid_replaces_one_without() {
        let mut f = RoomFacts::default();
        f.report(&device(None, None, "A", "B", "1"));
        f.report(&device(Some("9.9"), None, "A", "B", "1"));
        f.report(&device(None, None, "C", "D", "2"));
        assert_eq!(f.room().key, "9.9");
    }

    #[test]
    fn names_station_then_observer_name_then_make_model_serial_then_key() {
        let d = device(Some("1.2.3"), Some("OBS"), "ACME", "X1", "77");
        let r = room_of(
            Some(d.clone()),
            Some(header(Some("SALLE1"), None, None, None)),
        );
        assert_eq!(r.name, "SALLE1");
        let r = room_of(Some(d.clone()), None);
        assert_eq!(r.name, "OBS");
        let mut anonymous = d;
        anonymous.name = None;
        let r = room_of(Some(anonymous.clone()), None);
        assert_eq!(r.name, "ACME X1 (77)");
        anonymous.manufacturer = None;
        anonymous.model = None;
        assert_eq!(room_of(Some(anonymous.clone()), None).name, "SN 77");
        anonymous.serial_number = None;
        assert_eq!(room_of(Some(anonymous), None).name, "1.2.3");
    }

    fn named(key: &str, station: Option<&str>, serial: Option<&str>) -> Room {
        Room {
            key: key.to_owned(),
            weak: false,
            name: String::new(),
            device_key: key.to_owned(),
            station_name: station.map(str::to_owned),
            device_observer_name: None,
            manufacturer: None,
            model: None,
            serial_number: serial.map(str::to_owned),
        }
    }

    fn names(rooms: &mut [Room], fixed: &[(&str, &str)]) -> Vec<String> {
        let fixed = fixed
            .iter()
            .map(|(k, n)| (k.to_string(), n.to_string()))
            .collect();
        name_rooms(rooms.iter_mut(), &fixed);
        rooms.iter().map(|r| r.name.clone()).collect()
    }

    #[test]
    fn a_room_has_one_name_the_latest_of_the_best_rank() {
        let mut rooms = vec![
            named("k", None, Some("5")),
            named("k", Some("OLD NAME"), Some("5")),
            named("k", Some("NEW NAME"), Some("5")),
            named("k", None, Some("5")),
        ];
        assert_eq!(names(&mut rooms, &[]), ["NEW NAME"; 4]);
        // a table's name wins
        assert_eq!(names(&mut rooms, &[("k", "Salle 3")]), ["Salle 3"; 4]);
    }

    #[test]
    fn coinciding_names_are_told_apart_by_serial_else_by_key() {
        let mut rooms = vec![
            named("1.1", Some("ArtisZee"), Some("123")),
            named("1.2", Some("artiszée"), Some("456")),
            named("2.1", Some("ANGIO"), Some("7")),
            named("2.2", Some("ANGIO"), Some("7")),
            named("ANGIO", Some("ANGIO"), None),
            named("3.1", Some("SALLE1"), Some("7")),
        ];
        assert_eq!(
            names(&mut rooms, &[]),
            [
                "ArtisZee (SN 123)",
                "artiszée (SN 456)",
                "ANGIO (2.1)",
                "ANGIO (2.2)",
                "ANGIO",
                "SALLE1"
            ]
        );
    }

    #[test]
    fn folding_ignores_case_accents_and_spacing() {
        assert_eq!(fold("  Salle  d'Écho\tÀ "), "salle d'echo a");
        assert_eq!(fold("ŒDÈME Straße"), "oedeme strasse");
        assert_eq!(fold(""), "");
    }
}
