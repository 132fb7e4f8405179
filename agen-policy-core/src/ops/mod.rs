//! The operators' value types, each parsed once at load and compared without allocating.
//!
//! Every parser here is total: it returns `None` for input it cannot use, never panics.

pub(crate) mod bytes;
pub(crate) mod cidr;
pub(crate) mod fold;
pub(crate) mod glob;
pub(crate) mod literal;
pub(crate) mod number;
pub(crate) mod semver;
pub(crate) mod time;
