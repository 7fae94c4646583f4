//! A proxy in front of the S3 test server that answers as real S3 does for keys the server
//! refuses to store: keys with `..` or `.` segments, empty segments, a leading `/`, a
//! backslash. Real S3 stores such keys, and an attacker who can write to a bucket can create
//! them; SeaweedFS refuses them on PUT. The proxy adds them to ListObjectsV2 answers (as
//! objects, or as common prefixes when a delimiter folds them) and serves their bodies;
//! every other request goes to the server unchanged, its SigV4 signature intact. It can also
//! refuse to serve an object the server has (AccessDenied, as a bucket policy would), for
//! the tests of a read that fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// An object only the proxy has; or, `denied`, an object of the server's whose reads the
/// proxy refuses (it is listed as the server lists it).
pub struct HostileObject {
    pub key: String,
    pub body: Vec<u8>,
    pub denied: bool,
}

/// Starts the proxy for `bucket` in front of `upstream` (`http://127.0.0.1:PORT`); returns
/// its URL. It serves until the test process ends.
pub fn start(upstream: &str, bucket: &str, objects: Vec<HostileObject>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let shared = Arc::new((upstream, bucket.to_string(), objects));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let (upstream, bucket, objects) = &*shared;
                serve_connection(client, upstream, bucket, objects);
            });
        }
    });
    url
}

struct Request {
    method: String,
    target: String,
    /// Header lines as received, without the line ends.
    headers: Vec<String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end().to_string();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
        headers.push(header);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn serve_connection(client: TcpStream, upstream: &str, bucket: &str, objects: &[HostileObject]) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut writer = client;
    while let Some(request) = read_request(&mut reader) {
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((&request.target, ""));
        let key = path
            .strip_prefix(&format!("/{bucket}/"))
            .map(percent_decode);
        let hostile = key
            .as_deref()
            .and_then(|key| objects.iter().find(|o| o.key == key));
        let response = match hostile {
            Some(object) if object.denied && request.method == "GET" => {
                let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
                let head = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n";
                respond(head, body, false)
            }
            Some(object)
                if !object.denied && (request.method == "GET" || request.method == "HEAD") =>
            {
                object_response(object, request.method == "HEAD")
            }
            _ => {
                let (head, mut body) = forward(upstream, &request);
                let listing = request.method == "GET"
                    && (path == format!("/{bucket}") || path == format!("/{bucket}/"))
                    && query.split('&').any(|p| p == "list-type=2");
                if listing {
                    body = add_to_listing(&body, query, objects);
                }
                respond(&head, &body, request.method == "HEAD")
            }
        };
        if writer.write_all(&response).is_err() {
            return;
        }
    }
}

/// Passes the request on over a new connection, closed after the answer: the status line and
/// headers as one text, and the body (chunked transfer decoded).
fn forward(upstream: &str, request: &Request) -> (String, Vec<u8>) {
    let mut server = TcpStream::connect(upstream).unwrap();
    let mut out = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for header in &request.headers {
        // `connection` is not signed: the one header changed.
        if !header.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(header);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    server.write_all(out.as_bytes()).unwrap();
    server.write_all(&request.body).unwrap();
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let raw = &answer[split + 4..];
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
    (head, body)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size_text = String::from_utf8_lossy(&raw[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
}

/// The upstream answer again, with a length for the (possibly changed) body.
fn respond(head: &str, body: &[u8], is_head: bool) -> Vec<u8> {
    let mut out = String::new();
    for (i, line) in head.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        let framing = ["content-length:", "transfer-encoding:", "connection:"]
            .iter()
            .any(|h| lower.starts_with(h));
        if i == 0 || !(framing && !(is_head && lower.starts_with("content-length:"))) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    if !is_head {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !is_head {
        bytes.extend_from_slice(body);
    }
    bytes
}

fn object_response(object: &HostileObject, is_head: bool) -> Vec<u8> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nETag: \"{}\"\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n",
        etag(object)
    );
    respond(&head, &object.body, is_head)
}

/// Any stable tag will do: S3 clients compare it, never recompute it.
fn etag(object: &HostileObject) -> String {
    format!(
        "{:032x}",
        object.body.len() as u128 * 0x9e37_79b9 + object.key.len() as u128
    )
}

fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

/// A listing's last page with the hostile keys under its prefix added, as S3 would list them:
/// folded into a common prefix at the delimiter, else as objects.
fn add_to_listing(body: &[u8], query: &str, objects: &[HostileObject]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body).into_owned();
    if !text.contains("<IsTruncated>false</IsTruncated>") {
        return body.to_vec();
    }
    let prefix = query_value(query, "prefix").unwrap_or_default();
    let delimiter = query_value(query, "delimiter").unwrap_or_default();
    let start_after = query_value(query, "start-after").unwrap_or_default();
    let mut added = String::new();
    for object in objects.iter().filter(|o| !o.denied) {
        let Some(rest) = object.key.strip_prefix(&prefix) else {
            continue;
        };
        if object.key <= start_after {
            continue;
        }
        match rest.find(&delimiter).filter(|_| !delimiter.is_empty()) {
            Some(at) => {
                let folder = xml_escape(&format!("{prefix}{}", &rest[..at + delimiter.len()]));
                let entry = format!("<CommonPrefixes><Prefix>{folder}</Prefix></CommonPrefixes>");
                if !text.contains(&entry) && !added.contains(&entry) {
                    added.push_str(&entry);
                }
            }
            None => added.push_str(&format!(
                "<Contents><Key>{}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;{}&quot;</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                xml_escape(&object.key),
                etag(object),
                object.body.len()
            )),
        }
    }
    text.replace(
        "</ListBucketResult>",
        &format!("{added}</ListBucketResult>"),
    )
    .into_bytes()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
