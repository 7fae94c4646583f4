//! The parallel scan: objects over all cores, one worker with its own buffers per thread.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex, PoisonError};

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use trailscan_archive::inflate::inflate_gzip;
use trailscan_archive::{ObjectInfo, ObjectRef, ObjectStore, StoreError};
use trailscan_records::{has_log_file_outline, split_records, RecordParser};

use crate::clause_search::Candidates;
use crate::prefilter::Prefilter;
use crate::problem::ObjectProblem;
use crate::request::LookupRequest;
use crate::sink::{Match, RecordSink};

/// Records of a file the prefilter looks at before the scan judges whether it is worth its cost
/// for the rest of the file.
const PREFILTER_TRIAL: u32 = 32;

/// How to scan.
pub struct ScanOptions<'a> {
    /// Where the objects are read from.
    pub source: &'a dyn ObjectStore,
    /// The threads to scan on (one worker per pool thread).
    pub pool: &'a rayon::ThreadPool,
    /// Objects fetched at once by fetchers of their own, ahead of the workers: for a store
    /// across a network, where a request waits a round trip and the CPU should not. 0: each
    /// worker reads its object itself (a folder on disk).
    pub requests_in_flight: usize,
    /// Cap on one object's inflated size.
    pub max_inflated_bytes: u64,
    /// Cap on one record's size: a larger record is skipped and reported before it is parsed
    /// (CloudTrail writes records of kilobytes; a huge one costs its size several times over
    /// in memory, once parsed, compacted and printed).
    pub max_record_bytes: u64,
    /// Whether to hash each object as stored (SHA-256, what its digest file lists), for
    /// sinks that record where each match came from ([`Match::object_sha256`]).
    pub hash_objects: bool,
    /// The prefilter, where the request's attributes do not say it: text it rules out is
    /// never parsed. `None`: the request's ([`Prefilter::new`]).
    pub prefilter: Option<&'a Prefilter>,
    /// Called once per problem with an object, from whichever thread found it.
    pub report: &'a (dyn Fn(&ObjectRef, &ObjectProblem) + Sync),
    /// Called once per object when it is done, from whichever thread scanned it: for a
    /// progress display. Once per object, never per record.
    pub progress: Option<&'a (dyn Fn(&ObjectScanned) + Sync)>,
}

/// What one object added to a scan, for [`ScanOptions::progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectScanned {
    /// The object's size as listed (whether or not it could be read).
    pub listed_bytes: u64,
    /// Records it holds.
    pub records: u64,
    /// Records that passed every filter.
    pub matched: u64,
}

/// What a scan did, summed over objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanStats {
    /// Objects handed to the scan.
    pub objects: u64,
    /// Objects read and inflated.
    pub objects_read: u64,
    /// Objects that could not be read, inflated or split.
    pub objects_failed: u64,
    /// Objects read whose inflated text the prefilter ruled out, without parsing.
    pub objects_ruled_out: u64,
    /// Objects read with some problem (trailing data, bad records).
    pub objects_with_problems: u64,
    /// Compressed bytes read.
    pub bytes_read: u64,
    /// Bytes after inflating.
    pub bytes_inflated: u64,
    /// Records in the objects that were split into records.
    pub records: u64,
    /// Records parsed (candidates of the prefilter).
    pub records_parsed: u64,
    /// Records that passed every filter (before duplicate deliveries are dropped).
    pub records_matched: u64,
    /// Records skipped as invalid JSON or without `eventTime`.
    pub records_skipped: u64,
}

impl ScanStats {
    /// Adds another scan's counts.
    pub fn add(&mut self, o: &ScanStats) {
        self.objects += o.objects;
        self.objects_read += o.objects_read;
        self.objects_failed += o.objects_failed;
        self.objects_ruled_out += o.objects_ruled_out;
        self.objects_with_problems += o.objects_with_problems;
        self.bytes_read += o.bytes_read;
        self.bytes_inflated += o.bytes_inflated;
        self.records += o.records;
        self.records_parsed += o.records_parsed;
        self.records_matched += o.records_matched;
        self.records_skipped += o.records_skipped;
    }
}

/// What a record must be to reach the sink, compiled once per scan.
struct Wanted<'r> {
    request: &'r LookupRequest,
    prefilter: &'r Prefilter,
    max_record_bytes: u64,
}

/// A worker's buffers, reused for every object it scans.
#[derive(Default)]
struct Worker {
    compressed: Vec<u8>,
    compressed_sha256: Option<[u8; 32]>,
    inflated: Vec<u8>,
    spans: Vec<Range<usize>>,
    /// The prefilter's alternatives the record at hand may match.
    alternatives: Vec<usize>,
    parser: RecordParser,
}

enum Verdict<E> {
    NoTime,
    Rejected,
    Sunk(Result<bool, E>),
}

impl Worker {
    /// Scans one object into `sink`; returns whether the scan should go on.
    fn scan_object<S: RecordSink>(
        &mut self,
        object: &ObjectRef,
        fetched: Option<Result<(Vec<u8>, ObjectInfo), StoreError>>,
        wanted: &Wanted<'_>,
        options: &ScanOptions<'_>,
        sink: &mut S,
        stats: &mut ScanStats,
    ) -> Result<bool, S::Error> {
        stats.objects += 1;
        let fail = |stats: &mut ScanStats, sink: &mut S, problem: ObjectProblem| {
            stats.objects_failed += 1;
            sink.object_failed(object, &problem);
            (options.report)(object, &problem);
        };
        let read = match fetched {
            Some(fetched) => fetched.map(|(body, info)| {
                self.compressed = body;
                info
            }),
            None => options.source.read(&object.key, &mut self.compressed),
        };
        let info = match read {
            Ok(info) => info,
            Err(e) => {
                fail(stats, sink, ObjectProblem::read(&e));
                return Ok(true);
            }
        };
        let mut problems = Vec::new();
        // Verified as read: an object an index answered for was never listed by this run.
        if let Some(change) = object.change_seen_in(&info) {
            problems.push(ObjectProblem::Changed(change));
        }
        stats.bytes_read += self.compressed.len() as u64;
        self.compressed_sha256 = options
            .hash_objects
            .then(|| Sha256::digest(&self.compressed).into());
        let inflated = match inflate_gzip(
            &self.compressed,
            &mut self.inflated,
            options.max_inflated_bytes,
        ) {
            Ok(info) => info,
            Err(e) => {
                problems.iter().for_each(|p| (options.report)(object, p));
                fail(stats, sink, ObjectProblem::Inflate(e));
                return Ok(true);
            }
        };
        stats.bytes_inflated += self.inflated.len() as u64;
        if inflated.trailing_bytes > 0 {
            problems.push(ObjectProblem::TrailingData {
                bytes: inflated.trailing_bytes,
            });
        }
        let go_on = self.scan_records(object, wanted, sink, stats, &mut problems);
        if let Some(failure) = problems.iter().find(|p| p.is_failure()) {
            stats.objects_failed += 1;
            sink.object_failed(object, failure);
        } else {
            stats.objects_read += 1;
            stats.objects_with_problems += u64::from(!problems.is_empty());
        }
        for p in &problems {
            (options.report)(object, p);
        }
        go_on
    }

    fn scan_records<S: RecordSink>(
        &mut self,
        object: &ObjectRef,
        wanted: &Wanted<'_>,
        sink: &mut S,
        stats: &mut ScanStats,
        problems: &mut Vec<ObjectProblem>,
    ) -> Result<bool, S::Error> {
        let Wanted {
            request,
            prefilter,
            max_record_bytes,
        } = wanted;
        let max_record_bytes = *max_record_bytes;
        let text = &self.inflated[..];
        // A file without the needles cannot match; if it does not even look like a log file,
        // it goes on to the splitter, which reports what is wrong with it.
        if prefilter.is_active() && !prefilter.may_match(text) && has_log_file_outline(text) {
            stats.objects_ruled_out += 1;
            return Ok(true);
        }
        // No record can be over the cap, none is ruled out by its text, and the sink does not
        // read it: the file in one parse.
        if !sink.reads_text() && !prefilter.is_active() && text.len() as u64 <= max_record_bytes {
            let whole = self.scan_whole(object, request, sink, stats, problems);
            if let Some(go_on) = whole {
                return go_on;
            }
        }
        let text = &self.inflated[..];
        if let Err(e) = split_records(text, &mut self.spans) {
            problems.push(ObjectProblem::NotALogFile(e));
            return Ok(true);
        }
        stats.records += self.spans.len() as u64;
        let (mut invalid, mut untimed) = (None::<(u64, usize, String)>, None::<(u64, usize)>);
        let mut oversized = None::<(u64, usize, u64)>;
        // Records the prefilter let through, of those it looked at: a prefilter that lets
        // nearly all through (a hunt's rule wanting every assumed role) is worth less than
        // it costs, and the rest of the file is parsed without it (it only ever saves work).
        let (mut looked, mut passed) = (0u32, 0u32);
        for (index, span) in self.spans.iter().enumerate() {
            let raw = &text[span.clone()];
            // Before the prefilter: an oversized record is reported whatever is looked up.
            if raw.len() as u64 > max_record_bytes {
                stats.records_skipped += 1;
                oversized.get_or_insert((0, index, raw.len() as u64)).0 += 1;
                continue;
            }
            let worth_it = looked < PREFILTER_TRIAL || passed * 10 < looked * 9;
            let mut told = false;
            if prefilter.is_active() && worth_it {
                looked += 1;
                match prefilter.alternatives_in(raw, &mut self.alternatives) {
                    Candidates::None => continue,
                    Candidates::Some => told = true,
                    Candidates::All => {}
                }
                passed += 1;
            }
            let alternatives = told.then_some(&self.alternatives[..]);
            stats.records_parsed += 1;
            let verdict = self.parser.parse(raw, |record| {
                let Some(event_time) = record.event_time() else {
                    return Verdict::NoTime;
                };
                if !request.wants(&record, event_time) {
                    return Verdict::Rejected;
                }
                Verdict::Sunk(sink.record(&Match {
                    object,
                    object_sha256: self.compressed_sha256.as_ref(),
                    index,
                    record: &record,
                    event_time,
                    text: raw,
                    alternatives,
                }))
            });
            match verdict {
                Ok(Verdict::Sunk(result)) => {
                    stats.records_matched += 1;
                    if !result? {
                        return Ok(false);
                    }
                }
                Ok(Verdict::Rejected) => {}
                Ok(Verdict::NoTime) => {
                    stats.records_skipped += 1;
                    untimed.get_or_insert((0, index)).0 += 1;
                }
                Err(e) => {
                    stats.records_skipped += 1;
                    invalid.get_or_insert((0, index, e.to_string())).0 += 1;
                }
            }
        }
        if let Some((count, first_index, first_error)) = invalid {
            problems.push(ObjectProblem::InvalidRecords {
                count,
                first_index,
                first_error,
            });
        }
        if let Some((count, first_index, first_bytes)) = oversized {
            problems.push(ObjectProblem::OversizedRecords {
                count,
                first_index,
                first_bytes,
                cap: max_record_bytes,
            });
        }
        if let Some((count, first_index)) = untimed {
            problems.push(ObjectProblem::RecordsWithoutTime { count, first_index });
        }
        Ok(true)
    }

    /// [`Worker::scan_records`] with the whole file parsed at once: the same records, counts
    /// and problems. `None` where the file is not `{"Records": [objects]}` (then nothing was
    /// handed to the sink), for the splitter to say what is wrong.
    fn scan_whole<S: RecordSink>(
        &mut self,
        object: &ObjectRef,
        request: &LookupRequest,
        sink: &mut S,
        stats: &mut ScanStats,
        problems: &mut Vec<ObjectProblem>,
    ) -> Option<Result<bool, S::Error>> {
        let object_sha256 = self.compressed_sha256.as_ref();
        let (mut index, mut matched, mut untimed) = (0, 0, None::<(u64, usize)>);
        let mut sunk = Ok(true);
        let records = self.parser.parse_log_file(&self.inflated, |record| {
            let at = index;
            index += 1;
            let Some(event_time) = record.event_time() else {
                untimed.get_or_insert((0, at)).0 += 1;
                return true;
            };
            if !request.wants(&record, event_time) {
                return true;
            }
            matched += 1;
            sunk = sink.record(&Match {
                object,
                object_sha256,
                index: at,
                record: &record,
                event_time,
                text: &[],
                alternatives: None,
            });
            matches!(sunk, Ok(true))
        });
        // Not a log file's shape, and no record handed over: the splitter's turn.
        if records.is_none() && index == 0 {
            return None;
        }
        let seen = records.unwrap_or(index) as u64;
        stats.records += seen;
        stats.records_parsed += seen;
        stats.records_matched += matched;
        if let Some((count, first_index)) = untimed {
            stats.records_skipped += count;
            problems.push(ObjectProblem::RecordsWithoutTime { count, first_index });
        }
        Some(sunk)
    }
}

/// Objects fetched in one [`ObjectStore::read_each`] when they are streamed: the requests in
/// flight drain at the end of each, so it is many round trips' worth; with the listing's own
/// queue of folders, it is what is held of a streamed listing beside what the workers have
/// (a batch may pass it by one folder's objects).
const STREAMED_FETCH_BATCH: usize = 1024;

/// Runs `consume` over `objects` read by the store `options.requests_in_flight` at once
/// ([`ObjectStore::read_each`]), in the order they arrive, through a queue as long as the
/// workers are many: memory stays at about twice the requests in flight times an object's
/// size. Streamed objects are read a batch at a time, each with as many requests in flight as
/// the store then says (a store across a network sizes them from the round trips it has
/// timed, which the listing's requests time). The reading stops once `stop` is set.
fn fetched_ahead<'o, R>(
    objects: Objects<'o>,
    options: &ScanOptions<'_>,
    stop: &AtomicBool,
    consume: impl FnOnce(FetchedObjects<'o>) -> R,
) -> R {
    let (sender, receiver) = mpsc::sync_channel(options.pool.current_num_threads() * 2);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // Reads `batch`, each object named by `object(index)`; false once the scan ended.
            let read = |batch: &[ObjectRef],
                        requests: usize,
                        object: &dyn Fn(usize) -> Cow<'o, ObjectRef>| {
                let keys: Vec<&str> = batch.iter().map(|o| o.key.as_str()).collect();
                let mut going = !stop.load(Ordering::Relaxed);
                if !going || batch.is_empty() {
                    return going;
                }
                options
                    .source
                    .read_each(&keys, requests, false, &mut |index, fetched| {
                        let fetched = fetched.map(|f| (f.body, f.info));
                        // The consumer is gone only when the scan ended early.
                        going = !stop.load(Ordering::Relaxed)
                            && sender.send((object(index), fetched)).is_ok();
                        going
                    });
                going
            };
            match objects {
                Objects::Listed(all) => {
                    let requests = options.requests_in_flight;
                    read(all, requests, &|index| Cow::Borrowed(&all[index]));
                }
                Objects::Streamed(parts) => {
                    let mut batch = Vec::new();
                    for part in parts {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        batch.extend(part);
                        if batch.len() >= STREAMED_FETCH_BATCH {
                            let requests = options.source.requests_in_flight().max(1);
                            if !read(&batch, requests, &|i| Cow::Owned(batch[i].clone())) {
                                return;
                            }
                            batch.clear();
                        }
                    }
                    let requests = options.source.requests_in_flight().max(1);
                    read(&batch, requests, &|i| Cow::Owned(batch[i].clone()));
                }
            }
        });
        consume(receiver.into_iter())
    })
}

/// Objects with their bodies (or why not), as the store delivers them.
type FetchedObjects<'o> = mpsc::IntoIter<(
    Cow<'o, ObjectRef>,
    Result<(Vec<u8>, ObjectInfo), StoreError>,
)>;

/// The objects a scan reads.
pub enum Objects<'o> {
    /// Listed before the scan.
    Listed(&'o [ObjectRef]),
    /// Handed over a folder's objects at a time as a listing finds them
    /// ([`trailscan_archive::list_streaming`]): the scan starts at once, and holds only what is
    /// in flight, however many objects the listing finds. Ends when the sender is dropped.
    Streamed(mpsc::Receiver<Vec<ObjectRef>>),
}

impl<'o> From<&'o [ObjectRef]> for Objects<'o> {
    fn from(objects: &'o [ObjectRef]) -> Objects<'o> {
        Objects::Listed(objects)
    }
}

impl<'o> From<&'o Vec<ObjectRef>> for Objects<'o> {
    fn from(objects: &'o Vec<ObjectRef>) -> Objects<'o> {
        Objects::Listed(objects)
    }
}

/// What [`trailscan_archive::Listing`]'s planners hand out: the listing's own, or a selection.
impl<'o> From<&'o Cow<'_, [ObjectRef]>> for Objects<'o> {
    fn from(objects: &'o Cow<'_, [ObjectRef]>) -> Objects<'o> {
        Objects::Listed(objects)
    }
}

/// Scans `objects` in parallel. Each pool thread gets its own worker and sink (from
/// `new_sink`), taken once per object, never per record; at the end the sinks are combined
/// with `merge`, so the result does not depend on which thread scanned what as long as
/// `merge` is order-independent (as [`crate::NewestFirst::merge`] is).
pub fn scan<'o, S, N, M>(
    objects: impl Into<Objects<'o>>,
    request: &LookupRequest,
    options: &ScanOptions<'_>,
    new_sink: N,
    merge: M,
) -> Result<(S, ScanStats), S::Error>
where
    S: RecordSink + Send,
    N: Fn() -> S + Sync + Send,
    M: Fn(S, S) -> Result<S, S::Error>,
{
    let own;
    let prefilter = match options.prefilter {
        Some(given) => given,
        None => {
            own = Prefilter::new(&request.attributes);
            &own
        }
    };
    let wanted = Wanted {
        request,
        prefilter,
        max_record_bytes: options.max_record_bytes,
    };
    let stop = AtomicBool::new(false);
    let pool = options.pool;
    let slots: Vec<Mutex<Option<(Worker, S, ScanStats)>>> = (0..pool.current_num_threads())
        .map(|_| Mutex::new(None))
        .collect();
    // One object through the thread's own worker and sink; false once the scan should stop.
    let scan_one = |object: &ObjectRef,
                    fetched: Option<Result<(Vec<u8>, ObjectInfo), StoreError>>| {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let slot = &slots[rayon::current_thread_index().unwrap_or(0) % slots.len()];
        // Uncontended: only this thread takes its own slot.
        let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let (worker, sink, stats) =
            guard.get_or_insert_with(|| (Worker::default(), new_sink(), ScanStats::default()));
        let before = (stats.records, stats.records_matched);
        let go_on = worker
            .scan_object(object, fetched, &wanted, options, sink, stats)
            // The other workers, and a listing that streams, stop too.
            .inspect_err(|_| stop.store(true, Ordering::Relaxed))?;
        if let Some(progress) = options.progress {
            progress(&ObjectScanned {
                listed_bytes: object.size,
                records: stats.records - before.0,
                matched: stats.records_matched - before.1,
            });
        }
        if !go_on {
            stop.store(true, Ordering::Relaxed);
        }
        Ok(())
    };
    match (objects.into(), options.requests_in_flight) {
        (Objects::Listed(objects), 0) => pool.install(|| {
            objects
                .par_iter()
                // One job per object: log files differ a lot in size, so let rayon balance them.
                .with_max_len(1)
                .try_for_each(|object| scan_one(object, None))
        })?,
        (Objects::Streamed(parts), 0) => pool.install(|| {
            parts
                .into_iter()
                .flatten()
                // Once the scan stops, the listing's queue is let go: the walk lists no more.
                .take_while(|_| !stop.load(Ordering::Relaxed))
                .par_bridge()
                .try_for_each(|object| scan_one(&object, None))
        })?,
        (objects, _) => fetched_ahead(objects, options, &stop, |fetched| {
            pool.install(|| {
                fetched
                    .par_bridge()
                    .try_for_each(|(object, body)| scan_one(&object, Some(body)))
            })
        })?,
    }
    let mut total = ScanStats::default();
    let mut combined = new_sink();
    for slot in slots {
        if let Some((_, sink, stats)) = slot.into_inner().unwrap_or_else(PoisonError::into_inner) {
            total.add(&stats);
            combined = merge(combined, sink)?;
        }
    }
    Ok((combined, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use trailscan_archive::{MemoryStore, WriteMode};
    use trailscan_layout::Selection;
    use trailscan_records::EventTime;

    /// Records what it is handed: the object, the index and the eventID of each match.
    struct Seen {
        reads_text: bool,
        matches: Vec<(String, usize, Option<String>)>,
    }

    impl RecordSink for Seen {
        type Error = std::convert::Infallible;
        fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Self::Error> {
            let id = m.record.event_id().map(str::to_string);
            self.matches.push((m.object.key.clone(), m.index, id));
            Ok(true)
        }
        fn reads_text(&self) -> bool {
            self.reads_text
        }
    }

    fn gzip(text: &str) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn a_file_parsed_whole_gives_what_the_splitter_gives() {
        let event = |id: &str, time: &str| {
            format!(
                r#"{{"eventID":"{id}","eventTime":"{time}","eventName":"X","eventSource":"s3.amazonaws.com","eventType":"AwsApiCall","readOnly":true}}"#
            )
        };
        let files = [
            format!(
                r#"{{"Records":[{},{}]}}"#,
                event("a", "2024-01-15T01:00:00Z"),
                event("b", "2024-01-15T02:00:00Z")
            ),
            // Untimed records, and one outside the window.
            format!(
                r#"{{"Records":[{},{{"eventID":"u"}},{{"eventID":"v","eventTime":"x"}},{}]}}"#,
                event("c", "2024-01-15T03:00:00Z"),
                event("late", "2024-02-01T00:00:00Z")
            ),
            // A record that is not an object, one that is not JSON, another top-level key.
            format!(
                r#"{{"Records":[{},7]}}"#,
                event("d", "2024-01-15T04:00:00Z")
            ),
            format!(
                r#"{{"Records":[{},{{"eventID":]}}"#,
                event("e", "2024-01-15T05:00:00Z")
            ),
            format!(
                r#"{{"Records":[{}],"More":1}}"#,
                event("f", "2024-01-15T06:00:00Z")
            ),
            r#"{"Records":[]}"#.to_string(),
            "[1]".to_string(),
        ];
        let store = MemoryStore::new();
        for (n, text) in files.iter().enumerate() {
            let key = format!("AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/15/111111111111_CloudTrail_us-east-1_20240115T0{n}00Z_abc{n}.json.gz");
            store
                .write(&key, &gzip(text), None, WriteMode::Replace)
                .unwrap();
        }
        let objects = trailscan_archive::list(&store, &Selection::default())
            .unwrap()
            .objects;
        assert_eq!(objects.len(), files.len());
        let request = LookupRequest {
            end: Some(EventTime::from_secs(1_705_363_200)), // 2024-01-16
            ..LookupRequest::default()
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let run = |reads_text: bool| {
            let problems = Mutex::new(Vec::new());
            let report = |o: &ObjectRef, p: &ObjectProblem| {
                problems.lock().unwrap().push(format!("{}: {p}", o.key));
            };
            let options = ScanOptions {
                source: &store,
                pool: &pool,
                requests_in_flight: 0,
                max_inflated_bytes: 1 << 20,
                max_record_bytes: 1 << 20,
                hash_objects: false,
                prefilter: None,
                report: &report,
                progress: None,
            };
            let new_sink = || Seen {
                reads_text,
                matches: Vec::new(),
            };
            let merge = |mut a: Seen, b: Seen| {
                a.matches.extend(b.matches);
                Ok(a)
            };
            let (mut seen, stats) = scan(&objects, &request, &options, new_sink, merge).unwrap();
            seen.matches.sort();
            let mut problems = problems.into_inner().unwrap();
            problems.sort();
            (seen.matches, format!("{stats:?}"), problems)
        };
        let split = run(true);
        assert_eq!(split.0.len(), 4, "{:?}", split.0);
        assert_eq!(split.2.len(), 4, "{:?}", split.2);
        assert_eq!(run(false), split);
    }

    /// Options for the streamed scans' tests: no prefilter, no progress, a problem panics.
    fn streaming_options<'a>(
        store: &'a MemoryStore,
        pool: &'a rayon::ThreadPool,
        requests_in_flight: usize,
    ) -> ScanOptions<'a> {
        ScanOptions {
            source: store,
            pool,
            requests_in_flight,
            max_inflated_bytes: 1 << 20,
            max_record_bytes: 1 << 20,
            hash_objects: false,
            prefilter: None,
            report: &|_, p| panic!("{p}"),
            progress: None,
        }
    }

    #[test]
    fn a_streamed_scan_reads_each_part_as_it_comes() {
        let store = MemoryStore::new();
        for day in 15..18 {
            let text = format!(
                r#"{{"Records":[{{"eventID":"e{day}","eventTime":"2024-01-{day}T01:00:00Z","eventName":"X"}}]}}"#
            );
            let key = format!("AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/{day}/111111111111_CloudTrail_us-east-1_202401{day}T0100Z_abc.json.gz");
            store
                .write(&key, &gzip(&text), None, WriteMode::Replace)
                .unwrap();
        }
        let objects = trailscan_archive::list(&store, &Selection::default())
            .unwrap()
            .objects;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let request = LookupRequest::default();
        for requests_in_flight in [0, 2] {
            let scanned = std::sync::atomic::AtomicU64::new(0);
            let progress = |_: &ObjectScanned| {
                scanned.fetch_add(1, Ordering::SeqCst);
            };
            let options = ScanOptions {
                progress: Some(&progress),
                ..streaming_options(&store, &pool, requests_in_flight)
            };
            let (parts, streamed) = mpsc::sync_channel(1);
            let waited = std::thread::scope(|scope| {
                let listing = scope.spawn(|| {
                    parts.send(objects[..1].to_vec()).unwrap();
                    // Read from a disk, the first folder's object is scanned before the next
                    // folder is listed (across a network, batches of folders are fetched).
                    let started = std::time::Instant::now();
                    while requests_in_flight == 0 && scanned.load(Ordering::SeqCst) == 0 {
                        assert!(
                            started.elapsed().as_secs() < 30,
                            "the scan waited for the listing"
                        );
                        std::thread::yield_now();
                    }
                    parts.send(objects[1..].to_vec()).unwrap();
                    drop(parts);
                });
                let new_sink = || Seen {
                    reads_text: false,
                    matches: Vec::new(),
                };
                let merge = |mut a: Seen, b: Seen| {
                    a.matches.extend(b.matches);
                    Ok(a)
                };
                let found = scan(
                    Objects::Streamed(streamed),
                    &request,
                    &options,
                    new_sink,
                    merge,
                );
                listing.join().unwrap();
                found.unwrap()
            });
            let (mut seen, stats) = waited;
            seen.matches.sort();
            let ids: Vec<_> = seen.matches.iter().map(|m| m.2.clone().unwrap()).collect();
            assert_eq!(
                ids,
                ["e15", "e16", "e17"],
                "{requests_in_flight} requests in flight"
            );
            assert_eq!(stats.objects, 3);
        }
    }

    /// Fails on its first record.
    struct Failing;

    impl RecordSink for Failing {
        type Error = String;
        fn record(&mut self, _: &Match<'_, '_, '_>) -> Result<bool, Self::Error> {
            Err("the sink failed".into())
        }
    }

    #[test]
    fn a_failed_streamed_scan_lets_the_listing_go() {
        let store = MemoryStore::new();
        let text = r#"{"Records":[{"eventID":"e","eventTime":"2024-01-15T01:00:00Z"}]}"#;
        let key = "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/15/111111111111_CloudTrail_us-east-1_20240115T0100Z_abc.json.gz";
        store
            .write(key, &gzip(text), None, WriteMode::Replace)
            .unwrap();
        let object = trailscan_archive::list(&store, &Selection::default())
            .unwrap()
            .objects
            .remove(0);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for requests_in_flight in [0, 2] {
            let options = streaming_options(&store, &pool, requests_in_flight);
            let (parts, streamed) = mpsc::sync_channel(1);
            let sent = std::thread::scope(|scope| {
                // A listing far longer than the scan wants: it must be let go, not wait.
                let listing = scope.spawn(|| {
                    let mut sent = 0;
                    while sent < 100_000 && parts.send(vec![object.clone(); 8]).is_ok() {
                        sent += 1;
                    }
                    sent
                });
                let request = LookupRequest::default();
                let failed = scan(
                    Objects::Streamed(streamed),
                    &request,
                    &options,
                    || Failing,
                    |a, _| Ok(a),
                );
                assert_eq!(failed.err().as_deref(), Some("the sink failed"));
                listing.join().unwrap()
            });
            assert!(
                sent < 100_000,
                "{requests_in_flight} in flight: the listing was drained whole"
            );
        }
    }
}
