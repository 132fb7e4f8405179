//! Integration tests of `agen-policy-core`: one binary, one module per concern.

mod alloc;
mod conformance;
mod generators;
mod hostile;
mod limits;
mod props;
mod reference;
mod reload;
