//! The ordered map and set used everywhere inside a visit and a replica.
//!
//! They started as sorted vectors (binary search on a contiguous vector is
//! fast at the sizes an honest phone makes, and compiles small), but a peer
//! decides how large they grow and in which order their keys arrive: a
//! sorted vector costs O(n) per insert, so n ops delivered newest first cost
//! O(n²) (issue 10). They are now thin wrappers over the standard B-trees:
//! O(log n) per insert or removal whatever the order, and at the usual sizes
//! (a handful of entries) a B-tree is one leaf node searched linearly, so the
//! common case costs about the same. The names stay for API stability.

use std::collections::{btree_map, btree_set, BTreeMap, BTreeSet};

/// An ordered map (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecMap<K, V>(BTreeMap<K, V>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// The value at `k`.
    pub fn get(&self, k: &K) -> Option<&V> {
        self.0.get(k)
    }

    /// The value at `k`, mutably.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.0.get_mut(k)
    }

    /// The value at `k`, inserting `make()` first when absent.
    pub fn get_or_insert_with(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        self.0.entry(k).or_insert_with(make)
    }

    /// Inserts when absent; returns false (and keeps the old value) when present.
    pub fn insert_if_absent(&mut self, k: K, v: V) -> bool {
        match self.0.entry(k) {
            btree_map::Entry::Occupied(_) => false,
            btree_map::Entry::Vacant(slot) => {
                slot.insert(v);
                true
            }
        }
    }

    /// Removes `k`.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        self.0.remove(k)
    }

    /// True when `k` is present.
    pub fn contains_key(&self, k: &K) -> bool {
        self.0.contains_key(k)
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.0.iter()
    }

    /// Entries with keys greater than `k`, in key order.
    pub fn after<'a>(&'a self, k: &K) -> impl Iterator<Item = (&'a K, &'a V)> + 'a {
        use std::ops::Bound::{Excluded, Unbounded};
        self.0.range((Excluded(k), Unbounded))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.keys()
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.values()
    }

    /// Keeps the entries for which `f` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        self.0.retain(|k, v| f(k, v));
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Ord + Clone, V: Default> VecMap<K, V> {
    /// Joins `other` into this map entry by entry with `join`, starting absent
    /// entries from `V::default()`.
    pub fn join_with(&mut self, other: &Self, mut join: impl FnMut(&mut V, &V)) {
        for (k, v) in other.iter() {
            join(self.get_or_insert_with(k.clone(), V::default), v);
        }
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    /// Collects, sorting by key; of equal keys the last wins.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<K: serde::Serialize, V: serde::Serialize> serde::Serialize for VecMap<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter())
    }
}

impl<'de, K: Ord + serde::Deserialize<'de>, V: serde::Deserialize<'de>> serde::Deserialize<'de>
    for VecMap<K, V>
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<K, V>::deserialize(d).map(Self)
    }
}

/// An ordered set (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecSet<T>(BTreeSet<T>);

impl<T> Default for VecSet<T> {
    fn default() -> Self {
        Self(BTreeSet::new())
    }
}

impl<T: Ord> VecSet<T> {
    /// Inserts; false when already present.
    pub fn insert(&mut self, x: T) -> bool {
        self.0.insert(x)
    }

    /// True when present.
    pub fn contains(&self, x: &T) -> bool {
        self.0.contains(x)
    }

    /// Removes; false when absent.
    pub fn remove(&mut self, x: &T) -> bool {
        self.0.remove(x)
    }

    /// Elements in order.
    pub fn iter(&self) -> btree_set::Iter<'_, T> {
        self.0.iter()
    }

    /// Keeps the elements for which `f` is true.
    pub fn retain(&mut self, f: impl FnMut(&T) -> bool) {
        self.0.retain(f);
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Ord + Clone> VecSet<T> {
    /// Adds every element of `other`.
    pub fn extend_from(&mut self, other: &Self) {
        self.0.extend(other.0.iter().cloned());
    }
}

impl<T: Ord> FromIterator<T> for VecSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<T: Ord> Extend<T> for VecSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl<T: serde::Serialize> serde::Serialize for VecSet<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de, T: Ord + serde::Deserialize<'de>> serde::Deserialize<'de> for VecSet<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<T>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn map_and_set_stay_sorted() {
        let mut m = VecMap::default();
        for k in [5, 1, 3, 1] {
            *m.get_or_insert_with(k, || 0) += 1;
        }
        assert_eq!(
            m.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
            [(1, 2), (3, 1), (5, 1)]
        );
        assert_eq!(m.after(&1).map(|(k, _)| *k).collect::<Vec<_>>(), [3, 5]);
        assert_eq!(m.remove(&3), Some(1));
        assert!(!m.insert_if_absent(1, 9));
        assert_eq!(m.get(&1), Some(&2));
        let mut s = VecSet::default();
        assert!(s.insert(2) && s.insert(1) && !s.insert(2));
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [1, 2]);
        assert!(s.remove(&1) && !s.contains(&1));
    }
}
