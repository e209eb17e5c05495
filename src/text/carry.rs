//! The state body's codec: how each saved type is written as JSON and read
//! back. A leaf: the saved types implement [`Put`] and [`Take`] here (most
//! through [`carry_struct!`] and [`carry_enum!`]), and `crate::state` puts
//! them together, so no type module imports the state module.

use crate::text::json::ObjectWriter;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::fmt;

// The body codec. Written by hand rather than derived: serde's derived
// (de)serialisers for these types cost about 30 KB of every .wasm module,
// while reading through `Value` reuses the parser the configuration
// already needs. The shape is the one serde's derives wrote for versions
// 1 and 2: structs as objects (members in field order), tuples and fixed
// arrays as arrays, unit enums as their variant name, `None` as null.

/// A state value that can be written as JSON.
pub(crate) trait Put {
    fn put(&self, out: &mut Vec<u8>);
}

/// A state value that can be read back from parsed JSON; `None` when the
/// value has another shape.
pub(crate) trait Take: Sized {
    fn take(v: &Value) -> Option<Self>;
    /// The value of an absent object member: an error, except for options
    /// (which serde's derives also read as `None`).
    fn absent() -> Option<Self> {
        None
    }
}

impl ObjectWriter<'_> {
    /// A member holding any state value.
    pub(crate) fn put<T: Put + ?Sized>(&mut self, k: &str, v: &T) -> &mut Self {
        v.put(self.member(k));
        self
    }
}

/// The members of one JSON object, read by name.
pub(crate) struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    pub fn of(v: &'a Value) -> Option<Self> {
        v.as_object().map(Fields)
    }

    /// Member `k`; absent is `None` for options, an error otherwise.
    pub fn get<T: Take>(&self, k: &str) -> Option<T> {
        match self.0.get(k) {
            Some(v) => T::take(v),
            None => T::absent(),
        }
    }

    /// Member `k`; `absent` when the object has no such member.
    pub fn get_or<T: Take>(&self, k: &str, absent: Option<T>) -> Option<T> {
        match self.0.get(k) {
            Some(v) => T::take(v),
            None => absent,
        }
    }

    /// Member `k`, its default when absent.
    pub fn or_default<T: Take + Default>(&self, k: &str) -> Option<T> {
        match self.0.get(k) {
            Some(v) => T::take(v),
            None => Some(T::default()),
        }
    }
}

fn put_int(out: &mut Vec<u8>, n: impl fmt::Display) {
    use std::io::Write;
    let _ = write!(out, "{n}");
}

impl Put for u64 {
    fn put(&self, out: &mut Vec<u8>) {
        put_int(out, self)
    }
}
impl Take for u64 {
    fn take(v: &Value) -> Option<Self> {
        v.as_u64()
    }
}
impl Put for i64 {
    fn put(&self, out: &mut Vec<u8>) {
        put_int(out, self)
    }
}
impl Take for i64 {
    fn take(v: &Value) -> Option<Self> {
        v.as_i64()
    }
}
impl Put for usize {
    fn put(&self, out: &mut Vec<u8>) {
        put_int(out, self)
    }
}
impl Take for usize {
    fn take(v: &Value) -> Option<Self> {
        v.as_u64()?.try_into().ok()
    }
}
impl Put for u8 {
    fn put(&self, out: &mut Vec<u8>) {
        put_int(out, self)
    }
}
impl Take for u8 {
    fn take(v: &Value) -> Option<Self> {
        v.as_u64()?.try_into().ok()
    }
}
impl Put for bool {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" })
    }
}
impl Take for bool {
    fn take(v: &Value) -> Option<Self> {
        v.as_bool()
    }
}
impl Put for String {
    fn put(&self, out: &mut Vec<u8>) {
        crate::text::json::write_str(out, self)
    }
}
impl Take for String {
    fn take(v: &Value) -> Option<Self> {
        v.as_str().map(str::to_string)
    }
}
impl<T: Put + ?Sized> Put for &T {
    fn put(&self, out: &mut Vec<u8>) {
        (**self).put(out)
    }
}
impl<T: Put> Put for Option<T> {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Some(v) => v.put(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}
impl<T: Take> Take for Option<T> {
    fn take(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::take(v).map(Some),
        }
    }
    fn absent() -> Option<Self> {
        Some(None)
    }
}
impl<T: Put> Put for Box<T> {
    fn put(&self, out: &mut Vec<u8>) {
        (**self).put(out)
    }
}
impl<T: Take> Take for Box<T> {
    fn take(v: &Value) -> Option<Self> {
        T::take(v).map(Box::new)
    }
}

/// Writes `items` as one array.
fn put_seq<'a, T: Put + 'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a T>) {
    out.push(b'[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        v.put(out);
    }
    out.push(b']');
}

/// Reads an array, every element or nothing.
fn take_seq<T: Take, C: FromIterator<T>>(v: &Value) -> Option<C> {
    v.as_array()?.iter().map(T::take).collect()
}

impl<T: Put> Put for [T] {
    fn put(&self, out: &mut Vec<u8>) {
        put_seq(out, self.iter())
    }
}
impl<T: Put> Put for Vec<T> {
    fn put(&self, out: &mut Vec<u8>) {
        put_seq(out, self.iter())
    }
}
impl<T: Take> Take for Vec<T> {
    fn take(v: &Value) -> Option<Self> {
        take_seq(v)
    }
}
impl<T: Put> Put for VecDeque<T> {
    fn put(&self, out: &mut Vec<u8>) {
        put_seq(out, self.iter())
    }
}
impl<T: Take> Take for VecDeque<T> {
    fn take(v: &Value) -> Option<Self> {
        take_seq(v)
    }
}
impl<T: Put, const N: usize> Put for [T; N] {
    fn put(&self, out: &mut Vec<u8>) {
        put_seq(out, self.iter())
    }
}
impl<T: Take, const N: usize> Take for [T; N] {
    fn take(v: &Value) -> Option<Self> {
        take_seq::<T, Vec<T>>(v)?.try_into().ok()
    }
}
impl<A: Put, B: Put> Put for (A, B) {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        self.0.put(out);
        out.push(b',');
        self.1.put(out);
        out.push(b']');
    }
}
impl<A: Take, B: Take> Take for (A, B) {
    fn take(v: &Value) -> Option<Self> {
        match v.as_array()?.as_slice() {
            [a, b] => Some((A::take(a)?, B::take(b)?)),
            _ => None,
        }
    }
}

/// `Put` and `Take` for a struct, as an object of the named fields in
/// order; with `default`, absent members take their default (as serde's
/// `#[serde(default)]`).
macro_rules! carry_struct {
    // `transient` fields are not saved: they restart from their default
    // (a counter since this detector started, as metrics count).
    (transient $t:ty { $($f:ident),* $(,)? } { $($u:ident),* $(,)? }) => {
        crate::text::carry::carry_struct!(@put $t { $($f),* });
        impl crate::text::carry::Take for $t {
            fn take(v: &serde_json::Value) -> Option<Self> {
                let f = crate::text::carry::Fields::of(v)?;
                Some(Self { $($f: f.get(stringify!($f))?,)* $($u: Default::default(),)* })
            }
        }
    };
    ($t:ty { $($f:ident),* $(,)? }) => {
        crate::text::carry::carry_struct!(@put $t { $($f),* });
        impl crate::text::carry::Take for $t {
            fn take(v: &serde_json::Value) -> Option<Self> {
                let f = crate::text::carry::Fields::of(v)?;
                Some(Self { $($f: f.get(stringify!($f))?,)* })
            }
        }
    };
    (default transient $t:ty { $($f:ident),* $(,)? } { $($u:ident),* $(,)? }) => {
        crate::text::carry::carry_struct!(@put $t { $($f),* });
        impl crate::text::carry::Take for $t {
            fn take(v: &serde_json::Value) -> Option<Self> {
                let f = crate::text::carry::Fields::of(v)?;
                Some(Self { $($f: f.or_default(stringify!($f))?,)* $($u: Default::default(),)* })
            }
        }
    };
    (default $t:ty { $($f:ident),* $(,)? }) => {
        crate::text::carry::carry_struct!(@put $t { $($f),* });
        impl crate::text::carry::Take for $t {
            fn take(v: &serde_json::Value) -> Option<Self> {
                let f = crate::text::carry::Fields::of(v)?;
                Some(Self { $($f: f.or_default(stringify!($f))?,)* })
            }
        }
    };
    (@put $t:ty { $($f:ident),* }) => {
        impl crate::text::carry::Put for $t {
            fn put(&self, out: &mut Vec<u8>) {
                let mut w = crate::text::json::ObjectWriter::new(out);
                $(w.put(stringify!($f), &self.$f);)*
                w.finish();
            }
        }
    };
}
pub(crate) use carry_struct;

/// `Put` and `Take` for a fieldless enum, by variant name.
macro_rules! carry_enum {
    ($t:ty { $($v:ident),* $(,)? }) => {
        impl crate::text::carry::Put for $t {
            fn put(&self, out: &mut Vec<u8>) {
                let name = match self { $(Self::$v => stringify!($v),)* };
                crate::text::json::write_str(out, name)
            }
        }
        impl crate::text::carry::Take for $t {
            fn take(v: &serde_json::Value) -> Option<Self> {
                match v.as_str()? {
                    $(stringify!($v) => Some(Self::$v),)*
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use carry_enum;
