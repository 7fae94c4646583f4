//! The few primitives of the sorted runs commands keep in temporary files (a lookup's matches,
//! a hunt's detections): little-endian integers and length-prefixed strings, written and read
//! back by the same process only, so no version or portability is involved.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// A new anonymous temporary file (the operating system deletes it when it is closed),
/// buffered for writing.
pub fn temp_writer() -> io::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(1 << 16, tempfile::tempfile()?))
}

/// What `writer` wrote, flushed and rewound, buffered for reading from the start.
pub fn rewound(writer: BufWriter<File>) -> io::Result<BufReader<File>> {
    let mut file = writer
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(BufReader::with_capacity(1 << 16, file))
}

/// Writes `v`, 8 bytes.
pub fn put_u64(w: &mut impl Write, v: u64) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

/// Writes `s`, its length first.
pub fn put_str(w: &mut impl Write, s: &str) -> io::Result<()> {
    put_u64(w, s.len() as u64)?;
    w.write_all(s.as_bytes())
}

/// Writes a flag, then `s` if there is one.
pub fn put_opt(w: &mut impl Write, s: Option<&str>) -> io::Result<()> {
    match s {
        None => w.write_all(&[0]),
        Some(s) => {
            w.write_all(&[1])?;
            put_str(w, s)
        }
    }
}

/// Reads what [`put_u64`] wrote.
pub fn get_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Reads one byte (a tag or flag).
pub fn get_u8(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

/// Reads what [`put_str`] wrote.
pub fn get_str(r: &mut impl Read) -> io::Result<String> {
    let len = usize::try_from(get_u64(r)?).map_err(|_| io::Error::other("run: length overflow"))?;
    let mut b = vec![0u8; len];
    r.read_exact(&mut b)?;
    String::from_utf8(b).map_err(|_| io::Error::other("run: not UTF-8"))
}

/// Reads what [`put_opt`] wrote.
pub fn get_opt(r: &mut impl Read) -> io::Result<Option<String>> {
    match get_u8(r)? {
        0 => Ok(None),
        _ => get_str(r).map(Some),
    }
}
