//! Add-wins observed-remove set.
//!
//! Each add is tagged with its op id. A remove names the add tags its writer had
//! seen for that element; an add the remover had not seen survives (add wins).
//! State: per element, its live add tags and the tags removes of *that
//! element* named. Order-independent.
//!
//! A remove's tags act on its own element only. A tag names an op, and a
//! stateless check cannot tell which element that op added, so a forged
//! remove of `x` naming `y`'s add tag passes validation. Were removed tags
//! kept for the whole set, such a remove would hide `y` when it arrived
//! before `y`'s add but not after it (the add is not touched by a remove of
//! another element), and replicas would disagree for good (issue 10). Kept
//! per element, it hides nothing of `y` in either order.

use super::{VecMap, VecSet};
use crate::ids::OpId;

/// One element's state: live add tags, and tags removed by removes of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Entry {
    adds: VecSet<OpId>,
    removed: VecSet<OpId>,
}

/// An add-wins observed-remove set of `E`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrSet<E: Ord> {
    entries: VecMap<E, Entry>,
    /// Number of elements with a live add.
    present: usize,
}

impl<E: Ord> Default for OrSet<E> {
    fn default() -> Self {
        Self {
            entries: VecMap::default(),
            present: 0,
        }
    }
}

impl<E: Ord + Clone> OrSet<E> {
    /// Applies an add tagged `tag`. Idempotent.
    pub fn add(&mut self, elem: E, tag: OpId) {
        let e = self.entries.get_or_insert_with(elem, Entry::default);
        if !e.removed.contains(&tag) {
            let was_present = !e.adds.is_empty();
            e.adds.insert(tag);
            self.present += usize::from(!was_present);
        }
    }

    /// Applies a remove of the tags `observed` of `elem` (the tags its writer
    /// saw). Tags of other elements are ignored (see the module docs).
    pub fn remove(&mut self, elem: &E, observed: &[OpId]) {
        if observed.is_empty() {
            return;
        }
        let e = self
            .entries
            .get_or_insert_with(elem.clone(), Entry::default);
        let was_present = !e.adds.is_empty();
        for t in observed {
            e.removed.insert(*t);
            e.adds.remove(t);
        }
        self.present -= usize::from(was_present && e.adds.is_empty());
    }

    /// Joins another replica's state.
    pub fn merge(&mut self, other: &Self) {
        for (elem, theirs) in other.entries.iter() {
            let e = self
                .entries
                .get_or_insert_with(elem.clone(), Entry::default);
            let was_present = !e.adds.is_empty();
            e.removed.extend_from(&theirs.removed);
            let removed = &e.removed;
            e.adds.retain(|t| !removed.contains(t));
            for t in theirs.adds.iter() {
                if !e.removed.contains(t) {
                    e.adds.insert(*t);
                }
            }
            match (was_present, e.adds.is_empty()) {
                (false, false) => self.present += 1,
                (true, true) => self.present -= 1,
                _ => {}
            }
        }
    }

    /// True when `elem` is present.
    pub fn contains(&self, elem: &E) -> bool {
        self.entries.get(elem).is_some_and(|e| !e.adds.is_empty())
    }

    /// The tags a local remove of `elem` must name.
    pub fn tags(&self, elem: &E) -> Vec<OpId> {
        self.entries
            .get(elem)
            .map(|e| e.adds.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Every element ever added or removed, with its live add tags and the
    /// tags removes of it named (what a snapshot carries).
    pub(crate) fn entries(
        &self,
    ) -> impl Iterator<Item = (&E, impl Iterator<Item = &OpId>, impl Iterator<Item = &OpId>)> {
        self.entries
            .iter()
            .map(|(elem, e)| (elem, e.adds.iter(), e.removed.iter()))
    }

    /// Present elements, in order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.entries
            .iter()
            .filter(|(_, e)| !e.adds.is_empty())
            .map(|(elem, _)| elem)
    }

    /// Number of present elements.
    pub fn len(&self) -> usize {
        self.present
    }

    /// True when no element is present.
    pub fn is_empty(&self) -> bool {
        self.present == 0
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
    fn forged_remove_naming_another_elements_tag_converges() {
        use Step::*;
        // A remove of "x" naming "y"'s add tag (1, 2): whatever the order, "y"
        // stays, and the state is the same.
        let remove_x_naming_y = Remove("x", &[(1, 1), (1, 2)]);
        check(
            &[Add("x", id(1, 1)), Add("y", id(1, 2)), remove_x_naming_y],
            &["y"],
        );
        let remove_x_naming_y = Remove("x", &[(1, 1), (1, 2)]);
        check(
            &[remove_x_naming_y, Add("x", id(1, 1)), Add("y", id(1, 2))],
            &["y"],
        );
        let mut a = OrSet::default();
        a.add("x", id(1, 1));
        a.add("y", id(1, 2));
        a.remove(&"x", &[id(1, 1), id(1, 2)]);
        let mut b = OrSet::default();
        b.remove(&"x", &[id(1, 1), id(1, 2)]);
        b.add("y", id(1, 2));
        b.add("x", id(1, 1));
        assert_eq!(a, b);
        assert_eq!((a.len(), a.tags(&"y")), (1, vec![id(1, 2)]));
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
