//! A map with a fixed capacity that forgets its least recently used entry:
//! what keeps the detector's memory bounded when a hostile or broken log
//! names millions of streams. O(1) per operation (a slab with an intrusive
//! doubly linked list beside a `HashMap`).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

use crate::text::word;

const NIL: usize = usize::MAX;

/// The index's hasher: a multiply-rotate hash over 8-byte words, seeded
/// per map from the standard library's random keys. The default SipHash
/// cost a few hundred wasm instructions per stream key (source, account,
/// stream), and every event line hashes several; this costs a few dozen.
/// It is not keyed strongly: crafted names could make collisions, which
/// only slow lookups in a map that `cap` bounds anyway.
#[derive(Clone)]
struct Seeded(u64);

impl Seeded {
    fn new() -> Self {
        Seeded(std::collections::hash_map::RandomState::new().hash_one(0x9e37_79b9_7f4a_7c15u64) | 1)
    }
}

struct Quick(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl Quick {
    #[inline(always)]
    fn add(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(K).rotate_left(26);
    }
}

impl Hasher for Quick {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // `word::at`, one load a word: `chunks_exact` and `copy_from_slice`
        // left a call a word in wasm, and one more for the rest.
        let mut i = 0;
        while let Some(w) = word::at(bytes, i) {
            self.add(w);
            i += 8;
        }
        // The last 0 to 7 bytes, low bytes first and zero above them: the
        // word that ends `bytes` shifted down, or a short key's bytes.
        let rest = bytes.len() - i;
        let last = match bytes.len().checked_sub(8).and_then(|k| word::at(bytes, k)) {
            Some(_) if rest == 0 => 0,
            Some(w) => w >> (8 * (8 - rest)),
            None => short_word(bytes),
        };
        // The length keeps `ab` + `c` apart from `a` + `bc`.
        self.add(last ^ ((rest as u64) << 59));
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64 | 0x100);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Spreads the last word's bits over the whole hash (hashbrown reads
        // the top 7 bits and the low ones).
        let h = self.0;
        let h = (h ^ (h >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93);
        h ^ (h >> 32)
    }
}

/// The bytes of a key shorter than 8 as a little-endian word, zero above
/// them, in a few loads and no loop: two 4-byte loads that overlap from 4
/// bytes on, three single bytes below (a byte loop costs a branch and an
/// index a byte in wasm).
#[inline(always)]
fn short_word(b: &[u8]) -> u64 {
    let n = b.len();
    let u32_at = |k: usize| b.get(k..k + 4).and_then(|w| <[u8; 4]>::try_from(w).ok()).map_or(0, u32::from_le_bytes) as u64;
    match n {
        0 => 0,
        1..=3 => {
            let byte = |k: usize| b.get(k).map_or(0, |&c| c as u64) << (8 * k);
            byte(0) | byte(n / 2) | byte(n - 1)
        }
        _ => u32_at(0) | u32_at(n - 4) << (8 * (n - 4) % 64),
    }
}

impl BuildHasher for Seeded {
    type Hasher = Quick;

    #[inline]
    fn build_hasher(&self) -> Quick {
        Quick(self.0)
    }
}

struct Slot<K, V> {
    key: K,
    value: V,
    prev: usize,
    next: usize,
}

/// A bounded map ordered by last use.
pub struct Lru<K, V> {
    index: HashMap<K, usize, Seeded>,
    slots: Vec<Option<Slot<K, V>>>,
    free: Vec<usize>,
    /// Most recently used.
    head: usize,
    /// Least recently used.
    tail: usize,
    cap: usize,
}

impl<K: Clone + Eq + Hash, V> Lru<K, V> {
    /// An empty map holding at most `cap` entries (at least one).
    pub fn new(cap: usize) -> Self {
        Lru {
            index: HashMap::with_hasher(Seeded::new()),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            cap: cap.max(1),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    fn slot(&mut self, i: usize) -> Option<&mut Slot<K, V>> {
        self.slots.get_mut(i).and_then(Option::as_mut)
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = match self.slot(i) {
            Some(s) => (s.prev, s.next),
            None => return,
        };
        match self.slot(prev) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.slot(next) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
    }

    fn push_front(&mut self, i: usize) {
        let old = self.head;
        if let Some(s) = self.slot(i) {
            s.prev = NIL;
            s.next = old;
        }
        match self.slot(old) {
            Some(h) => h.prev = i,
            None => self.tail = i,
        }
        self.head = i;
    }

    /// The value for `key`, marked as just used.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = *self.index.get(key)?;
        self.unlink(i);
        self.push_front(i);
        self.slot(i).map(|s| &mut s.value)
    }

    /// The value for `key` without changing its place.
    pub fn peek<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key)?;
        self.slots.get(i)?.as_ref().map(|s| &s.value)
    }

    /// The slot of `key`: the most recently used entry first, which an
    /// event line's source and, on the line after its cause, its stream
    /// almost always are. Comparing one key costs less than hashing it and
    /// probing the index, which would give the same slot.
    #[inline]
    fn find<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
    {
        match self.slots.get(self.head) {
            Some(Some(s)) if s.key.borrow() == key => Some(self.head),
            _ => self.index.get(key).copied(),
        }
    }

    /// The value for `key` without changing its place, mutably.
    pub fn peek_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key)?;
        self.slot(i).map(|s| &mut s.value)
    }

    /// The value for `key`, inserted with `make` when missing. When the map
    /// was full, the least recently used entry is removed and returned.
    pub fn get_or_insert_with<Q>(&mut self, key: &Q, make: impl FnOnce() -> V) -> (&mut V, Option<(K, V)>)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.get_or_insert_by(key, || key.to_owned(), make)
    }

    /// [`Lru::get_or_insert_with`] for a borrowed key that is no `ToOwned`
    /// of `K` (a stream key's names): `owned` makes the key when missing.
    pub fn get_or_insert_by<Q>(
        &mut self,
        key: &Q,
        owned: impl FnOnce() -> K,
        make: impl FnOnce() -> V,
    ) -> (&mut V, Option<(K, V)>)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        // One lookup for the usual case, a key already there.
        if let Some(i) = self.find(key) {
            if self.head != i {
                self.unlink(i);
                self.push_front(i);
            }
            if self.slots.get(i).is_some_and(Option::is_some) {
                return (self.slot(i).map(|s| &mut s.value).expect("present"), None);
            }
        }
        let evicted = if self.index.len() >= self.cap { self.pop_oldest() } else { None };
        let key = owned();
        let slot = Slot { key: key.clone(), value: make(), prev: NIL, next: NIL };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.index.insert(key, i);
        self.push_front(i);
        (self.slot(i).map(|s| &mut s.value).expect("just inserted"), evicted)
    }

    /// Removes and returns the least recently used entry.
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        let i = self.tail;
        self.take(i)
    }

    /// Entries from least to most recently used (the order to re-insert
    /// them in to rebuild the same map).
    pub fn iter_oldest_first(&self) -> impl Iterator<Item = (&K, &V)> {
        let mut i = self.tail;
        std::iter::from_fn(move || {
            let s = self.slots.get(i)?.as_ref()?;
            i = s.prev;
            Some((&s.key, &s.value))
        })
    }

    fn take(&mut self, i: usize) -> Option<(K, V)> {
        self.slot(i)?;
        self.unlink(i);
        let s = self.slots.get_mut(i)?.take()?;
        self.index.remove(&s.key);
        self.free.push(i);
        Some((s.key, s.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used() {
        let mut m = Lru::new(3);
        for k in [1, 2, 3] {
            assert!(m.get_or_insert_with(&k, || k * 10).1.is_none());
        }
        m.get_mut(&1);
        let (_, ev) = m.get_or_insert_with(&4, || 40);
        assert_eq!(ev, Some((2, 20)));
        assert_eq!(m.pop_oldest(), Some((3, 30)));
        assert_eq!(m.pop_oldest(), Some((1, 10)));
        assert_eq!(m.len(), 1);
        assert_eq!(m.peek(&4), Some(&40));
    }

    /// Every lookup against a plain list kept in order of use, over
    /// random operations on few keys, so that the most recently used
    /// shortcut in `find` is hit, missed, and left stale by removals.
    #[test]
    fn answers_as_a_list_in_order_of_use() {
        let mut next = crate::test_sequence::below(0x9e37_79b9_7f4a_7c15u64);
        for cap in [1usize, 2, 3, 5] {
            let mut m: Lru<u64, u64> = Lru::new(cap);
            // Most recently used last.
            let mut model: Vec<(u64, u64)> = Vec::new();
            for step in 0..20_000u64 {
                let k = next(7) as u64;
                match next(5) {
                    0 => assert_eq!(m.peek(&k), model.iter().find(|e| e.0 == k).map(|e| &e.1), "{cap} {step}"),
                    1 => {
                        let want = model.iter_mut().find(|e| e.0 == k).map(|e| {
                            e.1 += 1;
                            e.1
                        });
                        let got = m.peek_mut(&k).map(|v| {
                            *v += 1;
                            *v
                        });
                        assert_eq!(got, want, "{cap} {step}");
                    }
                    2 => assert_eq!(m.pop_oldest(), (!model.is_empty()).then(|| model.remove(0)), "{cap} {step}"),
                    _ => {
                        let (v, ev) = m.get_or_insert_with(&k, || step);
                        let got = *v;
                        let (want, want_ev) = match model.iter().position(|e| e.0 == k) {
                            Some(i) => {
                                let e = model.remove(i);
                                model.push(e);
                                (e.1, None)
                            }
                            None => {
                                let ev = (model.len() >= cap).then(|| model.remove(0));
                                model.push((k, step));
                                (step, ev)
                            }
                        };
                        assert_eq!((got, ev), (want, want_ev), "{cap} {step}");
                    }
                }
                assert_eq!(m.len(), model.len());
                let order: Vec<(u64, u64)> = m.iter_oldest_first().map(|(k, v)| (*k, *v)).collect();
                assert_eq!(order, model, "{cap} {step}");
            }
        }
    }

    #[test]
    fn stays_bounded() {
        let mut m = Lru::new(100);
        for k in 0..100_000u32 {
            m.get_or_insert_with(&k, || ());
        }
        assert_eq!(m.len(), 100);
        assert!(m.slots.len() <= 101);
    }

    #[test]
    fn the_key_hash_takes_eight_bytes_a_word_and_the_rest_padded_with_zeros() {
        // The sum as first written (whole words, then the rest in a zeroed
        // word with its length), for every length and a key not at the
        // start of its buffer.
        let sum = |b: &[u8]| {
            let mut h = Quick(7);
            let mut words = b.chunks_exact(8);
            for w in words.by_ref() {
                h.add(u64::from_le_bytes(w.try_into().unwrap()));
            }
            let rest = words.remainder();
            let mut a = [0u8; 8];
            a[..rest.len()].copy_from_slice(rest);
            h.add(u64::from_le_bytes(a) ^ ((rest.len() as u64) << 59));
            h.0
        };
        let text: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37) | (0x80 * (i & 1))).collect();
        for from in 0..3 {
            for n in 0..=text.len() - from {
                let key = &text[from..from + n];
                let mut h = Quick(7);
                h.write(key);
                assert_eq!(h.0, sum(key), "{from} {n}");
            }
        }
    }
}
