//! The manifest of a copy too large to hold: read an entry at a time, gathered with the run's
//! new entries into sorted runs on disk, and written back merged, byte for byte as
//! [`Manifest::to_text`] writes the whole document. Memory holds one run's entries (and, to
//! resume, [`KnownHashes`]: 48 bytes per object recorded), however many objects the copy has.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::manifest::{AcquisitionRun, Manifest, ManifestEntry, ManifestError};

/// Entries sorted and written out at a time: about a megabyte of memory.
const RUN_ENTRIES: usize = 4096;

/// Runs of one size merged into one when there are this many: few files open at once, and
/// each entry rewritten once per sixteen-fold growth.
const FAN_IN: usize = 16;

/// Reads a manifest an entry at a time: `each` is given every object's key and entry, checked
/// as [`Manifest::parse`] checks them; returns the rest (the source and the runs), without
/// objects.
pub fn read_streaming(
    reader: impl Read,
    each: &mut dyn FnMut(String, ManifestEntry),
) -> Result<Manifest, ManifestError> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let head = Head { each }
        .deserialize(&mut de)
        .and_then(|head| de.end().map(|()| head))
        .map_err(|e| ManifestError(e.to_string()))?;
    head.map_err(ManifestError)
}

/// The document's top level; its objects go to `each` as they are read.
struct Head<'e> {
    each: &'e mut dyn FnMut(String, ManifestEntry),
}

impl<'de> DeserializeSeed<'de> for Head<'_> {
    /// The head, or why an entry is refused (a `sha256` that is not one).
    type Value = Result<Manifest, String>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Head<'_> {
    type Value = Result<Manifest, String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a trailscan manifest")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut source, mut runs, mut objects) = (None, Vec::new(), false);
        let mut refused = None;
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "source" => source = Some(map.next_value::<String>()?),
                "runs" => runs = map.next_value::<Vec<AcquisitionRun>>()?,
                "objects" => {
                    objects = true;
                    map.next_value_seed(Objects {
                        each: &mut *self.each,
                        refused: &mut refused,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = |field| <A::Error as serde::de::Error>::missing_field(field);
        let source = source.ok_or_else(|| missing("source"))?;
        if !objects {
            return Err(missing("objects"));
        }
        Ok(match refused {
            Some(why) => Err(why),
            None => Ok(Manifest {
                source,
                runs,
                objects: Default::default(),
            }),
        })
    }
}

/// The `objects` map, an entry at a time.
struct Objects<'a, 'e> {
    each: &'a mut (dyn FnMut(String, ManifestEntry) + 'e),
    refused: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Objects<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Objects<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of object keys to entries")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some((key, entry)) = map.next_entry::<String, ManifestEntry>()? {
            if self.refused.is_none() {
                match entry.check(&key) {
                    Ok(()) => (self.each)(key, entry),
                    Err(why) => *self.refused = Some(why),
                }
            }
        }
        Ok(())
    }
}

/// The SHA-256 each object recorded in a manifest had, by key: what a resumed copy compares
/// the files it holds with. Keys are kept as the first 16 bytes of their own SHA-256, so that
/// memory is 48 bytes an object, not the key's length.
#[derive(Default)]
pub struct KnownHashes(HashMap<[u8; 16], [u8; 32]>);

impl KnownHashes {
    fn name(key: &str) -> [u8; 16] {
        let digest = Sha256::digest(key.as_bytes());
        let mut name = [0; 16];
        name.copy_from_slice(&digest[..16]);
        name
    }

    /// Records `entry`'s hash for `key` (an entry that is no hash is not recorded).
    pub fn insert(&mut self, key: &str, entry: &ManifestEntry) {
        let mut hash = [0; 32];
        if hex::decode_to_slice(&entry.sha256, &mut hash).is_ok() {
            self.0.insert(Self::name(key), hash);
        }
    }

    /// The recorded SHA-256 of `key`, lowercase hex.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.get(&Self::name(key)).map(hex::encode)
    }
}

/// Manifest entries gathered in any order, sorted into runs of [`RUN_ENTRIES`] on disk under
/// a folder of their own (removed when dropped); of the entries pushed for one key, the last
/// pushed is kept.
pub struct SortedRuns {
    dir: PathBuf,
    buffer: Vec<(String, ManifestEntry)>,
    /// The runs written, oldest first (a later run's entry wins), each with its level: how
    /// many merges it went through.
    runs: Vec<(u32, PathBuf)>,
    written: usize,
}

impl SortedRuns {
    /// Runs kept in `dir`, made at the first run written (a copy that needs none, or on a
    /// filesystem that takes no more, makes none); an earlier, interrupted run's files there
    /// are removed.
    pub fn new(dir: PathBuf) -> SortedRuns {
        let _ = fs::remove_dir_all(&dir);
        SortedRuns {
            dir,
            buffer: Vec::new(),
            runs: Vec::new(),
            written: 0,
        }
    }

    /// Adds an entry.
    pub fn push(&mut self, key: String, entry: ManifestEntry) -> io::Result<()> {
        self.buffer.push((key, entry));
        if self.buffer.len() >= RUN_ENTRIES {
            self.spill()?;
        }
        Ok(())
    }

    fn new_run_path(&mut self) -> PathBuf {
        self.written += 1;
        self.dir.join(format!("{:06}.jsonl", self.written))
    }

    /// The buffer sorted by key, a key's last entry kept.
    fn take_sorted(&mut self) -> Vec<(String, ManifestEntry)> {
        // Stable: of a key's entries, the last pushed stays last, and is the one kept.
        self.buffer.sort_by(|a, b| a.0.cmp(&b.0));
        let mut run: Vec<(String, ManifestEntry)> = Vec::with_capacity(self.buffer.len());
        for (key, entry) in self.buffer.drain(..) {
            match run.last_mut() {
                Some((last, kept)) if *last == key => *kept = entry,
                _ => run.push((key, entry)),
            }
        }
        run
    }

    /// Writes the buffer as a run, then merges the newest runs while [`FAN_IN`] of them have
    /// the same level.
    fn spill(&mut self) -> io::Result<()> {
        let run = self.take_sorted();
        fs::create_dir_all(&self.dir)?;
        let path = self.new_run_path();
        write_run(&path, run.into_iter().map(Ok))?;
        self.runs.push((0, path));
        while self.runs.len() >= FAN_IN {
            let level = self.runs[self.runs.len() - 1].0;
            let newest = &self.runs[self.runs.len() - FAN_IN..];
            if newest.iter().any(|(l, _)| *l != level) {
                break;
            }
            let merged: Vec<PathBuf> = self
                .runs
                .drain(self.runs.len() - FAN_IN..)
                .map(|(_, p)| p)
                .collect();
            let path = self.new_run_path();
            let runs = merged
                .iter()
                .map(|p| read_run(p))
                .collect::<io::Result<_>>()?;
            write_run(&path, Merged::new(runs)?)?;
            for done in merged {
                fs::remove_file(done)?;
            }
            self.runs.push((level + 1, path));
        }
        Ok(())
    }

    /// Writes `head` (the source and the runs; its objects are not read) and every entry
    /// pushed, in key order, as [`Manifest::to_text`] writes a manifest; returns how many
    /// objects it holds.
    pub fn write_merged(mut self, head: &Manifest, out: impl Write) -> io::Result<u64> {
        // The last entries, the newest, are merged from memory.
        let mut runs: Vec<Entries> = (self.runs.iter())
            .map(|(_, p)| read_run(p))
            .collect::<io::Result<_>>()?;
        runs.push(Box::new(self.take_sorted().into_iter().map(Ok)));
        let merged = Merged::new(runs)?;
        let streamed = Streamed {
            head,
            objects: RefCell::new(Some(merged)),
            failed: RefCell::new(None),
            count: Cell::new(0),
        };
        let mut out = BufWriter::new(out);
        serde_json::to_writer_pretty(&mut out, &streamed)?;
        if let Some(e) = streamed.failed.into_inner() {
            return Err(e);
        }
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(streamed.count.into_inner())
    }
}

impl Drop for SortedRuns {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn write_run(
    path: &Path,
    entries: impl Iterator<Item = io::Result<(String, ManifestEntry)>>,
) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for entry in entries {
        serde_json::to_writer(&mut out, &entry?)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// A run's entries, in key order.
type Entries = Box<dyn Iterator<Item = io::Result<(String, ManifestEntry)>>>;

/// The entries of a run written by [`write_run`].
fn read_run(path: &Path) -> io::Result<Entries> {
    let lines = BufReader::new(File::open(path)?).lines();
    Ok(Box::new(lines.map(|line| {
        serde_json::from_str::<(String, ManifestEntry)>(&line?).map_err(io::Error::from)
    })))
}

/// The entries of sorted runs in key order, a key's entry taken from the newest run holding
/// it.
struct Merged {
    runs: Vec<Entries>,
    /// Each run's next entry, by key then newest run first.
    next: BinaryHeap<Reverse<(String, Reverse<usize>)>>,
    entries: Vec<Option<ManifestEntry>>,
}

impl Merged {
    /// The merge of `runs`, oldest first.
    fn new(runs: Vec<Entries>) -> io::Result<Merged> {
        let mut merged = Merged {
            entries: runs.iter().map(|_| None).collect(),
            runs,
            next: BinaryHeap::new(),
        };
        for n in 0..merged.runs.len() {
            merged.advance(n)?;
        }
        Ok(merged)
    }

    /// Reads run `n`'s next entry into the heap.
    fn advance(&mut self, n: usize) -> io::Result<()> {
        if let Some(read) = self.runs[n].next() {
            let (key, entry) = read?;
            self.entries[n] = Some(entry);
            self.next.push(Reverse((key, Reverse(n))));
        }
        Ok(())
    }

    fn next_entry(&mut self) -> io::Result<Option<(String, ManifestEntry)>> {
        let Some(Reverse((key, Reverse(n)))) = self.next.pop() else {
            return Ok(None);
        };
        let entry = self.entries[n].take().expect("read with its key");
        self.advance(n)?;
        // Older runs' entries of the same key are passed over.
        while let Some(Reverse((k, Reverse(older)))) = self.next.peek() {
            if *k != key {
                break;
            }
            let older = *older;
            self.next.pop();
            self.entries[older] = None;
            self.advance(older)?;
        }
        Ok(Some((key, entry)))
    }
}

impl Iterator for Merged {
    type Item = io::Result<(String, ManifestEntry)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// A manifest serialized with its objects taken from a merge as they are written.
struct Streamed<'h> {
    head: &'h Manifest,
    objects: RefCell<Option<Merged>>,
    failed: RefCell<Option<io::Error>>,
    count: Cell<u64>,
}

impl Serialize for Streamed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut doc = serializer.serialize_struct("Manifest", 3)?;
        doc.serialize_field("source", &self.head.source)?;
        if !self.head.runs.is_empty() {
            doc.serialize_field("runs", &self.head.runs)?;
        }
        doc.serialize_field("objects", &StreamedObjects(self))?;
        doc.end()
    }
}

struct StreamedObjects<'s, 'h>(&'s Streamed<'h>);

impl Serialize for StreamedObjects<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let merged = self.0.objects.borrow_mut().take();
        let entries = merged.into_iter().flatten().map_while(|read| match read {
            Ok(entry) => {
                self.0.count.set(self.0.count.get() + 1);
                Some(entry)
            }
            Err(e) => {
                // Said after the document: serde cannot carry an io::Error through.
                self.0.failed.borrow_mut().get_or_insert(e);
                None
            }
        });
        serializer.collect_map(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8) -> ManifestEntry {
        ManifestEntry {
            size: u64::from(n),
            sha256: format!("{n:02x}").repeat(32),
            etag: None,
            last_modified: None,
        }
    }

    /// Many runs (merged a level up where sixteen are written) give the document the whole
    /// manifest gives, a key's last entry kept; reading it back an entry at a time gives the
    /// same entries, and an entry that is no hash is refused as `parse` refuses it.
    #[test]
    fn merged_runs_write_what_the_whole_manifest_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut runs = SortedRuns::new(dir.path().join("runs"));
        let mut whole = Manifest {
            source: "s3://b".into(),
            runs: vec![AcquisitionRun::default()],
            ..Manifest::default()
        };
        let total = RUN_ENTRIES * (FAN_IN + 2) + 5;
        for i in 0..total {
            // Keys in no order, and every tenth one pushed again later with another entry.
            let key = format!("AWSLogs/{:08}", (i * 7919) % (total / 2 + 1));
            let e = entry((i % 251) as u8);
            runs.push(key.clone(), e.clone()).unwrap();
            whole.objects.insert(key, e);
        }
        let mut text = Vec::new();
        let count = runs.write_merged(&whole, &mut text).unwrap();
        assert_eq!(count, whole.objects.len() as u64);
        assert_eq!(String::from_utf8(text.clone()).unwrap(), whole.to_text());
        assert!(!dir.path().join("runs").exists(), "the runs are removed");

        let mut read = Vec::new();
        let head = read_streaming(&text[..], &mut |k, e| read.push((k, e))).unwrap();
        assert_eq!((head.source.as_str(), head.runs.len()), ("s3://b", 1));
        assert!(read.into_iter().eq(whole.objects.clone()));

        let bad = r#"{"source":"s3://b","objects":{"k":{"size":1,"sha256":"XYZ"}}}"#;
        let refused = read_streaming(bad.as_bytes(), &mut |_, _| {}).unwrap_err();
        assert_eq!(refused, Manifest::parse(bad).unwrap_err());
        assert!(read_streaming(&b"{\"source\":\"s\"}"[..], &mut |_, _| {}).is_err());
    }

    #[test]
    fn known_hashes_give_back_the_recorded_hash() {
        let mut known = KnownHashes::default();
        known.insert("a", &entry(7));
        assert_eq!(known.get("a"), Some("07".repeat(32)));
        assert_eq!(known.get("b"), None);
    }
}
