//! Bounds that keep decoding of untrusted files linear in memory and time.

/// Every allocation driven by a length read from the file is checked against these (and against
/// the bytes actually left) before it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes the codec layer may produce (real checkpoints are tens of KB; an lz4 bomb is not).
    pub max_decompressed: usize,
    /// Objects, arrays and class descriptors open on the parser's recursion stack (real files: ~25).
    pub max_depth: usize,
    /// Entries in the handle arena (real files: ~300).
    pub max_entries: usize,
    /// Elements in one array (also bounded by the bytes left).
    pub max_array_len: usize,
    /// Fields in one class descriptor (the format allows 65535).
    pub max_fields: usize,
    /// JSON nodes when rendering the raw object tree (shared references expand).
    pub max_tree_nodes: usize,
    /// Items the Spark view collects in one list (streams, ranges, conf pairs).
    pub max_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: 256 << 20,
            max_depth: 200,
            max_entries: 2_000_000,
            max_array_len: 16_000_000,
            max_fields: 4096,
            max_tree_nodes: 200_000,
            max_items: 1_000_000,
        }
    }
}
