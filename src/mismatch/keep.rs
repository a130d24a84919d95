//! A bounded sample: a reconcile of millions lists some of each kind of
//! problem and counts the rest.

/// Problems listed per class; the summary counts them all.
pub const PROBLEMS_PER_CLASS: usize = 10_000;
/// Findings on the exported side listed in all.
pub const FINDINGS: usize = 10_000;

pub struct Kept<T> {
    per_kind: usize,
    kinds: Vec<Vec<T>>,
    pub omitted: u64,
}

impl<T> Kept<T> {
    pub fn new(per_kind: usize) -> Self {
        Kept {
            per_kind,
            kinds: Vec::new(),
            omitted: 0,
        }
    }

    pub fn push(&mut self, kind: usize, item: T) {
        if self.kinds.len() <= kind {
            self.kinds.resize_with(kind + 1, Vec::new);
        }
        let kept = &mut self.kinds[kind];
        if kept.len() < self.per_kind {
            kept.push(item);
        } else {
            self.omitted += 1;
        }
    }

    pub fn into_vec(self) -> Vec<T> {
        self.kinds.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_some_of_each_kind_and_counts_the_rest() {
        let mut k = Kept::new(2);
        for i in 0..5 {
            k.push(i % 2, i);
        }
        k.push(3, 9);
        assert_eq!(k.omitted, 1);
        assert_eq!(k.into_vec(), [0, 2, 1, 3, 9]);
    }
}
