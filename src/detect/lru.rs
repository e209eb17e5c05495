//! A map with a fixed capacity that forgets its least recently used entry:
//! what keeps the detector's memory bounded when a hostile or broken log
//! names millions of streams. O(1) per operation (a slab with an intrusive
//! doubly linked list beside a `HashMap`).

use std::collections::HashMap;
use std::hash::Hash;

const NIL: usize = usize::MAX;

struct Slot<K, V> {
    key: K,
    value: V,
    prev: usize,
    next: usize,
}

/// A bounded map ordered by last use.
pub struct Lru<K, V> {
    index: HashMap<K, usize>,
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
        Lru { index: HashMap::new(), slots: Vec::new(), free: Vec::new(), head: NIL, tail: NIL, cap: cap.max(1) }
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
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = *self.index.get(key)?;
        self.unlink(i);
        self.push_front(i);
        self.slot(i).map(|s| &mut s.value)
    }

    /// The value for `key` without changing its place.
    pub fn peek(&self, key: &K) -> Option<&V> {
        let i = *self.index.get(key)?;
        self.slots.get(i)?.as_ref().map(|s| &s.value)
    }

    /// The value for `key` without changing its place, mutably.
    pub fn peek_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = *self.index.get(key)?;
        self.slot(i).map(|s| &mut s.value)
    }

    /// The value for `key`, inserted with `make` when missing. When the map
    /// was full, the least recently used entry is removed and returned.
    pub fn get_or_insert_with(&mut self, key: &K, make: impl FnOnce() -> V) -> (&mut V, Option<(K, V)>) {
        if self.index.contains_key(key) {
            let v = self.get_mut(key);
            // `contains_key` held, so `get_mut` found it.
            return (v.expect("present"), None);
        }
        let evicted = if self.index.len() >= self.cap { self.pop_oldest() } else { None };
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
        self.index.insert(key.clone(), i);
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

    #[test]
    fn stays_bounded() {
        let mut m = Lru::new(100);
        for k in 0..100_000u32 {
            m.get_or_insert_with(&k, || ());
        }
        assert_eq!(m.len(), 100);
        assert!(m.slots.len() <= 101);
    }
}
