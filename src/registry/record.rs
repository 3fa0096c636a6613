//! A struct's serde fields as one table row, by column name, without building a JSON tree:
//! scalars become column values, anything nested becomes its JSON text.
//!
//! The rows of `files`, `planes`, `events` and `images` are the JSON contract's rows, so a
//! column and its JSON field are one thing under one name; this writes them straight from
//! the records' `Serialize` implementations.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::db::Val;

/// The values of `columns` in `record`'s fields (a struct, or a `Some` of one); a column
/// that the record does not have, or that it leaves out, is `NULL`.
pub(crate) fn record<T: Serialize + ?Sized>(record: &T, columns: &[&str]) -> Vec<Val> {
    let mut row = Row {
        columns,
        values: vec![Val::Null; columns.len()],
        next: 0,
    };
    // Only a record that is not a struct fails here; its row stays all NULL.
    let _ = record.serialize(&mut row);
    row.values
}

/// Why a value has no column value of its own (it is nested), or why a record is not one.
#[derive(Debug)]
struct NotScalar;

impl fmt::Display for NotScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a scalar")
    }
}

impl std::error::Error for NotScalar {}

impl ser::Error for NotScalar {
    fn custom<M: fmt::Display>(_: M) -> NotScalar {
        NotScalar
    }
}

/// A field's value: the scalar itself, or, nested, its JSON text.
fn field_value<T: Serialize + ?Sized>(value: &T) -> Val {
    match value.serialize(Scalar) {
        Ok(v) => v,
        Err(NotScalar) => serde_json::to_string(value).map_or(Val::Null, Val::Text),
    }
}

/// The serializer methods of the compound forms that neither a row nor a scalar takes:
/// enum variants with data, sequences, tuples and maps.
macro_rules! refuse_compound {
    ($ok:ty) => {
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<$ok, NotScalar> {
            Err(NotScalar)
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotScalar> {
            Err(NotScalar)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotScalar> {
            Err(NotScalar)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, NotScalar> {
            Err(NotScalar)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, NotScalar> {
            Err(NotScalar)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotScalar> {
            Err(NotScalar)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, NotScalar> {
            Err(NotScalar)
        }
    };
}

struct Row<'c> {
    columns: &'c [&'c str],
    values: Vec<Val>,
    /// Where the next field's column probably is: fields usually come in column order.
    next: usize,
}

impl Row<'_> {
    fn column(&mut self, key: &str) -> Option<usize> {
        let at = match self.columns.get(self.next) {
            Some(c) if *c == key => self.next,
            _ => self.columns.iter().position(|c| *c == key)?,
        };
        self.next = at + 1;
        Some(at)
    }
}

impl ser::SerializeStruct for &mut Row<'_> {
    type Ok = ();
    type Error = NotScalar;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NotScalar> {
        if let Some(at) = self.column(key) {
            self.values[at] = field_value(value);
        }
        Ok(())
    }

    fn end(self) -> Result<(), NotScalar> {
        Ok(())
    }
}

/// Serializes a record into a [`Row`]: a struct, possibly behind `Some` or a newtype.
impl<'a, 'c> ser::Serializer for &'a mut Row<'c> {
    type Ok = ();
    type Error = NotScalar;
    type SerializeSeq = Impossible<(), NotScalar>;
    type SerializeTuple = Impossible<(), NotScalar>;
    type SerializeTupleStruct = Impossible<(), NotScalar>;
    type SerializeTupleVariant = Impossible<(), NotScalar>;
    type SerializeMap = Impossible<(), NotScalar>;
    type SerializeStruct = &'a mut Row<'c>;
    type SerializeStructVariant = Impossible<(), NotScalar>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, NotScalar> {
        Ok(self)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), NotScalar> {
        v.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), NotScalar> {
        v.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_i64(self, _: i64) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_u64(self, _: u64) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_f64(self, _: f64) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_i8(self, _: i8) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_i16(self, _: i16) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_i32(self, _: i32) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_u8(self, _: u8) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_u16(self, _: u16) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_u32(self, _: u32) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_f32(self, _: f32) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_char(self, _: char) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_str(self, _: &str) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_none(self) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_unit(self) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), NotScalar> {
        Err(NotScalar)
    }
    refuse_compound!(());
}

/// A scalar field's column value: numbers as integers when they are (as JSON numbers), text,
/// booleans; `None` and non-finite numbers (JSON has none) are `NULL`.
struct Scalar;

impl ser::Serializer for Scalar {
    type Ok = Val;
    type Error = NotScalar;
    type SerializeSeq = Impossible<Val, NotScalar>;
    type SerializeTuple = Impossible<Val, NotScalar>;
    type SerializeTupleStruct = Impossible<Val, NotScalar>;
    type SerializeTupleVariant = Impossible<Val, NotScalar>;
    type SerializeMap = Impossible<Val, NotScalar>;
    type SerializeStruct = Impossible<Val, NotScalar>;
    type SerializeStructVariant = Impossible<Val, NotScalar>;

    fn serialize_bool(self, v: bool) -> Result<Val, NotScalar> {
        Ok(Val::from(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Val, NotScalar> {
        Ok(Val::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Val, NotScalar> {
        Ok(Val::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Val, NotScalar> {
        Ok(Val::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Val, NotScalar> {
        Ok(Val::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Val, NotScalar> {
        Ok(Val::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Val, NotScalar> {
        Ok(Val::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Val, NotScalar> {
        Ok(Val::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Val, NotScalar> {
        Ok(i64::try_from(v).map_or(Val::Real(v as f64), Val::Int))
    }
    fn serialize_f32(self, v: f32) -> Result<Val, NotScalar> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Val, NotScalar> {
        Ok(if v.is_finite() {
            Val::Real(v)
        } else {
            Val::Null
        })
    }
    fn serialize_char(self, v: char) -> Result<Val, NotScalar> {
        Ok(Val::Text(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Val, NotScalar> {
        Ok(Val::from(v))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Val, NotScalar> {
        Err(NotScalar)
    }
    fn serialize_none(self) -> Result<Val, NotScalar> {
        Ok(Val::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Val, NotScalar> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Val, NotScalar> {
        Ok(Val::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Val, NotScalar> {
        Ok(Val::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Val, NotScalar> {
        Ok(Val::from(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Val, NotScalar> {
        v.serialize(self)
    }
    refuse_compound!(Val);
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotScalar> {
        Err(NotScalar)
    }
}
