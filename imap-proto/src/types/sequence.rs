//! Sequence sets: message numbers or UIDs, with `*` and the saved result `$`.

use std::num::NonZeroU32;

/// One end of a range: a number, or `*` (the largest number in use).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeqNo {
    /// A message sequence number or UID.
    Value(NonZeroU32),
    /// `*`: the last message (or the largest UID).
    Last,
}

impl SeqNo {
    /// The number this end stands for, given the largest number in use.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqNo::Value(n) => n.get(),
            SeqNo::Last => largest,
        }
    }
}

/// `a:b` (in either order) or a single number (`a` = `b`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// The first end as written.
    pub start: SeqNo,
    /// The second end as written; equal to `start` for a single number.
    pub end: SeqNo,
}

impl SeqRange {
    /// A single number.
    pub fn single(n: NonZeroU32) -> Self {
        SeqRange {
            start: SeqNo::Value(n),
            end: SeqNo::Value(n),
        }
    }

    /// The inclusive bounds, lowest first, given the largest number in use.
    pub fn bounds(&self, largest: u32) -> (u32, u32) {
        let (a, b) = (self.start.resolve(largest), self.end.resolve(largest));
        (a.min(b), a.max(b))
    }
}

/// A sequence set (`1,3:5,7:*`), or `$`: the result saved by the last
/// `SEARCH RETURN (SAVE)` (RFC 5182).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// `$`.
    Saved,
    /// Ranges, never empty.
    Ranges(Vec<SeqRange>),
}

impl SequenceSet {
    /// A set of the given ranges; `None` when there are none.
    pub fn new(ranges: Vec<SeqRange>) -> Option<Self> {
        (!ranges.is_empty()).then_some(SequenceSet::Ranges(ranges))
    }

    /// A set of one number.
    pub fn single(n: NonZeroU32) -> Self {
        SequenceSet::Ranges(vec![SeqRange::single(n)])
    }

    /// `1:*`.
    pub fn all() -> Self {
        SequenceSet::Ranges(vec![SeqRange {
            start: SeqNo::Value(NonZeroU32::MIN),
            end: SeqNo::Last,
        }])
    }

    /// The smallest set of ranges covering `numbers` (which need not be sorted);
    /// `None` when it holds no non-zero number.
    pub fn from_numbers(numbers: impl IntoIterator<Item = u32>) -> Option<Self> {
        let mut sorted: Vec<u32> = numbers.into_iter().filter(|&n| n != 0).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for n in sorted {
            match ranges.last_mut() {
                Some((_, end)) if *end + 1 == n => *end = n,
                _ => ranges.push((n, n)),
            }
        }
        let to_no = |n: u32| SeqNo::Value(NonZeroU32::new(n).expect("zero filtered out"));
        SequenceSet::new(
            ranges
                .into_iter()
                .map(|(a, b)| SeqRange {
                    start: to_no(a),
                    end: to_no(b),
                })
                .collect(),
        )
    }

    /// True when `n` is in the set, given the largest number in use (for
    /// `*`). `$` holds nothing here: resolve it against the saved result first.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            SequenceSet::Saved => false,
            SequenceSet::Ranges(ranges) => ranges.iter().any(|r| {
                let (lo, hi) = r.bounds(largest);
                (lo..=hi).contains(&n)
            }),
        }
    }

    /// The inclusive ranges, lowest first and merged, given the largest number in use.
    pub fn normalized(&self, largest: u32) -> Vec<(u32, u32)> {
        let SequenceSet::Ranges(ranges) = self else {
            return Vec::new();
        };
        let mut bounds: Vec<(u32, u32)> = ranges.iter().map(|r| r.bounds(largest)).collect();
        bounds.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(bounds.len());
        for (lo, hi) in bounds {
            match merged.last_mut() {
                Some((_, end)) if lo <= end.saturating_add(1) => *end = (*end).max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_resolves_to_largest() {
        let set = SequenceSet::Ranges(vec![SeqRange {
            start: SeqNo::Last,
            end: SeqNo::Value(NonZeroU32::new(3).unwrap()),
        }]);
        assert!(set.contains(5, 7) && set.contains(3, 7) && !set.contains(2, 7));
        // With fewer messages than the number, `3:*` is `1:3` reversed: still 2..3.
        assert_eq!(set.normalized(2), vec![(2, 3)]);
    }

    #[test]
    fn from_numbers_compresses() {
        let set = SequenceSet::from_numbers([5, 1, 2, 3, 9, 0, 2]).unwrap();
        assert_eq!(set.normalized(0), vec![(1, 3), (5, 5), (9, 9)]);
        assert_eq!(SequenceSet::from_numbers([0]), None);
    }
}
