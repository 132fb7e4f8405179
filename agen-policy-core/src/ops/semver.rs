//! Versions compared by SemVer 2.0.0 precedence.
//!
//! `2` and `2.1` stand for `2.0.0` and `2.1.0`, also with a pre-release (`2-rc` is
//! `2.0.0-rc`); build metadata is checked for syntax and ignored; a leading `v`, a leading zero
//! in a numeric part, or an empty identifier makes the text not a version. Parsing borrows the
//! pre-release from the input, so comparing a request's attribute allocates nothing.

use std::cmp::Ordering;

/// A version whose pre-release borrows from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version<'a> {
    major: u64,
    minor: u64,
    patch: u64,
    /// Dot-separated pre-release identifiers without the `-`; empty for a release.
    pre: &'a str,
}

/// A parsed version that owns its pre-release, as condition values are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnedVersion {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Box<str>,
}

impl OwnedVersion {
    pub(crate) fn as_version(&self) -> Version<'_> {
        Version {
            major: self.major,
            minor: self.minor,
            patch: self.patch,
            pre: &self.pre,
        }
    }
}

impl<'a> Version<'a> {
    /// Parses a version; `None` when `s` is not one. One pass over the numeric core, then the
    /// pre-release and build (rare) checked by identifier.
    pub(crate) fn parse(s: &'a str) -> Option<Version<'a>> {
        let bytes = s.as_bytes();
        let mut parts = [0u64; 3];
        let mut at = 0;
        for (n, part) in parts.iter_mut().enumerate() {
            // Digits read and summed at once: no leading zero, no overflow.
            let start = at;
            let mut value: u64 = 0;
            while let Some(d) = bytes.get(at).filter(|b| b.is_ascii_digit()) {
                value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
                at += 1;
            }
            if at == start || (at - start > 1 && bytes.get(start) == Some(&b'0')) {
                return None;
            }
            *part = value;
            if n < 2 && bytes.get(at) == Some(&b'.') {
                at += 1;
            } else {
                break;
            }
        }
        let [major, minor, patch] = parts;
        let rest = s.get(at..)?;
        let (pre, build) = match rest.as_bytes().first() {
            None => ("", None),
            Some(b'-') => {
                let rest = rest.get(1..)?;
                let (pre, build) = match rest.split_once('+') {
                    Some((pre, build)) => (pre, Some(build)),
                    None => (rest, None),
                };
                if !valid_prerelease(pre) {
                    return None;
                }
                (pre, build)
            }
            Some(b'+') => ("", rest.get(1..)),
            Some(_) => return None,
        };
        if let Some(build) = build {
            if !build
                .split('.')
                .all(|id| !id.is_empty() && id.bytes().all(is_ident_byte))
            {
                return None;
            }
        }
        Some(Version {
            major,
            minor,
            patch,
            pre,
        })
    }

    pub(crate) fn to_owned_version(self) -> OwnedVersion {
        OwnedVersion {
            major: self.major,
            minor: self.minor,
            patch: self.patch,
            pre: self.pre.into(),
        }
    }

    /// SemVer precedence.
    pub(crate) fn precedence(&self, other: &Version<'_>) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_prerelease(self.pre, other.pre))
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// A numeric part: digits, no leading zero, fits in u64.
fn valid_prerelease(pre: &str) -> bool {
    pre.split('.').all(|id| {
        !id.is_empty()
            && id.bytes().all(is_ident_byte)
            && !(id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match compare_identifier(x, y) {
                Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

fn compare_identifier(x: &str, y: &str) -> Ordering {
    let x_num = x.bytes().all(|b| b.is_ascii_digit());
    let y_num = y.bytes().all(|b| b.is_ascii_digit());
    match (x_num, y_num) {
        // No leading zeros, so the longer number is the larger; equal lengths compare as text.
        (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.cmp(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The grammar read straight off its definition: build, then pre-release, then the core.
    fn by_definition(s: &str) -> Option<(u64, u64, u64, &str)> {
        let (rest, build) = match s.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (s, None),
        };
        if build.is_some_and(|b| {
            !b.split('.')
                .all(|id| !id.is_empty() && id.bytes().all(is_ident_byte))
        }) {
            return None;
        }
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, valid_prerelease(pre).then_some(pre)?),
            None => (rest, ""),
        };
        let mut parts = core.split('.');
        let major = parts.next().and_then(numeric)?;
        let minor = parts.next().map_or(Some(0), numeric)?;
        let patch = parts.next().map_or(Some(0), numeric)?;
        parts.next().is_none().then_some((major, minor, patch, pre))
    }

    proptest! {
        #[test]
        fn one_pass_parse_agrees_with_the_definition(s in "[0-9.+a-]{0,12}") {
            let parsed = Version::parse(&s).map(|v| (v.major, v.minor, v.patch, v.pre));
            prop_assert_eq!(parsed, by_definition(&s));
        }
    }

    fn cmp(a: &str, b: &str) -> Option<Ordering> {
        Some(Version::parse(a)?.precedence(&Version::parse(b)?))
    }

    #[test]
    fn precedence_follows_the_semver_spec() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.9.0",
            "1.10.0",
            "2.0.0",
        ];
        for pair in ordered.windows(2) {
            if let [a, b] = pair {
                assert_eq!(cmp(a, b), Some(Ordering::Less), "{a} < {b}");
                assert_eq!(cmp(b, a), Some(Ordering::Greater), "{b} > {a}");
            }
        }
    }

    #[test]
    fn short_forms_and_build_metadata() {
        assert_eq!(cmp("2", "2.0.0"), Some(Ordering::Equal));
        assert_eq!(cmp("2.1", "2.1.0"), Some(Ordering::Equal));
        assert_eq!(cmp("2-rc", "2.0.0-rc"), Some(Ordering::Equal));
        assert_eq!(cmp("2.0.0+build.7", "2.0.0"), Some(Ordering::Equal));
        assert_eq!(cmp("2.0.0-rc.1+b", "2.0.0-rc.1"), Some(Ordering::Equal));
        assert_eq!(
            cmp("1.0.0-99999999999999999999999", "1.0.0-100"),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for bad in [
            "",
            "v1.0.0",
            "02.0.0",
            "2.0.0.0",
            "1.02.0",
            "1..0",
            "1.0.0-",
            "1.0.0-01",
            "1.0.0+",
            "1.0.0-a..b",
            "1.0.0+a+b",
            " 1.0.0",
            "1.0.0 ",
            "a.b.c",
            "-1.0.0",
            "1.0.0-é",
            "99999999999999999999.0.0",
        ] {
            assert!(Version::parse(bad).is_none(), "{bad:?}");
        }
        for good in [
            "0.0.0",
            "1.0.0-0",
            "1.0.0-alpha-1",
            "1.0.0+001",
            "10.20.30",
            "1",
        ] {
            assert!(Version::parse(good).is_some(), "{good:?}");
        }
    }

    /// A numeric identifier: digits, no leading zero, within `u64`.
    fn numeric(s: &str) -> Option<u64> {
        if s.is_empty()
            || !s.bytes().all(|b| b.is_ascii_digit())
            || (s.len() > 1 && s.starts_with('0'))
        {
            return None;
        }
        s.parse().ok()
    }
}
