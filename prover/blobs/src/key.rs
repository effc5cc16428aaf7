//! Key rules shared by every store (a key is also a relative file path for [`crate::FsBlobStore`]).

use crate::BlobError;

/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 200;

/// Checks `key`: 1 to 200 characters of `[A-Za-z0-9._/-]`, relative, no empty, `.` or `..` segment.
pub fn validate_key(key: &str) -> Result<(), BlobError> {
    let bad = |reason| Err(BlobError::BadKey { key: key.to_string(), reason });
    if key.is_empty() {
        return bad("the key is empty");
    }
    if key.len() > MAX_KEY_LEN {
        return bad("the key is longer than 200 characters");
    }
    if !key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-')) {
        return bad("the key holds a character outside [A-Za-z0-9._/-]");
    }
    if key.starts_with('/') {
        return bad("the key starts with '/'");
    }
    if key.contains("..") {
        return bad("the key contains \"..\"");
    }
    if key.split('/').any(|seg| seg.is_empty() || seg == ".") {
        return bad("the key has an empty or \".\" segment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_key;

    #[test]
    fn keys() {
        for ok in ["a", "traces/batch-000001.bin", "proofs/agg/l1_1-2.proof", "A.b-c_d"] {
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(201);
        for bad in ["", "/abs", "../x", "a/../b", "a..b", "a//b", "a/", "./a", "a b", "a\\b", "é", long.as_str()] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
        assert!(validate_key(&"x".repeat(200)).is_ok());
    }
}
