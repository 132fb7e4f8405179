//! Integration tests of `agen-policy-core`: one binary, one module per concern.

mod alloc;
mod analysis;
mod conformance;
mod evidence;
mod generators;
mod hostile;
mod limits;
mod messages;
mod props;
mod reference;
mod reload;
mod view;
