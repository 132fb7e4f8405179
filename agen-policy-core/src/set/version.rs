//! A policy set's version: the content hash of its document, which every decision carries.

use crate::model::Document;

/// SHA-256 of the document's canonical JSON, in lower-case hex. The JSON is streamed into the
/// hash, never held in memory.
pub(super) fn content_hash(document: &Document) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;

    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    // Buffered: serde_json writes token by token, the hash is fastest fed in large blocks.
    let mut writer = std::io::BufWriter::with_capacity(1 << 16, Hashing(Sha256::new()));
    // Serializing plain data into a writer that cannot fail cannot fail.
    let _ = serde_json::to_writer(&mut writer, document);
    let _ = std::io::Write::flush(&mut writer);
    let (hashing, _) = writer.into_parts();
    hashing
        .0
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}
