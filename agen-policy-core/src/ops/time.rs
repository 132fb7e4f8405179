//! Timestamps for `before` and `after`: RFC 3339 date-times with a time and an offset, or
//! integers of Unix milliseconds.

use serde_json::Number;

use super::number::as_integer;

/// An instant: seconds since the Unix epoch and a fraction of a second in units of 10^-18 s
/// (digits beyond the 18th are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant {
    seconds: i64,
    attos: u64,
}

const ATTOS_PER_MILLI: u64 = 1_000_000_000_000_000;
/// The range of ECMAScript dates, in milliseconds either side of the epoch.
pub(crate) const MAX_EVIDENCE_MILLIS: u64 = 8_640_000_000_000_000;

impl Instant {
    /// An integer number of Unix milliseconds (an integral float such as `1.0e3` counts).
    pub(crate) fn from_millis(n: &Number) -> Option<Instant> {
        let ms = as_integer(n)?;
        let seconds = i64::try_from(ms.div_euclid(1000)).ok()?;
        let millis = u64::try_from(ms.rem_euclid(1000)).ok()?;
        Some(Instant {
            seconds,
            attos: millis * ATTOS_PER_MILLI,
        })
    }

    /// Whole Unix milliseconds, a fraction below a millisecond truncated toward the past
    /// (SPEC §7.3); `None` outside ±8,640,000,000,000,000 ms, the range of ECMAScript dates.
    pub(crate) fn whole_millis(self) -> Option<i64> {
        let ms = i128::from(self.seconds) * 1000 + i128::from(self.attos / ATTOS_PER_MILLI);
        i64::try_from(ms)
            .ok()
            .filter(|ms| ms.unsigned_abs() <= MAX_EVIDENCE_MILLIS)
    }

    /// An RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, `T` and `Z` in either
    /// case. A leap second (`:60`) is read as the first second of the next minute.
    ///
    /// The first 19 bytes have a fixed layout and are read in place, each digit checked once.
    pub(crate) fn parse(s: &str) -> Option<Instant> {
        let b = s.as_bytes();
        let head: &[u8; 19] = b.get(..19)?.try_into().ok()?;
        let [y0, y1, y2, y3, dash1, mo0, mo1, dash2, d0, d1, t, h0, h1, colon1, mi0, mi1, colon2, s0, s1] =
            *head;
        if dash1 != b'-'
            || dash2 != b'-'
            || !matches!(t, b'T' | b't')
            || colon1 != b':'
            || colon2 != b':'
        {
            return None;
        }
        let year = two(y0, y1)? * 100 + two(y2, y3)?;
        let month = two(mo0, mo1)?;
        let day = two(d0, d1)?;
        let hour = two(h0, h1)?;
        let minute = two(mi0, mi1)?;
        let second = two(s0, s1)?;
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let (attos, rest) = match b.get(19..) {
            Some([b'.', fraction @ ..]) => fraction_attos(fraction)?,
            Some(rest) => (0, rest),
            None => return None,
        };
        let offset_minutes: i64 = match rest {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), oh0, oh1, b':', om0, om1] => {
                let oh = two(*oh0, *oh1)?;
                let om = two(*om0, *om1)?;
                if oh > 23 || om > 59 {
                    return None;
                }
                let total = i64::from(oh * 60 + om);
                if *sign == b'-' {
                    -total
                } else {
                    total
                }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Some(Instant {
            seconds: local - offset_minutes * 60,
            attos,
        })
    }
}

/// The number of two ASCII digits.
#[inline]
fn two(tens: u8, ones: u8) -> Option<u32> {
    let (tens, ones) = (tens.wrapping_sub(b'0'), ones.wrapping_sub(b'0'));
    (tens <= 9 && ones <= 9).then(|| u32::from(tens) * 10 + u32::from(ones))
}

/// A fraction's digits (at least one) in units of 10^-18 s, digits beyond the 18th ignored,
/// and what follows them.
fn fraction_attos(b: &[u8]) -> Option<(u64, &[u8])> {
    let end = b
        .iter()
        .position(|d| !d.is_ascii_digit())
        .unwrap_or(b.len());
    if end == 0 {
        return None;
    }
    let (digits, rest) = b.split_at(end);
    let mut attos: u64 = 0;
    let mut scale = ATTOS_PER_MILLI * 100; // the first digit is tenths
    for d in digits {
        attos += u64::from(d - b'0') * scale;
        scale /= 10;
    }
    Some((attos, rest))
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date of a year from 0 to 9999 (Howard
/// Hinnant's algorithm, counted from 400 years earlier so that every quantity is unsigned).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let y = year + 400 - u32::from(month <= 2);
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i64::from(era) * 146_097 + i64::from(doe) - 719_468 - 146_097
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parser as first written, digit by digit with a bounds check each: the reference
    /// the fixed-layout parser is checked against.
    fn reference(s: &str) -> Option<Instant> {
        fn digits(b: &[u8], at: usize, len: usize) -> Option<u32> {
            let slice = b.get(at..at.checked_add(len)?)?;
            slice.iter().try_fold(0u32, |v, &d| {
                d.is_ascii_digit().then(|| v * 10 + u32::from(d - b'0'))
            })
        }
        let b = s.as_bytes();
        let year = digits(b, 0, 4)?;
        let month = digits(b, 5, 2)?;
        let day = digits(b, 8, 2)?;
        let hour = digits(b, 11, 2)?;
        let minute = digits(b, 14, 2)?;
        let second = digits(b, 17, 2)?;
        if b.get(4) != Some(&b'-')
            || b.get(7) != Some(&b'-')
            || !matches!(b.get(10), Some(b'T' | b't'))
            || b.get(13) != Some(&b':')
            || b.get(16) != Some(&b':')
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut pos = 19;
        let mut attos: u64 = 0;
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            let start = pos;
            let mut scale = ATTOS_PER_MILLI * 100;
            while let Some(d) = b.get(pos).filter(|d| d.is_ascii_digit()) {
                attos += u64::from(d - b'0') * scale;
                scale /= 10;
                pos += 1;
            }
            if pos == start {
                return None;
            }
        }
        let offset_minutes: i64 = match b.get(pos) {
            Some(b'Z' | b'z') if pos + 1 == b.len() => 0,
            Some(sign @ (b'+' | b'-')) if pos + 6 == b.len() => {
                let oh = digits(b, pos + 1, 2)?;
                let om = digits(b, pos + 4, 2)?;
                if b.get(pos + 3) != Some(&b':') || oh > 23 || om > 59 {
                    return None;
                }
                let total = i64::from(oh * 60 + om);
                if *sign == b'-' {
                    -total
                } else {
                    total
                }
            }
            _ => return None,
        };
        // Howard Hinnant's algorithm over signed years.
        let y = i64::from(year) - i64::from(month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(month);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Some(Instant {
            seconds: local - offset_minutes * 60,
            attos,
        })
    }

    proptest::proptest! {
        /// Well-formed and near-miss date-times: the fixed-layout parser agrees with the
        /// reference, value for value.
        #[test]
        fn agrees_with_the_reference(
            year in 0u32..10_000,
            month in 0u32..14,
            day in 0u32..33,
            hour in 0u32..26,
            minute in 0u32..62,
            second in 0u32..62,
            fraction in proptest::option::of("[0-9]{0,22}"),
            offset in proptest::sample::select(vec!["Z", "z", "+02:00", "-07:30", "+24:00",
                "-00:60", "+1:00", "", "Z ", "+02:000", "X"]),
            t in proptest::sample::select(vec!["T", "t", " "]),
        ) {
            let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
            let s = format!("{year:04}-{month:02}-{day:02}{t}{hour:02}:{minute:02}:{second:02}{fraction}{offset}");
            proptest::prop_assert_eq!(Instant::parse(&s), reference(&s), "{}", s);
        }

        /// Any short byte string of the characters a date-time is made of.
        #[test]
        fn agrees_on_noise(s in "[0-9Tt:.+Zz-]{0,32}") {
            proptest::prop_assert_eq!(Instant::parse(&s), reference(&s), "{}", s);
        }
    }

    fn t(s: &str) -> Option<Instant> {
        Instant::parse(s)
    }

    fn ms(v: i64) -> Option<Instant> {
        Instant::from_millis(&Number::from(v))
    }

    #[test]
    fn offsets_and_milliseconds_agree() {
        assert_eq!(
            t("2017-12-06T00:00:00.000-07:00"),
            t("2017-12-06T07:00:00Z")
        );
        assert_eq!(t("2017-12-06T07:00:00Z"), ms(1_512_543_600_000));
        assert_eq!(t("1970-01-01T00:00:00Z"), ms(0));
        assert_eq!(t("1969-12-31T23:59:59.999Z"), ms(-1));
        assert_eq!(t("2026-01-01T01:00:00+02:00"), t("2025-12-31T23:00:00Z"));
        assert!(t("2026-01-01T00:00:00.001Z") == ms(1_767_225_600_001));
        assert!(t("2026-01-01T00:00:00.0000000000000000001Z") == t("2026-01-01T00:00:00Z"));
        assert!(t("2026-01-01T00:00:00.000000000000000001Z") > t("2026-01-01T00:00:00Z"));
        assert_eq!(t("2016-12-31T23:59:60Z"), t("2017-01-01T00:00:00Z"));
        assert_eq!(t("2024-02-29t12:00:00z"), t("2024-02-29T12:00:00Z"));
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for bad in [
            "",
            "2017-12-06",
            "2017-12-06X00:00:00.000-07:00",
            "00:00:00.000-07.00",
            "2017-12-06T00:00:00",
            "2017-12-06T00:00:00.Z",
            "2017-13-06T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2017-12-06T24:00:00Z",
            "2017-12-06T00:00:00+2:00",
            "2017-12-06T00:00:00+02:00 ",
            "2017-12-06 00:00:00Z",
            "1512543600000",
            "２017-12-06T00:00:00Z",
        ] {
            assert!(t(bad).is_none(), "{bad:?}");
        }
        assert!(Instant::from_millis(&Number::from_f64(1.5).unwrap_or(Number::from(0))).is_none());
    }
}
