//! A site's room table: names for rooms whose files carry none that a person recognises, and
//! devices grouped into one room.

use std::collections::HashMap;
use std::io::Read;

use super::ProcedureSet;
use super::room::{self, Room, fold};
use crate::csvfile::{self, Problem};

/// The columns of a room table, in the order documented on [`RoomTable`].
const COLUMNS: [&str; 4] = ["key", "name", "same_room_as", "notes"];

/// Why a room table was rejected: the file (as the caller named it), the 1-based line where
/// it applies (the header is line 1), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{}: {message}", line.map_or("?".to_owned(), |l| l.to_string()))]
#[non_exhaustive]
pub struct RoomTableError {
    /// The file.
    pub file: String,
    /// The line, when known.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// One row of a room table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    file: String,
    line: u64,
    /// The device key or station name, as written.
    key: String,
    /// The name, as written; empty on a row that joins another.
    name: String,
    /// The folded key of the row this one joins.
    joins: Option<String>,
}

/// Names and groupings of rooms, from CSV files (`kerma-report --rooms`).
///
/// | column | required | content |
/// |---|---|---|
/// | `key` | yes | a device key (the `device` or `room_key` of the outputs: Device Observer UID, `Manufacturer Model #serial`…) or a Station Name (0008,1010) |
/// | `name` | yes, unless `same_room_as` is given | the room's name in every output |
/// | `same_room_as` | no | the `key` of another row: this device is that row's room (a detector replaced, a new serial number) |
/// | `notes` | no | free text |
///
/// Keys and station names are compared without regard to case, accents or spacing; a
/// device is looked up by its key first, then by its station name. A device found is in the
/// room of its row, or of the row its row joins: that row's `key`, as written, is the
/// room's key, so every device of a station row is one room. Lines starting with `#` are
/// comments. Two rows may not name the same key; a `same_room_as` must name a row that
/// joins no other.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut table = kerma::RoomTable::new();
/// table.load_csv(
///     "rooms.csv",
///     "key,name,same_room_as,notes\n\
///      1.2.826.0.1.3680043.10.1234.9.100,Salle de coronarographie,,\n\
///      1.2.826.0.1.3680043.10.1234.9.101,,1.2.826.0.1.3680043.10.1234.9.100,new detector\n"
///         .as_bytes(),
/// )?;
/// let mut p = kerma::Procedures::new();
/// p.add("1.dcm", kerma::extract_bytes(include_bytes!("../../testdata/survey_coro_01.dcm")));
/// p.add("2.dcm", kerma::extract_bytes(include_bytes!("../../testdata/survey_coro_02.dcm")));
/// let mut set = p.finish();
/// assert_eq!(set.procedures[0].room.name, "SALLE1");
/// set.apply_room_table(&table);
/// for p in &set.procedures {
///     assert_eq!(p.room.name, "Salle de coronarographie");
///     assert_eq!(p.room.key, "1.2.826.0.1.3680043.10.1234.9.100");
/// }
/// assert_eq!(set.procedures[1].room.device_key, "1.2.826.0.1.3680043.10.1234.9.101");
///
/// let bad = table.load_csv("more.csv", "key,name\nSALLE3,\n".as_bytes());
/// assert_eq!(
///     bad.map_err(|e| e.to_string()),
///     Err("more.csv:2: no name and no same_room_as for key \"SALLE3\"".to_owned())
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomTable {
    rows: Vec<Row>,
    /// Folded key → index in `rows`.
    by_key: HashMap<String, usize>,
}

impl RoomTable {
    /// An empty table.
    pub fn new() -> RoomTable {
        RoomTable::default()
    }

    /// Whether the table has no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds the rows of one CSV file, named `file` in errors. Nothing is added when the file
    /// is rejected.
    pub fn load_csv(&mut self, file: &str, reader: impl Read) -> Result<(), RoomTableError> {
        let new = read_rows(file, reader)?;
        let mut by_key = self.by_key.clone();
        let mut rows = self.rows.clone();
        for row in new {
            let k = fold(&row.key);
            if let Some(&i) = by_key.get(&k) {
                // ok: `by_key` holds indices of `rows`
                let first = &rows[i];
                return Err(error(
                    file,
                    row.line,
                    format!(
                        "key {:?} is already on {}:{}",
                        row.key, first.file, first.line
                    ),
                ));
            }
            by_key.insert(k, rows.len());
            rows.push(row);
        }
        for row in rows.iter().filter(|r| r.file == file) {
            let Some(target) = &row.joins else { continue };
            let line = row.line;
            let Some(&t) = by_key.get(target) else {
                return Err(error(
                    file,
                    line,
                    format!("same_room_as names no key of the room tables ({target:?})"),
                ));
            };
            // ok: `by_key` holds indices of `rows`
            let t = &rows[t];
            if std::ptr::eq(t, row) {
                return Err(error(
                    file,
                    line,
                    "same_room_as names the row itself".into(),
                ));
            }
            if t.joins.is_some() {
                return Err(error(
                    file,
                    line,
                    format!(
                        "same_room_as {:?} joins another room itself ({}:{}): name that room",
                        t.key, t.file, t.line
                    ),
                ));
            }
            if !row.name.is_empty() && fold(&row.name) != fold(&t.name) {
                return Err(error(
                    file,
                    line,
                    format!(
                        "name {:?} differs from {:?}, the name of the room it joins ({}:{})",
                        row.name, t.name, t.file, t.line
                    ),
                ));
            }
        }
        self.rows = rows;
        self.by_key = by_key;
        Ok(())
    }

    /// The row of a device: by its key, else by its station name.
    fn row_of(&self, room: &Room) -> Option<&Row> {
        // ok (here and in `room_of`): `by_key` holds indices of `rows`
        let by = |s: &str| self.by_key.get(&fold(s)).map(|&i| &self.rows[i]);
        by(&room.device_key).or_else(|| room.station_name.as_deref().and_then(by))
    }

    /// The key and name of a device's room, when the table has its row: those of the row,
    /// or of the row it joins.
    fn room_of(&self, room: &Room) -> Option<(String, String)> {
        let row = self.row_of(room)?;
        let head = match &row.joins {
            Some(t) => self.by_key.get(t).map(|&i| &self.rows[i])?,
            None => row,
        };
        Some((head.key.clone(), head.name.clone()))
    }
}

impl ProcedureSet {
    /// Gives the procedures' rooms the keys and names of `table` (see [`RoomTable`]), then
    /// names every room again (see [`Room`]). Applying an empty table restores the rooms
    /// that the files give.
    pub fn apply_room_table(&mut self, table: &RoomTable) {
        let mut fixed = HashMap::new();
        for p in &mut self.procedures {
            match table.room_of(&p.room) {
                Some((key, name)) => {
                    p.room.key = key.clone();
                    fixed.insert(key, name);
                }
                None => p.room.key = p.room.device_key.clone(),
            }
        }
        room::name_rooms(self.procedures.iter_mut().map(|p| &mut p.room), &fixed);
    }
}

fn error(file: &str, line: u64, message: String) -> RoomTableError {
    RoomTableError {
        file: file.to_owned(),
        line: Some(line),
        message,
    }
}

/// The rows of one file, each checked by itself.
fn read_rows(file: &str, reader: impl Read) -> Result<Vec<Row>, RoomTableError> {
    let records = csvfile::read_rows(file, reader, &COLUMNS, &["key", "name"]).map_err(|e| {
        let message = match e.problem {
            Problem::Io(message) => message,
            Problem::Csv(message) => format!("unreadable CSV: {message}"),
            Problem::UnknownColumn(h) => format!(
                "unknown column {h:?} (expected columns: {})",
                COLUMNS.join(", ")
            ),
            Problem::RepeatedColumn(h) => format!("column {h:?} appears twice"),
            Problem::MissingColumn(c) => {
                format!("column {c:?} is missing (columns: key, name[, same_room_as, notes])")
            }
        };
        RoomTableError {
            file: e.file,
            line: e.line,
            message,
        }
    })?;
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let line = record.line;
        let (key, name, joins) = (record.get(0), record.get(1), record.get(2));
        if key.is_empty() {
            return Err(error(file, line, "empty key".into()));
        }
        if name.is_empty() && joins.is_empty() {
            return Err(error(
                file,
                line,
                format!("no name and no same_room_as for key {key:?}"),
            ));
        }
        rows.push(Row {
            file: file.to_owned(),
            line,
            key: key.to_owned(),
            name: name.to_owned(),
            joins: (!joins.is_empty()).then(|| fold(joins)),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<RoomTable, String> {
        let mut t = RoomTable::new();
        t.load_csv("rooms.csv", text.as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(t)
    }

    fn room(device_key: &str, station: Option<&str>) -> Room {
        Room {
            key: device_key.to_owned(),
            weak: false,
            name: String::new(),
            device_key: device_key.to_owned(),
            station_name: station.map(str::to_owned),
            device_observer_name: None,
            manufacturer: None,
            model: None,
            serial_number: None,
        }
    }

    #[test]
    fn devices_are_found_by_key_then_by_station_name() {
        let t = load(
            "# site rooms\n\
             key,name,notes\n\
             1.2.3,Salle 1,\n\
             \n\
             # by station\n\
             Échographie,Salle 2,old console\n\
             SALLE1,Wrong,\n",
        )
        .unwrap();
        let of = |k: &str, st: Option<&str>| t.room_of(&room(k, st));
        assert_eq!(
            of("1.2.3", Some("SALLE1")),
            Some(("1.2.3".into(), "Salle 1".into()))
        );
        let salle2 = Some(("Échographie".into(), "Salle 2".into()));
        assert_eq!(of("9.9", Some("ECHOGRAPHIE")), salle2);
        assert_eq!(of("9.8", Some("échographie")), salle2);
        assert_eq!(of("9.9", Some("other")), None);
        assert_eq!(of("9.9", None), None);
    }

    #[test]
    fn grouped_devices_take_the_key_and_name_of_the_row_they_join() {
        let t = load(
            "key,same_room_as,name\n\
             new.detector,OLD.DETECTOR,\n\
             old.detector,,Salle 4\n\
             other,,Salle 5\n",
        )
        .unwrap();
        let of = |k: &str| t.room_of(&room(k, None));
        let salle4 = Some(("old.detector".to_owned(), "Salle 4".to_owned()));
        assert_eq!(of("new.detector"), salle4);
        assert_eq!(of("old.detector"), salle4);
        // the key as the table writes it
        assert_eq!(of("OTHER"), Some(("other".into(), "Salle 5".into())));
    }

    #[test]
    fn bad_rows_are_errors_naming_file_and_line() {
        for (text, expected) in [
            (
                "key,room\n",
                "rooms.csv:1: unknown column \"room\" (expected columns: key, name, same_room_as, notes)",
            ),
            (
                "name,notes\n",
                "rooms.csv:1: column \"key\" is missing (columns: key, name[, same_room_as, notes])",
            ),
            (
                "key,name,key\n",
                "rooms.csv:1: column \"key\" appears twice",
            ),
            ("key,name\n# c\n,Salle\n", "rooms.csv:3: empty key"),
            (
                "key,name\nA,x\n\nB,\n",
                "rooms.csv:4: no name and no same_room_as for key \"B\"",
            ),
            (
                "key,name\nA,x\na,y\n",
                "rooms.csv:3: key \"a\" is already on rooms.csv:2",
            ),
            (
                "key,name,same_room_as\nA,,B\n",
                "rooms.csv:2: same_room_as names no key of the room tables (\"b\")",
            ),
            (
                "key,name,same_room_as\nA,,A\n",
                "rooms.csv:2: same_room_as names the row itself",
            ),
            (
                "key,name,same_room_as\nA,x,\nB,,A\nC,,B\n",
                "rooms.csv:4: same_room_as \"B\" joins another room itself (rooms.csv:3): name that room",
            ),
            (
                "key,name,same_room_as\nA,x,\nB,y,A\n",
                "rooms.csv:3: name \"y\" differs from \"x\", the name of the room it joins (rooms.csv:2)",
            ),
            ("key,name\nA,x,extra\n", "rooms.csv:2: unreadable CSV"),
        ] {
            let got = load(text).map(|_| ()).unwrap_err();
            assert!(got.starts_with(expected), "{text:?}: {got}");
        }
        // the same name given on a joining row is accepted
        assert!(load("key,name,same_room_as\nA,Salle X,\nB,SALLE X,A\n").is_ok());
    }

    #[test]
    fn a_rejected_file_adds_nothing_and_a_second_file_may_join_the_first() {
        let mut t = RoomTable::new();
        t.load_csv("a.csv", "key,name\nA,Salle A\n".as_bytes())
            .unwrap();
        let dup = t.load_csv("b.csv", "key,name\nB,Salle B\nA,again\n".as_bytes());
        assert_eq!(
            dup.unwrap_err().to_string(),
            "b.csv:3: key \"A\" is already on a.csv:2"
        );
        assert_eq!(t.room_of(&room("B", None)), None);
        t.load_csv("c.csv", "key,name,same_room_as\nB,,a\n".as_bytes())
            .unwrap();
        assert_eq!(
            t.room_of(&room("B", None)),
            Some(("A".into(), "Salle A".into()))
        );
    }
}
