//! The `agen-policy` command.
fn main() {}
