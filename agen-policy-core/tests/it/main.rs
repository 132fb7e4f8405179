//! Integration tests of `agen-policy-core`: one binary, one module per concern.

mod alloc;
mod conformance;
mod limits;
mod reload;
