//! Saving and restoring the detector, as versioned bytes: the same bytes
//! for the component's save/restore and for the Fluent Bit build's state
//! file. A header names the format and its version; anything else is
//! refused with a reason, never half-loaded.

use crate::alert::Alert;
use crate::storage::StorageAlert;
use crate::clock::Micros;
use crate::config::Config;
use crate::detector::{Detector, Stats};
use crate::json::ObjectWriter;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::fmt;

/// The first line of every state.
pub const MAGIC: &[u8] = b"resetwatch-state ";
/// The version this build writes. Version 3 added each source's arrival
/// timeline and re-read heads, each episode's rule and last activity, and
/// the alert's `rule`; version 2 added `/jsz` storage tracking and storage
/// alerts in the outbox; versions 1 and 2 are still read (their members
/// missing from version 3 take the values they meant then).
pub const VERSION: u32 = 3;
/// Older versions this build still reads.
const READS: [u32; 3] = [1, 2, 3];

/// Why a state could not be restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateError {
    /// Not a resetwatch state at all.
    Foreign,
    /// A resetwatch state of a version this build does not read.
    Version(u32),
    /// The header is right but the body is damaged.
    Corrupt(String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Foreign => write!(f, "not a resetwatch state"),
            StateError::Version(v) => write!(f, "state version {v}, this build reads versions 1 to {VERSION}"),
            StateError::Corrupt(why) => write!(f, "damaged state: {why}"),
        }
    }
}

impl std::error::Error for StateError {}

/// Everything the detector knows. Version 2 only adds members (empty when
/// absent), so one reader reads both.
pub(crate) struct Snapshot<S, K, T, G> {
    pub sources: Vec<(String, S)>,
    pub streams: Vec<(K, T)>,
    pub firing: Vec<K>,
    /// Reset-loop alerts waiting, in order.
    pub outbox: Vec<Alert>,
    pub next_host_due: Micros,
    pub stats: Stats,
    /// Storage alerts waiting, each with its place in the whole queue
    /// (version 2 on).
    pub storage_outbox: Vec<(usize, StorageAlert)>,
    /// Per server ID (version 2 on).
    pub storage: Vec<(String, G)>,
}

/// Writes `detector`'s state.
pub fn save(detector: &Detector) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(format!("{VERSION}\n").as_bytes());
    let s = detector.snapshot();
    let mut w = ObjectWriter::new(&mut out);
    w.put("sources", &s.sources)
        .put("streams", &s.streams)
        .put("firing", &s.firing)
        .put("outbox", &s.outbox)
        .put("next_host_due", &s.next_host_due)
        .put("stats", &s.stats)
        .put("storage_outbox", &s.storage_outbox)
        .put("storage", &s.storage);
    w.finish();
    out
}

/// A detector with `cfg` and the state in `bytes`. Entries beyond the
/// configured bounds are evicted as if they had just been seen in order.
pub fn restore(cfg: Config, bytes: &[u8]) -> Result<Detector, StateError> {
    let rest = bytes.strip_prefix(MAGIC).ok_or(StateError::Foreign)?;
    let nl = rest.iter().position(|&c| c == b'\n').ok_or(StateError::Foreign)?;
    let version: u32 = std::str::from_utf8(&rest[..nl]).ok().and_then(|v| v.parse().ok()).ok_or(StateError::Foreign)?;
    if !READS.contains(&version) {
        return Err(StateError::Version(version));
    }
    let body = &rest[nl + 1..];
    if !crate::json::depth_at_most(body, 12) {
        return Err(StateError::Corrupt("nested too deep".into()));
    }
    let doc: Value = serde_json::from_slice(body).map_err(|e| StateError::Corrupt(e.to_string()))?;
    let f = Fields::of(&doc).ok_or_else(|| StateError::Corrupt("the body is not an object".into()))?;
    fn get<T: Take>(f: &Fields, k: &str, absent: Option<T>) -> Result<T, StateError> {
        match f.0.get(k) {
            Some(v) => T::take(v),
            None => absent,
        }
        .ok_or_else(|| StateError::Corrupt(format!("`{k}` is missing or malformed")))
    }
    let snap = Snapshot {
        sources: get(&f, "sources", None)?,
        streams: get(&f, "streams", None)?,
        firing: get(&f, "firing", None)?,
        outbox: get(&f, "outbox", None)?,
        next_host_due: get(&f, "next_host_due", None)?,
        stats: get(&f, "stats", None)?,
        storage_outbox: get(&f, "storage_outbox", Some(Vec::new()))?,
        storage: get(&f, "storage", Some(Vec::new()))?,
    };
    Ok(Detector::from_snapshot(cfg, snap))
}

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
        crate::json::write_str(out, self)
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
        crate::state::carry_struct!(@put $t { $($f),* });
        impl crate::state::Take for $t {
            fn take(v: &serde_json::Value) -> Option<Self> {
                let f = crate::state::Fields::of(v)?;
                Some(Self { $($f: f.get(stringify!($f))?,)* $($u: Default::default(),)* })
            }
        }
    };
    ($t:ty { $($f:ident),* $(,)? }) => {
        crate::state::carry_struct!(@put $t { $($f),* });
        impl crate::state::Take for $t {
            fn take(v: &serde_json::Value) -> Option<Self> {
                let f = crate::state::Fields::of(v)?;
                Some(Self { $($f: f.get(stringify!($f))?,)* })
            }
        }
    };
    (default $t:ty { $($f:ident),* $(,)? }) => {
        crate::state::carry_struct!(@put $t { $($f),* });
        impl crate::state::Take for $t {
            fn take(v: &serde_json::Value) -> Option<Self> {
                let f = crate::state::Fields::of(v)?;
                Some(Self { $($f: f.or_default(stringify!($f))?,)* })
            }
        }
    };
    (@put $t:ty { $($f:ident),* }) => {
        impl crate::state::Put for $t {
            fn put(&self, out: &mut Vec<u8>) {
                let mut w = crate::json::ObjectWriter::new(out);
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
        impl crate::state::Put for $t {
            fn put(&self, out: &mut Vec<u8>) {
                let name = match self { $(Self::$v => stringify!($v),)* };
                crate::json::write_str(out, name)
            }
        }
        impl crate::state::Take for $t {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Filter;

    fn looping(f: &mut Filter, from: usize, to: usize) {
        for i in from..to {
            let s = 8 + i * 5;
            let a = format!("[1] 2026/11/26 14:17:{s:02}.000000 [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch");
            let r = format!("[1] 2026/11/26 14:17:{s:02}.000500 [WRN] Resetting stream cluster state for '$G > ORDERS'");
            f.ingest_line("n1", 0, a.as_bytes());
            f.ingest_line("n1", 0, r.as_bytes());
        }
    }

    #[test]
    fn a_restored_detector_goes_on_where_it_stopped() {
        // Straight through: warning at pair 3.
        let mut whole = Filter::new(Config::default());
        looping(&mut whole, 0, 4);
        let want: Vec<_> = std::iter::from_fn(|| whole.next_alert()).collect();
        // Two pairs, save, restore in a new instance, two more pairs.
        let mut first = Filter::new(Config::default());
        looping(&mut first, 0, 2);
        let bytes = save(first.detector());
        let mut second = Filter::from_detector(restore(Config::default(), &bytes).unwrap());
        looping(&mut second, 2, 4);
        let got: Vec<_> = std::iter::from_fn(|| second.next_alert()).collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 1);
        // Lines seen before the save are still known as seen.
        looping(&mut second, 0, 4);
        assert_eq!(second.detector().stats.duplicates, 8);
    }

    #[test]
    fn foreign_and_damaged_states_are_refused() {
        let mut f = Filter::new(Config::default());
        looping(&mut f, 0, 2);
        let good = save(f.detector());
        assert_eq!(restore(Config::default(), b"{}").err(), Some(StateError::Foreign));
        assert_eq!(restore(Config::default(), b"").err(), Some(StateError::Foreign));
        assert_eq!(restore(Config::default(), b"resetwatch-state 99\n{}").err(), Some(StateError::Version(99)));
        let cut = &good[..good.len() / 2];
        assert!(matches!(restore(Config::default(), cut), Err(StateError::Corrupt(_))));
        let mut deep = b"resetwatch-state 1\n".to_vec();
        deep.extend(std::iter::repeat(b'[').take(10_000));
        assert!(matches!(restore(Config::default(), &deep), Err(StateError::Corrupt(_))));
        assert!(restore(Config::default(), &good).is_ok());
    }

    #[test]
    fn restoring_into_smaller_bounds_evicts_the_oldest() {
        let mut f = Filter::new(Config::default());
        for i in 0..50 {
            let l = format!("[1] 2026/11/26 14:17:08.{i:06} [WRN] Error applying entries to '$G > S{i}': last sequence mismatch");
            f.ingest_line("n1", 0, l.as_bytes());
        }
        let small = Config { max_keys: 10, ..Config::default() };
        let d = restore(small, &save(f.detector())).unwrap();
        assert_eq!(d.tracked_streams(), 10);
    }
}
