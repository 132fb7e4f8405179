//! Equality and search of short byte strings without a call: context keys, prefixes, suffixes
//! and substrings are mostly a few bytes long, where a call to `memcmp` or the setup of a
//! substring searcher costs more than the comparison.

/// Whether `a` and `b` hold the same bytes. Up to 16 bytes, two overlapping word loads per
/// side; beyond, the standard comparison.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a.first() == b.first() && a.get(n / 2) == b.get(n / 2) && a.last() == b.last(),
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => a == b,
    }
}

/// Whether `needle` occurs in `haystack`. A needle of up to 16 bytes is compared by [`same`] at
/// each place its first byte occurs: a constant cost a place, so linear in the haystack.
/// Longer needles go to the standard library's two-way search, also linear.
#[inline]
pub(crate) fn contains(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return true;
    };
    if n.len() > 16 {
        return haystack.contains(needle);
    }
    let Some(last_start) = h.len().checked_sub(n.len()) else {
        return false;
    };
    h.get(..=last_start).is_some_and(|starts| {
        starts
            .iter()
            .enumerate()
            .any(|(i, &b)| b == first && h.get(i..i + n.len()).is_some_and(|w| same(w, n)))
    })
}

fn word4(s: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = s.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_ne_bytes(bytes))
}

fn word8(s: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = s.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_ne_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `same` is byte equality, at every length around the word boundaries.
        #[test]
        fn same_is_equality(a in proptest::collection::vec(0u8..4, 0..20),
                            b in proptest::collection::vec(0u8..4, 0..20)) {
            proptest::prop_assert_eq!(same(&a, &b), a == b);
            proptest::prop_assert!(same(&a, &a.clone()));
        }

        /// `contains` is the standard library's substring test, for needles on both sides of
        /// the 16-byte bound and haystacks of a small alphabet (so that matches are frequent).
        #[test]
        fn contains_is_the_standard_search(h in "[ab\u{e9}]{0,40}", n in "[ab\u{e9}]{0,20}") {
            proptest::prop_assert_eq!(contains(&h, &n), h.contains(n.as_str()));
            proptest::prop_assert!(contains(&h, &h));
        }
    }
}
