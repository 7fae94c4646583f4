//! Every store behaves as S3 does, checked the same way on each: a folder, memory, and (with
//! the `s3` feature and the S3 test server that `make test` starts) a real bucket.

use std::collections::BTreeMap;
use std::io::Read;

use trailscan_archive::{
    LocalFolder, MemoryStore, ObjectMetadata, ObjectStore, Problem, WriteMode,
};

const KEYS: [&str; 4] = [
    "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/01/a.json.gz",
    "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/02/b.json.gz",
    "p/AWSLogs/1/CloudTrail-Digest/r2/2024/01/01/c.json.gz",
    "p/top.txt",
];

fn keys(found: Vec<trailscan_archive::ObjectInfo>) -> Vec<String> {
    found.into_iter().map(|o| o.key).collect()
}

/// The same checks on any store whose base is `base` (empty, or a prefix it was opened at).
fn behaves_as_s3_does(store: &dyn ObjectStore, base: &str) {
    let at = |key: &str| trailscan_archive::key_under(base, key);
    let metadata = ObjectMetadata {
        bucket: None,
        user: BTreeMap::from([("signature".to_string(), "ab12".to_string())]),
    };
    for (i, key) in KEYS.iter().enumerate() {
        let meta = (i == 0).then_some(&metadata);
        store
            .write(&at(key), key.as_bytes(), meta, WriteMode::CreateNew)
            .unwrap_or_else(|e| panic!("{}: {e}", store.name()));
    }
    let name = store.name();
    // Create-only refuses an object that is there; replace replaces it.
    let err = store
        .write(&at(KEYS[3]), b"again", None, WriteMode::CreateNew)
        .unwrap_err();
    assert!(matches!(err.problem, Problem::Exists), "{name}: {err}");
    store
        .write(&at(KEYS[3]), b"replaced", None, WriteMode::Replace)
        .unwrap();
    let mut buf = Vec::new();
    let info = store.read(&at(KEYS[3]), &mut buf).unwrap();
    assert_eq!((buf.as_slice(), info.size), (&b"replaced"[..], 8), "{name}");
    // Metadata comes back with the object; an object without has none.
    let (_, read) = store.read_with_metadata(&at(KEYS[0]), &mut buf).unwrap();
    assert_eq!(read.unwrap().user, metadata.user, "{name}");
    let (_, read) = store.read_with_metadata(&at(KEYS[1]), &mut buf).unwrap();
    assert!(read.is_none_or(|m| m.user.is_empty()), "{name}");
    // Flat listings: by prefix (which "r2" also starts with), after a key, in byte order.
    let digests = at("p/AWSLogs/1/CloudTrail-Digest/r");
    assert_eq!(
        keys(store.list_keys(&digests, "").unwrap()).len(),
        3,
        "{name}"
    );
    let after = keys(
        store
            .list_keys(&format!("{digests}/"), &at(KEYS[0]))
            .unwrap(),
    );
    assert_eq!(after, vec![at(KEYS[1])], "{name}");
    // One level of a delimited listing.
    let level = store.list_dir(&format!("{}/", at("p"))).unwrap();
    assert_eq!(
        level.folders,
        vec![format!("{}/", at("p/AWSLogs"))],
        "{name}"
    );
    assert_eq!(keys(level.objects), vec![at(KEYS[3])], "{name}");
    // A stream reads what a read does.
    let mut streamed = Vec::new();
    store
        .read_stream(&at(KEYS[2]))
        .unwrap()
        .read_to_end(&mut streamed)
        .unwrap();
    assert_eq!(streamed, KEYS[2].as_bytes(), "{name}");
    // Gone is gone, and deleting it again is no error.
    store.delete(&at(KEYS[2])).unwrap();
    store.delete(&at(KEYS[2])).unwrap();
    let err = store.read(&at(KEYS[2]), &mut buf).unwrap_err();
    assert!(err.is_not_found(), "{name}: {err}");
    assert!(
        err.to_string().contains(KEYS[2]),
        "{name}: names the object: {err}"
    );
}

#[test]
fn a_folder() {
    let dir = tempfile::tempdir().unwrap();
    behaves_as_s3_does(&LocalFolder::create(dir.path()).unwrap(), "");
}

#[test]
fn memory() {
    behaves_as_s3_does(&MemoryStore::new(), "");
}

#[cfg(feature = "s3")]
#[test]
fn a_bucket() {
    use trailscan_archive::s3::S3Bucket;
    use trailscan_archive::S3Options;

    let Some(path) = std::env::var_os("TRAILSCAN_TEST_S3_ENV") else {
        eprintln!("NOTICE: no S3 test server (run `make test`); skipping the S3 store test");
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    for (name, value) in &env {
        // The SDK reads its credentials from the environment; this test is alone in its binary
        // in setting them.
        std::env::set_var(name, value);
    }
    let options = S3Options {
        endpoint_url: Some(env["AWS_ENDPOINT_URL"].to_string()),
        ..S3Options::default()
    };
    // The bucket is made with the AWS CLI, as the other S3 tests make theirs.
    let status = std::process::Command::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/aws"),
    )
    .args(["--endpoint-url", env["AWS_ENDPOINT_URL"]])
    .args(["s3api", "create-bucket", "--bucket", "trailscan-store-test"])
    .stdout(std::process::Stdio::null())
    .status()
    .unwrap();
    assert!(status.success());
    let root = S3Bucket::open("s3://trailscan-store-test", &options).unwrap();
    behaves_as_s3_does(&root, "");
    let under = S3Bucket::open("s3://trailscan-store-test/under/a/prefix", &options).unwrap();
    behaves_as_s3_does(&under, "under/a/prefix");
    // Found behind the trait object, as the CloudTrail client asks for it.
    let under: Box<dyn ObjectStore> = Box::new(under);
    assert!(S3Bucket::of(&*under).is_some());
}

/// `--max-concurrent-requests` caps the whole run, not each operation: three reads at once,
/// each allowed three requests in flight, never have more than three in flight together (the
/// way validate-logs' chains share them). A loopback server that holds each request a while
/// counts how many it holds at once.
#[cfg(feature = "s3")]
#[test]
fn requests_in_flight_are_capped_for_the_whole_run() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use trailscan_archive::s3::S3Bucket;
    use trailscan_archive::S3Options;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (held, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (h, m) = (Arc::clone(&held), Arc::clone(&most));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (held, most) = (Arc::clone(&h), Arc::clone(&m));
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    // A GET: its head, up to the empty line.
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                        line.clear();
                    }
                    if line != "\r\n" {
                        return;
                    }
                    let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    held.fetch_sub(1, Ordering::SeqCst);
                    let answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
                    if writer.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let options = S3Options {
        endpoint_url: Some(url),
        no_sign_request: true,
        region: Some("us-east-1".into()),
        max_concurrent_requests: Some(3),
        ..S3Options::default()
    };
    let bucket = S3Bucket::open("s3://capped", &options).unwrap();
    let keys: Vec<String> = (0..12).map(|i| format!("k/{i}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                let mut read = 0;
                bucket.read_each(&keys, 3, false, &mut |_, fetched| {
                    assert_eq!(fetched.unwrap().body, b"hello");
                    read += 1;
                    true
                });
                assert_eq!(read, keys.len());
            });
        }
    });
    assert_eq!(most.load(Ordering::SeqCst), 3, "requests held at once");
}
