//! Python bindings of the agen policy engine (placeholder).
