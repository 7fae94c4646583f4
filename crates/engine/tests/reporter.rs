//! The engine reports through the caller's `Reporter` and prints nothing: a broken object is
//! a problem the reporter hears about (named), the scan goes on, and the counts say so.

use std::fs;
use std::path::Path;
use std::sync::Mutex;

use trailscan_engine::{Reporter, Source, SourceOptions};
use trailscan_query::{FnSink, LookupRequest, Match, RecordSink};

/// What a reporter heard.
#[derive(Default)]
struct Heard {
    listed: Mutex<Vec<String>>,
    scanning: Mutex<Option<(u64, u64)>>,
    more: Mutex<(u64, u64)>,
    objects: Mutex<u64>,
    problems: Mutex<Vec<String>>,
}

impl Reporter for Heard {
    fn listing(&self, what: &str) {
        self.listed.lock().unwrap().push(what.to_string());
    }
    fn scanning(&self, objects: u64, bytes: u64) {
        *self.scanning.lock().unwrap() = Some((objects, bytes));
    }
    fn more_to_scan(&self, objects: u64, bytes: u64) {
        let mut more = self.more.lock().unwrap();
        more.0 += objects;
        more.1 += bytes;
    }
    fn object_done(&self, _bytes: u64, _events: u64, _matched: u64) {
        *self.objects.lock().unwrap() += 1;
    }
    fn problem(&self, message: &dyn std::fmt::Display) {
        self.problems.lock().unwrap().push(message.to_string());
    }
}

/// Keeps every record.
fn every(_: &Match<'_, '_, '_>) -> bool {
    true
}

/// A day folder of the sample archive (123456789012, eu-west-1, 2024-01-02) copied, with one
/// log file's bytes replaced by text that is not gzip.
const DAY: &str = "AWSLogs/123456789012/CloudTrail/eu-west-1/2024/01/02";

fn archive_with_a_broken_file(root: &Path) -> (usize, String) {
    let day = DAY;
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sample-archive")
        .join(day);
    let to = root.join(day);
    fs::create_dir_all(&to).unwrap();
    let mut names: Vec<_> = fs::read_dir(&from)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for name in &names {
        fs::copy(from.join(name), to.join(name)).unwrap();
    }
    let broken = names[0].to_string_lossy().to_string();
    fs::write(to.join(&broken), b"not gzip").unwrap();
    (names.len(), broken)
}

#[test]
fn a_broken_object_is_reported_to_the_reporter_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (files, broken) = archive_with_a_broken_file(dir.path());
    assert!(files > 1, "the sample's day folder holds several log files");
    let heard = Heard::default();
    let source = Source::open(&SourceOptions::new(dir.path().to_str().unwrap()), &heard).unwrap();
    let request = LookupRequest::default();
    let (objects, index_use) = source.objects_to_read(&request).unwrap();
    assert_eq!((objects.len(), index_use), (files, None));
    let (_, stats) = source
        .scan(&*objects, &request, false, || FnSink(every), |a, _| Ok(a))
        .unwrap();
    assert_eq!(heard.listed.lock().unwrap().len(), 1);
    assert_eq!(
        heard.scanning.lock().unwrap().map(|s| s.0),
        Some(files as u64)
    );
    assert_eq!(*heard.objects.lock().unwrap(), files as u64);
    let problems = heard.problems.lock().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains(&broken),
        "the problem names the object: {}",
        problems[0]
    );
    assert_eq!(
        (stats.objects_failed, stats.objects_read),
        (1, files as u64 - 1)
    );
    assert_eq!(source.problems(&stats), 1);
}

#[test]
fn a_source_read_as_it_is_listed_gives_the_same_answer_and_the_same_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (files, broken) = archive_with_a_broken_file(dir.path());
    let options = SourceOptions::new(dir.path().to_str().unwrap());
    let request = LookupRequest::default();
    let ids = |source: &mut Source<'_>| {
        let new_sink = || IdSink(Vec::new());
        let merge = |mut a: IdSink, b: IdSink| {
            a.0.extend(b.0);
            Ok(a)
        };
        let read = source.read(&request, None, None, new_sink, merge).unwrap();
        let scanned = read.unwrap_or_else(|never: std::convert::Infallible| match never {});
        let mut ids = scanned.sink.0;
        ids.sort();
        (ids, scanned.stats)
    };
    let (listed_ids, listed_stats) = ids(&mut Source::open(&options, &Heard::default()).unwrap());
    let heard = Heard::default();
    let mut streamed = Source::open_streaming(&options, &heard).unwrap();
    assert_eq!(
        streamed.listing.objects_listed, 0,
        "nothing listed before the read"
    );
    let (streamed_ids, streamed_stats) = ids(&mut streamed);
    assert!(listed_ids.len() > 10, "{listed_ids:?}");
    assert_eq!(streamed_ids, listed_ids);
    assert_eq!(streamed_stats, listed_stats);
    // What the listing found is known once read; no object is kept.
    assert_eq!(streamed.listing.objects_listed, files as u64);
    assert!(streamed.listing.objects.is_empty());
    let listed_bytes: u64 = fs::read_dir(dir.path().join(DAY))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(*heard.more.lock().unwrap(), (files as u64, listed_bytes));
    assert_eq!(*heard.objects.lock().unwrap(), files as u64);
    let problems = heard.problems.lock().unwrap();
    assert!(
        problems.len() == 1 && problems[0].contains(&broken),
        "{problems:?}"
    );
    assert_eq!(streamed.problems(&streamed_stats), 1);
    // A folder that is not an archive is refused by the read, as by an open.
    let empty = tempfile::tempdir().unwrap();
    let mut source =
        Source::open_streaming(&SourceOptions::new(empty.path().to_str().unwrap()), &heard)
            .unwrap();
    let error = source
        .read(&request, None, None, || FnSink(every), |a, _| Ok(a))
        .err()
        .expect("refused");
    assert!(
        error.to_string().starts_with("no AWSLogs/ folder under "),
        "{error}"
    );
}

/// Keeps each match's eventID.
struct IdSink(Vec<String>);

impl RecordSink for IdSink {
    type Error = std::convert::Infallible;
    fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Self::Error> {
        self.0
            .push(m.record.event_id().unwrap_or_default().to_string());
        Ok(true)
    }
}

#[test]
fn a_folder_without_awslogs_is_not_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let error = Source::open(
        &SourceOptions::new(dir.path().to_str().unwrap()),
        &trailscan_engine::Silent,
    )
    .err()
    .expect("refused");
    assert!(
        error.to_string().starts_with("no AWSLogs/ folder under "),
        "{error}"
    );
}
