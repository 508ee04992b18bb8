//! Shared test helpers.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

/// Loads a corpus file: LF line ends become CRLF, `{{binary}}` becomes non-UTF-8 bytes and
/// `{{auto}}` the real body length (the files are retyped, so lengths are computed).
#[allow(dead_code)]
pub fn load(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/torture/{name}.sip", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = text.replace('\n', "\r\n");
    let mut bytes = Vec::new();
    let mut parts = text.split("{{binary}}");
    bytes.extend_from_slice(parts.next().unwrap().as_bytes());
    for p in parts {
        bytes.extend_from_slice(&[0x30, 0x82, 0x00, 0xff, 0xfe, 0x80, 0x0d, 0x0a, 0xc3]);
        bytes.extend_from_slice(p.as_bytes());
    }
    let marker = b"{{auto}}";
    if let Some(at) = bytes.windows(marker.len()).position(|w| w == marker) {
        let body_at = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let body_len = bytes.len() - body_at;
        let len = body_len.to_string();
        // Replacing the marker shifts nothing after the head's end: it is in the head.
        bytes.splice(at..at + marker.len(), len.bytes());
    }
    bytes
}
