//! DIMSE command sets of C-ECHO and C-STORE (PS3.7 §9.3.1, §9.3.5, Annex E): decoding what a
//! peer sends and encoding the responses.
//!
//! A command set is a group-0000 data set encoded in implicit VR little endian whatever the
//! presentation context's transfer syntax (PS3.7 §6.3.1): each element is tag (group,
//! element as two little-endian u16), a little-endian u32 value length, then the value. The
//! first element is Command Group Length (0000,0000) UL, the byte length of every element
//! after it.

use std::fmt;

/// Verification SOP Class (PS3.4 Annex A).
pub const VERIFICATION: &str = "1.2.840.10008.1.1";

/// Command Field (0000,0100) of a C-STORE-RQ (PS3.7 Annex E).
pub const C_STORE_RQ: u16 = 0x0001;
/// Command Field of a C-STORE-RSP.
pub const C_STORE_RSP: u16 = 0x8001;
/// Command Field of a C-ECHO-RQ.
pub const C_ECHO_RQ: u16 = 0x0030;
/// Command Field of a C-ECHO-RSP.
pub const C_ECHO_RSP: u16 = 0x8030;
/// Command Data Set Type (0000,0800) meaning "no data set"; any other value means one follows
/// (PS3.7 Annex E).
pub const NO_DATA_SET: u16 = 0x0101;

/// Most elements a decoded command set may hold: the C-STORE-RQ has at most 10 (PS3.7
/// §9.3.1.1); the margin admits private or retired ones, which are skipped.
const MAX_ELEMENTS: usize = 64;

/// DIMSE status codes a Storage SCP sends (PS3.4 Table B.2-1, PS3.7 Annex C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u16);

impl Status {
    /// 0000H: success (the object is durable).
    pub const SUCCESS: Status = Status(0x0000);
    /// A700H: refused, out of resources (store and spool down, or an object over the limits).
    pub const OUT_OF_RESOURCES: Status = Status(0xA700);
    /// C000H: error, cannot understand (the data set cannot be read).
    pub const CANNOT_UNDERSTAND: Status = Status(0xC000);
    /// 0122H: refused, SOP Class not supported.
    pub const SOP_CLASS_NOT_SUPPORTED: Status = Status(0x0122);
    /// 0211H: unrecognized operation (a command other than C-ECHO or C-STORE).
    pub const UNRECOGNIZED_OPERATION: Status = Status(0x0211);
    /// 0212H: mistyped argument (a required command element missing or malformed).
    pub const MISTYPED_ARGUMENT: Status = Status(0x0212);

    /// Whether this is 0000H.
    pub fn is_success(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}H", self.0)
    }
}

/// Why a command set could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The bytes end inside an element.
    Truncated {
        /// Offset of the element that does not fit.
        at: usize,
    },
    /// An element outside group 0000.
    NotCommandGroup {
        /// Its group.
        group: u16,
    },
    /// More elements than a command set of C-ECHO or C-STORE can hold.
    TooManyElements,
    /// An element's value has the wrong length for its VR.
    BadValue {
        /// Its element number in group 0000.
        element: u16,
    },
    /// Command Group Length disagrees with the bytes that follow it.
    GroupLength {
        /// The declared length.
        declared: u32,
        /// The bytes after the Command Group Length element.
        actual: usize,
    },
    /// Command Field (0000,0100) is missing.
    NoCommandField,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Truncated { at } => write!(f, "command set truncated at byte {at}"),
            CommandError::NotCommandGroup { group } => {
                write!(f, "element of group {group:04X} in a command set")
            }
            CommandError::TooManyElements => {
                write!(f, "more than {MAX_ELEMENTS} elements in a command set")
            }
            CommandError::BadValue { element } => {
                write!(f, "element (0000,{element:04X}) has a malformed value")
            }
            CommandError::GroupLength { declared, actual } => write!(
                f,
                "Command Group Length is {declared} but {actual} bytes follow it"
            ),
            CommandError::NoCommandField => write!(f, "no Command Field (0000,0100)"),
        }
    }
}

impl std::error::Error for CommandError {}

/// A decoded command set: the elements of C-ECHO and C-STORE requests and responses
/// (PS3.7 §9.3.1.1-2, §9.3.5.1-2); others are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// Command Field (0000,0100).
    pub command_field: u16,
    /// Affected SOP Class UID (0000,0002), without padding.
    pub affected_sop_class: Option<String>,
    /// Affected SOP Instance UID (0000,1000), without padding.
    pub affected_sop_instance: Option<String>,
    /// Message ID (0000,0110).
    pub message_id: Option<u16>,
    /// Message ID Being Responded To (0000,0120).
    pub responded_to: Option<u16>,
    /// Priority (0000,0700): 0 medium, 1 high, 2 low.
    pub priority: Option<u16>,
    /// Command Data Set Type (0000,0800).
    pub data_set_type: Option<u16>,
    /// Status (0000,0900).
    pub status: Option<u16>,
    /// Error Comment (0000,0902), without padding.
    pub error_comment: Option<String>,
    /// Move Originator Application Entity Title (0000,1030), without padding.
    pub move_originator_ae: Option<String>,
    /// Move Originator Message ID (0000,1031).
    pub move_originator_id: Option<u16>,
}

impl Command {
    /// Whether a data set follows this command (Command Data Set Type present and not
    /// 0101H; PS3.7 Annex E).
    pub fn has_data_set(&self) -> bool {
        self.data_set_type.is_some_and(|t| t != NO_DATA_SET)
    }

    /// A C-ECHO-RQ.
    pub fn echo_rq(message_id: u16) -> Command {
        Command {
            command_field: C_ECHO_RQ,
            affected_sop_class: Some(VERIFICATION.to_owned()),
            message_id: Some(message_id),
            data_set_type: Some(NO_DATA_SET),
            ..Command::default()
        }
    }

    /// The C-ECHO-RSP to `rq` (status success, PS3.7 §9.3.5.2).
    pub fn echo_rsp(rq: &Command) -> Command {
        Command {
            command_field: C_ECHO_RSP,
            affected_sop_class: Some(VERIFICATION.to_owned()),
            responded_to: rq.message_id,
            data_set_type: Some(NO_DATA_SET),
            status: Some(0),
            ..Command::default()
        }
    }

    /// A C-STORE-RQ for an object of `sop_class` and `sop_instance`, priority medium.
    pub fn store_rq(message_id: u16, sop_class: &str, sop_instance: &str) -> Command {
        Command {
            command_field: C_STORE_RQ,
            affected_sop_class: Some(sop_class.to_owned()),
            affected_sop_instance: Some(sop_instance.to_owned()),
            message_id: Some(message_id),
            priority: Some(0),
            data_set_type: Some(0x0001),
            ..Command::default()
        }
    }

    /// The C-STORE-RSP to `rq` with `status`, echoing its SOP class and instance; an error
    /// comment (at most 64 characters, PS3.5 LO) goes with a failure.
    pub fn store_rsp(rq: &Command, status: Status, comment: Option<&str>) -> Command {
        Command {
            command_field: C_STORE_RSP,
            affected_sop_class: rq.affected_sop_class.clone(),
            affected_sop_instance: rq.affected_sop_instance.clone(),
            responded_to: rq.message_id,
            data_set_type: Some(NO_DATA_SET),
            status: Some(status.0),
            error_comment: comment.map(lo_value),
            ..Command::default()
        }
    }

    /// Encodes the command set in implicit VR little endian, elements in tag order, led by
    /// its Command Group Length.
    ///
    /// ```
    /// use kerma::net::dimse::Command;
    /// let rq = Command::echo_rq(7);
    /// let bytes = rq.encode();
    /// assert_eq!(Command::decode(&bytes), Ok(rq));
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(160);
        if let Some(v) = &self.affected_sop_class {
            put_text(&mut body, 0x0002, v, 0);
        }
        put_us(&mut body, 0x0100, self.command_field);
        for (element, value) in [
            (0x0110, self.message_id),
            (0x0120, self.responded_to),
            (0x0700, self.priority),
            (0x0800, self.data_set_type),
            (0x0900, self.status),
        ] {
            if let Some(v) = value {
                put_us(&mut body, element, v);
            }
        }
        if let Some(v) = &self.error_comment {
            put_text(&mut body, 0x0902, v, b' ');
        }
        if let Some(v) = &self.affected_sop_instance {
            put_text(&mut body, 0x1000, v, 0);
        }
        if let Some(v) = &self.move_originator_ae {
            put_text(&mut body, 0x1030, v, b' ');
        }
        if let Some(v) = self.move_originator_id {
            put_us(&mut body, 0x1031, v);
        }
        let mut out = Vec::with_capacity(body.len() + 12);
        out.extend_from_slice(&[0, 0, 0, 0, 4, 0, 0, 0]);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes a command set; elements it does not know are skipped, a missing Command Group
    /// Length is tolerated, a wrong one is an error.
    pub fn decode(bytes: &[u8]) -> Result<Command, CommandError> {
        let mut cmd = Command::default();
        let mut field = None;
        let mut at = 0usize;
        let mut count = 0usize;
        while at < bytes.len() {
            let head = bytes
                .get(at..at + 8)
                .ok_or(CommandError::Truncated { at })?;
            let group = u16::from_le_bytes([head[0], head[1]]);
            let element = u16::from_le_bytes([head[2], head[3]]);
            let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
            if group != 0 {
                return Err(CommandError::NotCommandGroup { group });
            }
            count += 1;
            if count > MAX_ELEMENTS {
                return Err(CommandError::TooManyElements);
            }
            let value = at
                .checked_add(8 + len)
                .and_then(|end| bytes.get(at + 8..end))
                .ok_or(CommandError::Truncated { at })?;
            let us = || match value {
                [a, b] => Ok(u16::from_le_bytes([*a, *b])),
                _ => Err(CommandError::BadValue { element }),
            };
            match element {
                0x0000 => {
                    let declared = match value {
                        [a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]),
                        _ => return Err(CommandError::BadValue { element }),
                    };
                    let actual = bytes.len() - (at + 8 + len);
                    if declared as usize != actual {
                        return Err(CommandError::GroupLength { declared, actual });
                    }
                }
                0x0002 => cmd.affected_sop_class = Some(text(value)),
                0x0100 => field = Some(us()?),
                0x0110 => cmd.message_id = Some(us()?),
                0x0120 => cmd.responded_to = Some(us()?),
                0x0700 => cmd.priority = Some(us()?),
                0x0800 => cmd.data_set_type = Some(us()?),
                0x0900 => cmd.status = Some(us()?),
                0x0902 => cmd.error_comment = Some(text(value)),
                0x1000 => cmd.affected_sop_instance = Some(text(value)),
                0x1030 => cmd.move_originator_ae = Some(text(value)),
                0x1031 => cmd.move_originator_id = Some(us()?),
                _ => {}
            }
            at += 8 + len;
        }
        cmd.command_field = field.ok_or(CommandError::NoCommandField)?;
        Ok(cmd)
    }
}

/// A text value without its padding (trailing NUL or spaces, leading spaces).
fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .trim_end_matches(['\0', ' '])
        .trim_start_matches(' ')
        .to_owned()
}

/// A comment cut to LO's 64 characters, without backslashes or control characters
/// (PS3.5 Table 6.2-1).
fn lo_value(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\\' || c.is_control() { ' ' } else { c })
        .take(64)
        .collect()
}

fn put_us(out: &mut Vec<u8>, element: u16, value: u16) {
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&value.to_le_bytes());
}

/// A text element padded to even length with `pad` (NUL for UI, space for AE and LO).
fn put_text(out: &mut Vec<u8>, element: u16, value: &str, pad: u8) {
    let len = value.len() + value.len() % 2;
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(value.as_bytes());
    if value.len() % 2 == 1 {
        out.push(pad);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A C-ECHO-RQ assembled by hand from PS3.7 Table 9.3-12 (Affected SOP Class UID,
    /// Command Field 0030H, Message ID, Command Data Set Type 0101H), in implicit VR LE.
    fn echo_rq_bytes(message_id: u16) -> Vec<u8> {
        let mut b = vec![];
        // (0000,0000) UL 4: 56 = 8+18 + 8+2 + 8+2 + 8+2
        b.extend_from_slice(&[0, 0, 0, 0, 4, 0, 0, 0, 56, 0, 0, 0]);
        b.extend_from_slice(&[0, 0, 2, 0, 18, 0, 0, 0]);
        b.extend_from_slice(b"1.2.840.10008.1.1\0");
        b.extend_from_slice(&[0, 0, 0, 1, 2, 0, 0, 0, 0x30, 0x00]);
        b.extend_from_slice(&[0, 0, 0x10, 1, 2, 0, 0, 0]);
        b.extend_from_slice(&message_id.to_le_bytes());
        b.extend_from_slice(&[0, 0, 0, 8, 2, 0, 0, 0, 0x01, 0x01]);
        b
    }

    #[test]
    fn echo_rq_from_the_standard_tables() {
        let bytes = echo_rq_bytes(0x1234);
        let cmd = Command::decode(&bytes).unwrap();
        assert_eq!(cmd.command_field, C_ECHO_RQ);
        assert_eq!(cmd.affected_sop_class.as_deref(), Some(VERIFICATION));
        assert_eq!(cmd.message_id, Some(0x1234));
        assert!(!cmd.has_data_set());
        assert_eq!(Command::echo_rq(0x1234).encode(), bytes);
    }

    #[test]
    fn echo_rsp_answers_the_message_id() {
        let rq = Command::decode(&echo_rq_bytes(9)).unwrap();
        let rsp = Command::decode(&Command::echo_rsp(&rq).encode()).unwrap();
        assert_eq!(rsp.command_field, C_ECHO_RSP);
        assert_eq!(rsp.responded_to, Some(9));
        assert_eq!(rsp.status, Some(0));
        assert_eq!(rsp.message_id, None);
    }

    #[test]
    fn store_rq_and_rsp_round_trip() {
        let rq = Command::store_rq(3, "1.2.840.10008.5.1.4.1.1.88.67", "1.2.3.45");
        let bytes = rq.encode();
        // Group length counts every byte after its own element.
        assert_eq!(
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            bytes.len() - 12
        );
        // UIDs of odd length are padded with one NUL (PS3.5 §9.1).
        assert_eq!(bytes.len() % 2, 0);
        let back = Command::decode(&bytes).unwrap();
        assert_eq!(back, rq);
        assert!(back.has_data_set());
        let rsp = Command::store_rsp(&back, Status::OUT_OF_RESOURCES, Some("spool\\full"));
        let rsp = Command::decode(&rsp.encode()).unwrap();
        assert_eq!(rsp.command_field, C_STORE_RSP);
        assert_eq!(rsp.status, Some(0xA700));
        assert_eq!(rsp.responded_to, Some(3));
        assert_eq!(rsp.affected_sop_instance.as_deref(), Some("1.2.3.45"));
        assert_eq!(rsp.error_comment.as_deref(), Some("spool full"));
    }

    #[test]
    fn data_set_type_other_than_0101_means_a_data_set() {
        // DCMTK sends 0001H, ACR-NEMA senders 0102H (PS3.7 Annex E: any value but 0101H).
        for t in [0x0001, 0x0102, 0xFEFE] {
            let c = Command {
                data_set_type: Some(t),
                ..Command::default()
            };
            assert!(c.has_data_set());
        }
    }

    #[test]
    fn hostile_command_sets_are_errors() {
        let good = echo_rq_bytes(1);
        for cut in 1..good.len() {
            assert!(Command::decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut wrong_length = good.clone();
        wrong_length[8] = 58;
        assert!(matches!(
            Command::decode(&wrong_length),
            Err(CommandError::GroupLength { declared: 58, .. })
        ));
        let mut other_group = good.clone();
        other_group[12] = 8;
        assert_eq!(
            Command::decode(&other_group),
            Err(CommandError::NotCommandGroup { group: 8 })
        );
        let huge_len = [0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            Command::decode(&huge_len),
            Err(CommandError::Truncated { at: 0 })
        );
        let many: Vec<u8> = (0..100)
            .flat_map(|_| [0u8, 0, 0x34, 0x12, 0, 0, 0, 0])
            .collect();
        assert_eq!(Command::decode(&many), Err(CommandError::TooManyElements));
        let no_field = [0u8, 0, 0x10, 1, 2, 0, 0, 0, 1, 0];
        assert_eq!(
            Command::decode(&no_field),
            Err(CommandError::NoCommandField)
        );
    }
}
