//! Add-wins observed-remove set.
//!
//! Each add is tagged with its op id. A remove names the add tags its writer had
//! seen for that element; an add the remover had not seen survives (add wins).
//! State: tags per element, and the set of removed tags. Order-independent.

use super::{VecMap, VecSet};
use crate::ids::OpId;

/// An add-wins observed-remove set of `E`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrSet<E: Ord> {
    adds: VecMap<E, VecSet<OpId>>,
    removed: VecSet<OpId>,
}

impl<E: Ord> Default for OrSet<E> {
    fn default() -> Self {
        Self {
            adds: VecMap::default(),
            removed: VecSet::default(),
        }
    }
}

impl<E: Ord + Clone> OrSet<E> {
    /// Applies an add tagged `tag`. Idempotent.
    pub fn add(&mut self, elem: E, tag: OpId) {
        if !self.removed.contains(&tag) {
            self.adds
                .get_or_insert_with(elem, VecSet::default)
                .insert(tag);
        }
    }

    /// Applies a remove of the tags `observed` (the tags of `elem` its writer saw).
    pub fn remove(&mut self, elem: &E, observed: &[OpId]) {
        for t in observed {
            self.removed.insert(*t);
        }
        if let Some(tags) = self.adds.get_mut(elem) {
            for t in observed {
                tags.remove(t);
            }
            if tags.is_empty() {
                self.adds.remove(elem);
            }
        }
    }

    /// Joins another replica's state.
    pub fn merge(&mut self, other: &Self) {
        self.removed.extend_from(&other.removed);
        for (e, tags) in other.adds.iter() {
            self.adds
                .get_or_insert_with(e.clone(), VecSet::default)
                .extend_from(tags);
        }
        let removed = &self.removed;
        self.adds.retain(|_, tags| {
            let dead: Vec<OpId> = tags
                .iter()
                .filter(|t| removed.contains(t))
                .copied()
                .collect();
            for t in &dead {
                tags.remove(t);
            }
            !tags.is_empty()
        });
    }

    /// True when `elem` is present.
    pub fn contains(&self, elem: &E) -> bool {
        self.adds.contains_key(elem)
    }

    /// The tags a local remove of `elem` must name.
    pub fn tags(&self, elem: &E) -> Vec<OpId> {
        self.adds
            .get(elem)
            .map(|t| t.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Present elements, in order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.adds.keys()
    }

    /// Number of present elements.
    pub fn len(&self) -> usize {
        self.adds.len()
    }

    /// True when no element is present.
    pub fn is_empty(&self) -> bool {
        self.adds.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::ids::ReplicaId;

    fn id(r: u128, s: u64) -> OpId {
        OpId::new(ReplicaId::from_u128(r), s)
    }

    enum Step {
        Add(&'static str, OpId),
        Remove(&'static str, &'static [(u128, u64)]),
    }

    fn check(steps: &[Step], expected: &[&str]) {
        let mut set = OrSet::default();
        for s in steps {
            match s {
                Step::Add(e, t) => set.add(e.to_string(), *t),
                Step::Remove(e, tags) => {
                    let tags: Vec<OpId> = tags.iter().map(|(r, s)| id(*r, *s)).collect();
                    set.remove(&e.to_string(), &tags)
                }
            }
        }
        let got: Vec<&str> = set.iter().map(String::as_str).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn table() {
        use Step::*;
        check(&[Add("x", id(1, 1)), Add("y", id(1, 2))], &["x", "y"]);
        check(&[Add("x", id(1, 1)), Remove("x", &[(1, 1)])], &[]);
        // Remove delivered before its add: the add stays removed.
        check(&[Remove("x", &[(1, 1)]), Add("x", id(1, 1))], &[]);
        // Concurrent add (unseen tag) wins over remove.
        check(
            &[
                Add("x", id(1, 1)),
                Add("x", id(2, 1)),
                Remove("x", &[(1, 1)]),
            ],
            &["x"],
        );
        // Remove of nothing observed is a no-op.
        check(&[Add("x", id(1, 1)), Remove("x", &[])], &["x"]);
        // Re-add after remove.
        check(
            &[
                Add("x", id(1, 1)),
                Remove("x", &[(1, 1)]),
                Add("x", id(1, 3)),
            ],
            &["x"],
        );
        // Duplicate add.
        check(
            &[
                Add("x", id(1, 1)),
                Add("x", id(1, 1)),
                Remove("x", &[(1, 1)]),
            ],
            &[],
        );
    }

    #[test]
    fn merge_is_add_wins() {
        let mut a = OrSet::default();
        a.add("x", id(1, 1));
        let mut b = a.clone();
        a.remove(&"x", &a.tags(&"x"));
        b.add("x", id(2, 1));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert!(ab.contains(&"x"));
        assert_eq!(ab.tags(&"x"), vec![id(2, 1)]);
    }
}
