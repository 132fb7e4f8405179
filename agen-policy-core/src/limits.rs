//! Bounds on what a document and a request may hold (SPEC §5).

/// Bounds on documents and requests. Loading beyond one fails with `limit_exceeded`; a request
/// beyond one fails with `invalid_request`.
///
/// ```
/// let mut limits = agen_policy_core::Limits::default();
/// limits.max_policies = 10_000;
/// assert_eq!(limits.max_rules, 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Size of the document text in bytes. Default 64 MiB.
    pub max_document_bytes: usize,
    /// Nesting depth of the document's JSON (arrays and objects). Default 64; a valid document
    /// needs 8. At most 128 is honoured (the JSON parser's own bound).
    pub max_document_depth: usize,
    /// Number of policies. Default 1,000,000.
    pub max_policies: usize,
    /// Number of tools of one connector. Default 10,000.
    pub max_tools_per_connector: usize,
    /// Rules of one targeting. Default 64.
    pub max_rules: usize,
    /// Conditions of one rule. Default 64.
    pub max_conditions: usize,
    /// Values of one condition. Default 10,000.
    pub max_values: usize,
    /// Length in bytes of one `matches` pattern or `regex` source. Default 4,096.
    pub max_pattern_bytes: usize,
    /// Size in bytes of one compiled regular expression (the `regex` crate's size limit).
    /// Default 1 MiB.
    pub max_regex_compiled_bytes: usize,
    /// Size in bytes of all the compiled regular expressions of a document (each distinct
    /// pattern once; one refused as too large counts `max_regex_compiled_bytes`). Bounds the
    /// time loading spends compiling them. Default 32 MiB.
    pub max_regex_total_bytes: usize,
    /// Dot-separated segments of an attribute name. Default 32.
    pub max_attribute_segments: usize,
    /// Nesting depth of a request's `context`: the context object is level 1, an object or list
    /// inside it level 2, and so on. Default 32.
    pub max_context_depth: usize,
    /// Size of a request's JSON text in bytes. Default 1 MiB.
    pub max_request_bytes: usize,
    /// Total bytes of all strings of a request (ids, group claims, context keys and values,
    /// evidence), however it was built. Default 1 MiB.
    pub max_request_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 64 * 1024 * 1024,
            max_document_depth: 64,
            max_policies: 1_000_000,
            max_tools_per_connector: 10_000,
            max_rules: 64,
            max_conditions: 64,
            max_values: 10_000,
            max_pattern_bytes: 4096,
            max_regex_compiled_bytes: 1024 * 1024,
            max_regex_total_bytes: 32 * 1024 * 1024,
            max_attribute_segments: 32,
            max_context_depth: 32,
            max_request_bytes: 1024 * 1024,
            max_request_string_bytes: 1024 * 1024,
        }
    }
}
