//! Exact comparison of JSON numbers: `1` = `1.0`, and integers beyond 2^53 keep their precision.

use std::cmp::Ordering;

use serde_json::Number;

/// A JSON number, as exact as it was written (an integer) or as parsed (a float).
#[derive(Debug, Clone, Copy)]
enum Exact {
    Int(i128),
    Float(f64),
}

fn exact(n: &Number) -> Exact {
    if let Some(i) = n.as_i64() {
        Exact::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Exact::Int(i128::from(u))
    } else {
        // INVARIANT: serde_json numbers are finite, so a float is never NaN.
        Exact::Float(n.as_f64().unwrap_or(0.0))
    }
}

/// Compares two JSON numbers numerically, exactly.
pub(crate) fn compare(a: &Number, b: &Number) -> Ordering {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x.cmp(&y);
    }
    match (exact(a), exact(b)) {
        (Exact::Int(x), Exact::Int(y)) => x.cmp(&y),
        (Exact::Float(x), Exact::Float(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Exact::Int(x), Exact::Float(y)) => int_float(x, y),
        (Exact::Float(x), Exact::Int(y)) => int_float(y, x).reverse(),
    }
}

/// Compares an integer with a finite float without rounding either.
fn int_float(i: i128, f: f64) -> Ordering {
    // Beyond ±2^126 every integer we can hold (they come from i64/u64) is on one side.
    const BOUND: f64 = 8.507_059_173_023_462e37; // 2^126
    if f >= BOUND {
        return Ordering::Less;
    }
    if f <= -BOUND {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    // The cast is exact: `whole` is integral and within i128.
    #[allow(clippy::cast_possible_truncation)]
    let whole_int = whole as i128;
    match i.cmp(&whole_int) {
        Ordering::Equal if f > whole => Ordering::Less,
        Ordering::Equal if f < whole => Ordering::Greater,
        other => other,
    }
}

/// The number as an integer, if it is one (an integral float such as `1.0` counts).
pub(crate) fn as_integer(n: &Number) -> Option<i128> {
    match exact(n) {
        Exact::Int(i) => Some(i),
        Exact::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 =>
        {
            #[allow(clippy::cast_possible_truncation)]
            Some(f as i128)
        }
        Exact::Float(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        serde_json::from_str(s).unwrap_or_else(|_| Number::from(0))
    }

    #[test]
    fn integers_and_floats_compare_numerically() {
        assert_eq!(compare(&n("1"), &n("1.0")), Ordering::Equal);
        assert_eq!(compare(&n("1"), &n("1.5")), Ordering::Less);
        assert_eq!(compare(&n("-1"), &n("-1.5")), Ordering::Greater);
        assert_eq!(compare(&n("-2"), &n("-1.5")), Ordering::Less);
        assert_eq!(compare(&n("2.5"), &n("2")), Ordering::Greater);
        assert_eq!(
            compare(&n("-3"), &n("18446744073709551615")),
            Ordering::Less
        );
    }

    #[test]
    fn large_integers_keep_precision() {
        assert_eq!(
            compare(&n("9007199254740993"), &n("9007199254740992")),
            Ordering::Greater
        );
        assert_eq!(
            compare(&n("9007199254740993"), &n("9007199254740992.0")),
            Ordering::Greater
        );
        assert_eq!(
            compare(&n("1e300"), &n("18446744073709551615")),
            Ordering::Greater
        );
        assert_eq!(
            compare(&n("-1e300"), &n("-9223372036854775808")),
            Ordering::Less
        );
    }

    #[test]
    fn integral_floats_are_integers() {
        assert_eq!(as_integer(&n("1512543600000")), Some(1_512_543_600_000));
        assert_eq!(as_integer(&n("1512543600000.0")), Some(1_512_543_600_000));
        assert_eq!(as_integer(&n("1.5")), None);
        assert_eq!(as_integer(&n("1e300")), None);
    }
}
