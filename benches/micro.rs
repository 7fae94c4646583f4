//! Micro-benchmarks of the hot path, one step at a time, on one log file of the bench
//! archive's shape (200 events of about 1 KB): inflate (trailscan's path through flate2, then
//! the backends flate2 offers alone: zlib-rs, miniz_oxide and stock zlib), split and parse, the
//! prefilter's search, SHA-256, and a digest's signature check. `make bench` runs them with
//! the end-to-end comparison; `cargo bench -p trailscan-benches` alone.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sha2::{Digest, Sha256};
use trailscan_archive::inflate::inflate_gzip;
use trailscan_integrity::keys::{decode_key, PublicKeys};
use trailscan_integrity::signature::{string_to_sign, verify};
use trailscan_query::Prefilter;
use trailscan_records::split_records;
use trailscan_records::{AttributeKey, LookupAttribute, RecordParser};

/// The largest log file of a generated 4,000-event archive, compressed.
fn log_file() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    trailscan_fixtures::generate(
        &trailscan_fixtures::ArchiveSpec::bench(4_000, 1),
        dir.path(),
    )
    .expect("archive generated");
    let files = trailscan_fixtures::files_under(dir.path()).expect("archive listed");
    let largest = files
        .iter()
        .filter(|p| {
            let p = p.to_string_lossy();
            p.ends_with(".json.gz") && !p.contains("CloudTrail-Digest")
        })
        .max_by_key(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .expect("a log file");
    std::fs::read(largest).expect("log file readable")
}

fn inflate(c: &mut Criterion, compressed: &[u8], json: &[u8]) {
    let inflated_len = json.len();
    let mut group = c.benchmark_group("inflate");
    group.throughput(Throughput::Bytes(inflated_len as u64));
    let mut out = Vec::new();
    group.bench_function("zlib-rs (trailscan)", |b| {
        b.iter(|| inflate_gzip(black_box(compressed), &mut out, u64::MAX).unwrap())
    });
    // The deflate stream inside the gzip member: a 10-byte header (no name, no extra field,
    // as CloudTrail and the generator write it) and an 8-byte trailer.
    assert_eq!(compressed[3], 0, "gzip header with optional fields");
    let deflate = &compressed[10..compressed.len() - 8];
    // The backends alone, each with the gzip member's CRC-32 checked as flate2 checks it.
    let mut raw_out = vec![0u8; inflated_len];
    let gzip = zlib_rs::InflateConfig { window_bits: 31 };
    group.bench_function("zlib-rs, raw", |b| {
        b.iter(|| {
            let (out, status) =
                zlib_rs::decompress_slice(&mut raw_out, black_box(compressed), gzip);
            assert_eq!((status, out.len()), (zlib_rs::ReturnCode::Ok, inflated_len));
        })
    });
    group.bench_function("miniz_oxide, raw", |b| {
        b.iter(|| {
            let out = miniz_oxide::inflate::decompress_to_vec(black_box(deflate)).unwrap();
            zlib_rs::crc32::crc32(0, &out)
        })
    });
    // Stock zlib's one-call `uncompress` takes the zlib wrapping: the same deflate stream
    // between a 2-byte header and the Adler-32 of the content.
    let zlib_wrapped = zlib_wrap(deflate, json);
    let mut zlib_out = vec![0u8; inflated_len];
    group.bench_function("stock zlib", |b| {
        b.iter(|| {
            let mut len = zlib_out.len() as std::ffi::c_ulong;
            // SAFETY: both buffers live for the call and their lengths are passed with them.
            let status = unsafe {
                libz_sys::uncompress(
                    zlib_out.as_mut_ptr(),
                    &mut len,
                    black_box(zlib_wrapped.as_ptr()),
                    zlib_wrapped.len() as std::ffi::c_ulong,
                )
            };
            assert_eq!((status, len as usize), (libz_sys::Z_OK, inflated_len));
        })
    });
    group.finish();
}

/// `deflate` in the zlib format (RFC 1950) for content `json`.
fn zlib_wrap(deflate: &[u8], json: &[u8]) -> Vec<u8> {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in json {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    let mut wrapped = vec![0x78, 0x9c];
    wrapped.extend_from_slice(deflate);
    wrapped.extend_from_slice(&((b << 16) | a).to_be_bytes());
    wrapped
}

fn parse(c: &mut Criterion, json: &[u8]) {
    let mut group = c.benchmark_group("records");
    group.throughput(Throughput::Bytes(json.len() as u64));
    let mut spans = Vec::new();
    group.bench_function("split", |b| {
        b.iter(|| split_records(black_box(json), &mut spans).unwrap())
    });
    split_records(json, &mut spans).unwrap();
    let mut parser = RecordParser::default();
    group.bench_function("split + parse every record", |b| {
        b.iter(|| {
            split_records(black_box(json), &mut spans).unwrap();
            spans
                .iter()
                .filter(|s| {
                    parser
                        .parse(&json[(*s).clone()], |r| r.event_id().is_some())
                        .unwrap()
                })
                .count()
        })
    });
    let absent = Prefilter::new(&[LookupAttribute {
        key: AttributeKey::EventId,
        value: "00000000-0000-4000-8000-000000000000".into(),
    }]);
    group.bench_function("prefilter (needle absent)", |b| {
        b.iter(|| absent.may_match(black_box(json)))
    });
    group.finish();
}

fn hash_and_sign(c: &mut Criterion, json: &[u8]) {
    let mut group = c.benchmark_group("integrity");
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function("SHA-256", |b| b.iter(|| Sha256::digest(black_box(json))));
    group.finish();

    // A signed digest of the committed sample archive, its signature from its sidecar.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let digest_path = trailscan_fixtures::files_under(&root.join("sample-archive"))
        .expect("sample archive")
        .into_iter()
        .find(|p| {
            p.to_string_lossy().contains("CloudTrail-Digest")
                && p.to_string_lossy().ends_with(".json.gz")
        })
        .expect("a digest");
    let mut inflated = Vec::new();
    inflate_gzip(
        &std::fs::read(&digest_path).unwrap(),
        &mut inflated,
        u64::MAX,
    )
    .unwrap();
    let digest: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&inflated).unwrap();
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}.s3meta.json", digest_path.display())).unwrap(),
    )
    .unwrap();
    let signature = sidecar["metadata"]["signature"]
        .as_str()
        .unwrap()
        .to_string();
    let keys = PublicKeys::parse(
        &std::fs::read_to_string(root.join("sample-archive-public-keys.json")).unwrap(),
    )
    .unwrap();
    let key = decode_key(&keys.in_range(i64::MIN, i64::MAX)[0].value).unwrap();
    let message = string_to_sign(&digest, &inflated);
    verify(&key, &message, &signature).expect("the sample digest's signature verifies");
    c.bench_function("integrity/RSA-2048 signature check (ring)", |b| {
        b.iter(|| verify(&key, black_box(&message), &signature).unwrap())
    });
}

fn micro(c: &mut Criterion) {
    let compressed = log_file();
    let mut json = Vec::new();
    inflate_gzip(&compressed, &mut json, u64::MAX).unwrap();
    inflate(c, &compressed, &json);
    parse(c, &json);
    hash_and_sign(c, &json);
}

criterion_group!(benches, micro);
criterion_main!(benches);
