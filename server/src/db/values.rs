//! Values crossing the storage boundary: [`ValueRef`] and [`Value`], what
//! binds as a parameter ([`ToValue`], [`Params`], `args!`), what a column
//! reads as ([`FromValue`]), and how each driver takes and gives them.

/// A value crossing the boundary, borrowed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    /// SQL NULL.
    Null,
    /// Any integer (SQLite INTEGER, PostgreSQL SMALLINT/INTEGER/BIGINT/BOOLEAN).
    Int(i64),
    /// A float.
    Real(f64),
    /// UTF-8 text.
    Text(&'a str),
    /// Bytes (SQLite BLOB, PostgreSQL BYTEA).
    Blob(&'a [u8]),
}

/// An owned value, for parameter lists built at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl ToValue for Value {
    fn to_value(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Int(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

/// Something that binds as one statement parameter.
pub trait ToValue {
    /// The value to bind.
    fn to_value(&self) -> ValueRef<'_>;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> ValueRef<'_> {
        (**self).to_value()
    }
}
impl ToValue for i64 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Int(*self)
    }
}
impl ToValue for i32 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Int(i64::from(*self))
    }
}
impl ToValue for u32 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Int(i64::from(*self))
    }
}
impl ToValue for bool {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Int(i64::from(*self))
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}
impl ToValue for str {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}
impl ToValue for String {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> ValueRef<'_> {
        match self {
            Some(v) => v.to_value(),
            None => ValueRef::Null,
        }
    }
}
impl ToValue for ValueRef<'_> {
    fn to_value(&self) -> ValueRef<'_> {
        *self
    }
}

/// A statement's parameters, in order.
pub trait Params {
    /// The values to bind.
    fn values(&self) -> Vec<ValueRef<'_>>;
}
impl Params for () {
    fn values(&self) -> Vec<ValueRef<'_>> {
        Vec::new()
    }
}
impl<T: ToValue> Params for &[T] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(ToValue::to_value).collect()
    }
}
impl<T: ToValue, const N: usize> Params for [T; N] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(ToValue::to_value).collect()
    }
}
impl<T: ToValue> Params for Vec<T> {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(ToValue::to_value).collect()
    }
}
impl<T: ToValue> Params for &Vec<T> {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(ToValue::to_value).collect()
    }
}

/// Parameters of mixed types: `args![a, b, c]`.
#[macro_export]
macro_rules! args {
    ($($x:expr),* $(,)?) => {
        &[$(&$x as &dyn $crate::db::sql::ToValue),*] as &[&dyn $crate::db::sql::ToValue]
    };
}
pub use args;

/// A column read out of a row.
pub trait FromValue: Sized {
    /// Converts, or says what was found instead.
    fn from_value(v: ValueRef<'_>) -> Result<Self, String>;
}

pub(super) fn found(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "null".into(),
        ValueRef::Int(_) => "an integer".into(),
        ValueRef::Real(_) => "a real".into(),
        ValueRef::Text(_) => "text".into(),
        ValueRef::Blob(_) => "bytes".into(),
    }
}

impl FromValue for i64 {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Int(i) => Ok(i),
            other => Err(format!("expected an integer, found {}", found(other))),
        }
    }
}
macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
                let i = i64::from_value(v)?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range for {}", stringify!($t)))
            }
        }
    )*};
}
int_from_value!(i32, u32, u64, usize, u8, u16);
impl FromValue for bool {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Real(r) => Ok(r),
            ValueRef::Int(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {}", found(other))),
        }
    }
}
impl FromValue for String {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Text(s) => Ok(s.to_owned()),
            other => Err(format!("expected text, found {}", found(other))),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            other => Err(format!("expected bytes, found {}", found(other))),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl rusqlite::ToSql for ValueRef<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef as V};
        Ok(ToSqlOutput::Borrowed(match *self {
            ValueRef::Null => V::Null,
            ValueRef::Int(i) => V::Integer(i),
            ValueRef::Real(f) => V::Real(f),
            ValueRef::Text(t) => V::Text(t.as_bytes()),
            ValueRef::Blob(b) => V::Blob(b),
        }))
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl postgres::types::ToSql for ValueRef<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, BoxError> {
        use postgres::types::{IsNull, Type};
        let text = |t: &Type| {
            matches!(
                *t,
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
            )
        };
        match *self {
            ValueRef::Null => Ok(IsNull::Yes),
            ValueRef::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                ref t if text(t) => i.to_string().as_str().to_sql(ty, out),
                ref t => Err(format!("cannot bind an integer to a {t} parameter").into()),
            },
            ValueRef::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (f as f32).to_sql(ty, out),
                ref t => Err(format!("cannot bind a real to a {t} parameter").into()),
            },
            ValueRef::Text(s) => match *ty {
                ref t if text(t) => s.to_sql(ty, out),
                ref t => Err(format!("cannot bind text to a {t} parameter").into()),
            },
            ValueRef::Blob(b) => match *ty {
                Type::BYTEA => b.to_sql(ty, out),
                ref t => Err(format!("cannot bind bytes to a {t} parameter").into()),
            },
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A PostgreSQL column read as a [`ValueRef`].
pub(super) struct PgValue<'a>(pub(super) ValueRef<'a>);

impl<'a> postgres::types::FromSql<'a> for PgValue<'a> {
    fn from_sql(ty: &postgres::types::Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        use postgres::types::Type;
        Ok(PgValue(match *ty {
            Type::INT8 => ValueRef::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => ValueRef::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => ValueRef::Int(i16::from_sql(ty, raw)?.into()),
            Type::OID => ValueRef::Int(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => ValueRef::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => ValueRef::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => ValueRef::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => ValueRef::Blob(<&[u8]>::from_sql(ty, raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                ValueRef::Text(<&str>::from_sql(ty, raw)?)
            }
            ref t => {
                return Err(format!(
                    "column of type {t} is not read by the storage layer (cast it)"
                )
                .into())
            }
        }))
    }

    fn from_sql_null(_: &postgres::types::Type) -> Result<Self, BoxError> {
        Ok(PgValue(ValueRef::Null))
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
}
