//! `in_cidr` blocks: `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128).

use std::net::{IpAddr, Ipv4Addr};

/// A block of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block {
    V4 { network: u32, mask: u32 },
    V6 { network: u128, mask: u128 },
}

impl Block {
    /// Parses a block. Bits beyond the prefix are ignored (`10.1.2.3/8` is `10.0.0.0/8`); the
    /// prefix length is decimal without a sign or leading zero.
    pub(crate) fn parse(s: &str) -> Option<Block> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match prefix {
            None => max,
            Some(p) => {
                if p.is_empty()
                    || !p.bytes().all(|b| b.is_ascii_digit())
                    || (p.len() > 1 && p.starts_with('0'))
                {
                    return None;
                }
                let len: u32 = p.parse().ok()?;
                if len > max {
                    return None;
                }
                len
            }
        };
        Some(match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                Block::V4 {
                    network: u32::from(a) & mask,
                    mask,
                }
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
                Block::V6 {
                    network: u128::from(a) & mask,
                    mask,
                }
            }
        })
    }

    /// Whether the address is inside the block; an address of the other family never is.
    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        match (self, addr) {
            (Block::V4 { network, mask }, IpAddr::V4(a)) => u32::from(a) & mask == *network,
            (Block::V6 { network, mask }, IpAddr::V6(a)) => u128::from(a) & mask == *network,
            _ => false,
        }
    }
}

/// An attribute value that is an address (not a block); `None` otherwise.
pub(crate) fn parse_address(s: &str) -> Option<IpAddr> {
    match dotted_quad(s.as_bytes()) {
        Some(a) => Some(IpAddr::V4(Ipv4Addr::from(a))),
        None => s.parse().ok(),
    }
}

/// The usual IPv4 address in one pass: four decimal octets of one to three digits, no
/// leading zero, each at most 255. `None` for anything else, which the standard library's
/// parser then decides (it accepts exactly this form of IPv4, so the two agree).
fn dotted_quad(b: &[u8]) -> Option<u32> {
    let mut address: u32 = 0;
    let mut at = 0;
    for octet in 0..4 {
        if octet > 0 {
            if b.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let start = at;
        let mut value: u32 = 0;
        while let Some(d) = b.get(at).filter(|d| d.is_ascii_digit()) {
            if at - start == 3 {
                return None;
            }
            value = value * 10 + u32::from(d - b'0');
            at += 1;
        }
        let digits = at - start;
        if digits == 0 || value > 255 || (digits > 1 && b.get(start) == Some(&b'0')) {
            return None;
        }
        address = address << 8 | value;
    }
    (at == b.len()).then_some(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The one-pass IPv4 reader accepts only what the standard library's parser does, as
        /// the same address.
        #[test]
        fn dotted_quad_agrees_with_std(s in "[0-9.]{0,17}|([0-9]{1,3}\\.){3}[0-9]{1,4}") {
            if let Some(a) = dotted_quad(s.as_bytes()) {
                proptest::prop_assert_eq!(s.parse::<Ipv4Addr>().ok(), Some(Ipv4Addr::from(a)));
            }
            proptest::prop_assert_eq!(parse_address(&s), s.parse::<IpAddr>().ok());
        }
    }

    fn inside(block: &str, addr: &str) -> bool {
        match (Block::parse(block), parse_address(addr)) {
            (Some(b), Some(a)) => b.contains(a),
            _ => false,
        }
    }

    #[test]
    fn blocks_and_bare_addresses() {
        assert!(inside("10.0.0.0/8", "10.1.2.3"));
        assert!(!inside("10.0.0.0/8", "11.0.0.1"));
        assert!(inside("127.0.0.1", "127.0.0.1"));
        assert!(!inside("127.0.0.1", "127.0.0.2"));
        assert!(inside("0.0.0.0/0", "8.8.8.8"));
        assert!(inside("2001:db8::/32", "2001:db8:0:1::42"));
        assert!(!inside("2001:db8::/32", "2001:db9::1"));
        assert!(inside("::/0", "::1"));
        assert!(inside("10.1.2.3/8", "10.200.0.1"));
    }

    #[test]
    fn families_never_mix() {
        assert!(!inside("10.0.0.0/8", "::ffff:10.0.0.1"));
        assert!(!inside("::/0", "10.0.0.1"));
        assert!(!inside("0.0.0.0/0", "::1"));
    }

    #[test]
    fn rejects_what_is_not_a_block() {
        for bad in [
            "",
            "127.invalid",
            "bad::cidr",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/08",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "01.2.3.4",
            " 10.0.0.1",
            "fe80::1%eth0",
        ] {
            assert!(Block::parse(bad).is_none(), "{bad:?}");
        }
        assert!(parse_address("10.0.0.0/8").is_none());
    }
}
