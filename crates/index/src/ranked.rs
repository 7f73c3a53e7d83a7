//! A multiset of keys that tells how many lie below a key in about n / 512 steps: sorted blocks of
//! 512 to 1,024 keys (the last may be shorter). The strays use it to count, for a content, the
//! stray segments of its segment size below its last index in one query, however many there are.

/// Keys in a block split in two past this many (halves of `SPLIT / 2`).
const SPLIT: usize = 1_024;

/// A sorted multiset in blocks: every key of a block is at least every key of the one before.
#[derive(Debug, Clone)]
pub(crate) struct Ranked<K> {
    blocks: Vec<Vec<K>>,
}

impl<K> Default for Ranked<K> {
    fn default() -> Self {
        Ranked { blocks: Vec::new() }
    }
}

impl<K: Ord + Copy> Ranked<K> {
    /// The last block whose first key is at most `k` (0 when none is): the one `k` goes in, and
    /// the one holding `k` if any does.
    fn block_of(&self, k: &K) -> usize {
        self.blocks
            .partition_point(|b| b.first().is_some_and(|f| f <= k))
            .saturating_sub(1)
    }

    /// Add one `k`.
    pub(crate) fn insert(&mut self, k: K) {
        let b = self.block_of(&k);
        let Some(block) = self.blocks.get_mut(b) else {
            self.blocks.push(vec![k]);
            return;
        };
        let at = block.partition_point(|x| x <= &k);
        block.insert(at, k);
        if block.len() > SPLIT {
            let tail = block.split_off(SPLIT / 2);
            self.blocks.insert(b + 1, tail);
        }
    }

    /// Take one `k` away; false when there is none.
    pub(crate) fn remove(&mut self, k: &K) -> bool {
        let b = self.block_of(k);
        let Some(block) = self.blocks.get_mut(b) else {
            return false;
        };
        let Ok(at) = block.binary_search(k) else {
            return false;
        };
        block.remove(at);
        if block.is_empty() {
            self.blocks.remove(b);
        }
        true
    }

    /// How many keys are below `k`.
    pub(crate) fn below(&self, k: &K) -> usize {
        let p = self
            .blocks
            .partition_point(|b| b.first().is_some_and(|f| f < k));
        let Some(last) = p.checked_sub(1) else {
            return 0;
        };
        let whole: usize = self.blocks.iter().take(last).map(Vec::len).sum();
        let part = self
            .blocks
            .get(last)
            .map_or(0, |b| b.partition_point(|x| x < k));
        whole + part
    }
}

#[cfg(test)]
mod tests {
    use super::Ranked;

    #[test]
    fn counts_below_match_a_sorted_list_through_splits_duplicates_and_removals() {
        let mut r = Ranked::default();
        let mut all: Vec<(u32, u32)> = Vec::new();
        // Few distinct keys, many of each: runs of one key span blocks.
        for i in 0..5_000u32 {
            let k = (i % 3, (i * 7919) % 13);
            r.insert(k);
            all.push(k);
        }
        let check = |r: &Ranked<(u32, u32)>, all: &[(u32, u32)]| {
            for a in 0..4 {
                for b in 0..15 {
                    let k = (a, b);
                    assert_eq!(r.below(&k), all.iter().filter(|x| **x < k).count(), "{k:?}");
                }
            }
        };
        check(&r, &all);
        assert!(r.blocks.len() > 4);
        for i in (0..5_000u32).step_by(2) {
            let k = (i % 3, (i * 7919) % 13);
            assert!(r.remove(&k));
            let at = all.iter().position(|x| *x == k).unwrap();
            all.swap_remove(at);
        }
        assert!(!r.remove(&(9, 9)));
        check(&r, &all);
        for k in all.clone() {
            assert!(r.remove(&k));
        }
        assert!(r.blocks.is_empty());
        assert_eq!(r.below(&(5, 5)), 0);
    }
}
