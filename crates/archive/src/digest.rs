//! SHA-256 of objects as stored: what a manifest records and a shard's summary checks.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The size and lowercase hex SHA-256 of everything `reader` yields, read in 1 MiB pieces.
pub fn sha256_stream(reader: &mut dyn Read) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((total, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_and_bytes_agree() {
        let data = vec![7u8; 3 << 20];
        let (n, hex) = sha256_stream(&mut data.as_slice()).unwrap();
        assert_eq!((n, hex), (data.len() as u64, sha256_hex(&data)));
    }
}
