//! Tables that hold each distinct value once: strings (event types, users,
//! devices, paths, tags) and findings lists. A row then costs a few u32s
//! however long its strings are, and a filter on a column is decided once
//! per distinct value instead of once per row.

use std::hash::Hash;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::plan::Finding;

/// A handle to an interned value; `NONE` stands for "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

impl Sym {
    pub const NONE: Sym = Sym(u32::MAX);

    pub fn index(self) -> Option<usize> {
        (self != Sym::NONE).then_some(self.0 as usize)
    }
}

/// Heap bytes a value holds, for the store's memory budget.
pub trait Weigh {
    fn weight(&self) -> usize;
}

impl Weigh for str {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl Weigh for [Finding] {
    fn weight(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        self.iter()
            .map(|f| {
                std::mem::size_of::<Finding>()
                    + f.path.len()
                    + text(&f.event_type)
                    + text(&f.expected)
                    + text(&f.actual)
            })
            .sum()
    }
}

/// Values kept once each and counted: a value leaves when the last row
/// holding it does, so the budget sees exactly what is held.
#[derive(Debug)]
pub struct Table<T: ?Sized> {
    values: Vec<Option<Arc<T>>>,
    refs: Vec<u32>,
    index: FxHashMap<Arc<T>, Sym>,
    /// Heap bytes of the values held.
    bytes: usize,
    /// Slots whose value left.
    dead: usize,
}

impl<T: ?Sized + Eq + Hash + Weigh> Default for Table<T> {
    fn default() -> Self {
        Table {
            values: Vec::new(),
            refs: Vec::new(),
            index: FxHashMap::default(),
            bytes: 0,
            dead: 0,
        }
    }
}

/// Bookkeeping per distinct value: the Arc's counts and the map's slot
/// (key, value, control byte) — close enough for a budget.
const PER_VALUE: usize = 16 + 16 + 4 + 8;
/// Per slot, live or dead: the vector entries.
const PER_SLOT: usize = 8 + 4;

impl<T: ?Sized + Eq + Hash + Weigh> Table<T> {
    /// The handle of `value`, adding it when new; every call holds it once more.
    fn hold(&mut self, value: &T, make: impl FnOnce() -> Arc<T>) -> Sym {
        if let Some(&sym) = self.index.get(value) {
            if let Some(n) = self.refs.get_mut(sym.0 as usize) {
                *n = n.saturating_add(1);
            }
            return sym;
        }
        // u32::MAX is NONE: past that many slots, values go unrecorded.
        let Ok(n) = u32::try_from(self.values.len()) else {
            return Sym::NONE;
        };
        if n == u32::MAX {
            return Sym::NONE;
        }
        let arc = make();
        self.values.push(Some(arc.clone()));
        self.refs.push(1);
        self.index.insert(arc, Sym(n));
        self.bytes += value.weight() + PER_VALUE;
        Sym(n)
    }

    /// One holder of `sym` let go; the last one frees the value.
    pub fn release(&mut self, sym: Sym) {
        let Some(i) = sym.index() else { return };
        let Some(n) = self.refs.get_mut(i) else {
            return;
        };
        *n = n.saturating_sub(1);
        if *n == 0 {
            if let Some(value) = self.values[i].take() {
                self.bytes -= value.weight() + PER_VALUE;
                self.index.remove(&value);
                self.dead += 1;
            }
        }
    }

    pub fn get(&self, sym: Sym) -> Option<&T> {
        self.values.get(sym.index()?)?.as_deref()
    }

    pub fn bytes(&self) -> usize {
        self.bytes + self.values.capacity() * PER_SLOT
    }

    /// Most slots are dead: worth renumbering.
    pub fn sparse(&self) -> bool {
        self.dead > 4096 && self.dead * 2 > self.values.len()
    }
}

impl Table<str> {
    pub fn intern(&mut self, value: Option<&str>) -> Sym {
        match value {
            Some(v) => self.hold(v, || Arc::from(v)),
            None => Sym::NONE,
        }
    }
}

impl Table<[Finding]> {
    /// Most events share their findings with others of their type (the
    /// same missing property, the same bad name): kept once per distinct list.
    pub fn intern(&mut self, findings: &[Finding]) -> Sym {
        if findings.is_empty() {
            return Sym::NONE;
        }
        self.hold(findings, || Arc::from(findings))
    }

    pub fn findings(&self, sym: Sym) -> &[Finding] {
        self.get(sym).unwrap_or(&[])
    }
}

/// A per-value answer worked out once: which of a filter's terms a type, a
/// user or a device satisfies.
#[derive(Debug, Default, Clone)]
pub struct Decided(Vec<u64>);

/// Not decided yet: a filter has at most 63 terms, so no answer has the top bit.
const UNDECIDED: u64 = u64::MAX;

impl Decided {
    /// `decide` runs at most once per handle.
    pub fn get(&mut self, sym: Sym, decide: impl FnOnce() -> u64) -> u64 {
        let Some(i) = sym.index() else {
            return decide();
        };
        if i >= self.0.len() {
            self.0.resize(i + 1, UNDECIDED);
        }
        if self.0[i] == UNDECIDED {
            self.0[i] = decide();
        }
        self.0[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_kept_once() {
        let mut t: Table<str> = Table::default();
        let a = t.intern(Some("a"));
        assert_eq!(t.intern(Some("b")), Sym(1));
        assert_eq!(t.intern(Some("a")), a);
        assert_eq!(t.intern(None), Sym::NONE);
        assert_eq!(t.get(a), Some("a"));
        assert_eq!(t.get(Sym::NONE), None);
        assert_eq!(t.values.len(), 2);
        let before = t.bytes();
        t.release(a);
        assert_eq!(t.get(a), Some("a"), "held twice, released once");
        t.release(a);
        assert_eq!(t.get(a), None);
        assert!(t.bytes() < before);
        let mut d = Decided::default();
        let mut calls = 0;
        for _ in 0..3 {
            assert_eq!(
                d.get(Sym(1), || {
                    calls += 1;
                    0b101
                }),
                0b101
            );
        }
        assert_eq!(calls, 1);
    }
}
