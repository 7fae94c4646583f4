//! A small HTTP/1.1 server on loopback, for the AWS behaviours the S3 test server does not
//! have: CloudTrail's ListPublicKeys, and S3's answer from the wrong region (301 with
//! `x-amz-bucket-region`). Each request is recorded, so that a test can check what the SDK
//! really sent (operation, body, the region in its SigV4 scope).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// Header names in lowercase.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Request {
    /// The region of the SigV4 credential scope (`Credential=KEY/DATE/REGION/SERVICE/...`).
    pub fn signed_region(&self) -> Option<&str> {
        let auth = self.headers.get("authorization")?;
        let scope = auth.split("Credential=").nth(1)?;
        scope.split('/').nth(2)
    }
}

/// An answer: status, headers, body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A running server; requests recorded in order.
pub struct FakeServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

/// Serves `answer` on a loopback port until the test process ends.
pub fn serve(answer: impl Fn(&Request) -> Response + Send + Sync + 'static) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (log, answer) = (Arc::clone(&requests), Arc::new(answer));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (log, answer) = (Arc::clone(&log), Arc::clone(&answer));
            std::thread::spawn(move || serve_connection(stream, &log, &*answer));
        }
    });
    FakeServer { url, requests }
}

/// Answers the requests of one (keep-alive) connection.
fn serve_connection(
    stream: TcpStream,
    log: &Mutex<Vec<Request>>,
    answer: &dyn Fn(&Request) -> Response,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Request {
            method: method.to_string(),
            target: target.to_string(),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let response = answer(&request);
        let is_head = request.method == "HEAD";
        log.lock().unwrap().push(request);
        let mut head = format!(
            "HTTP/1.1 {} Fake\r\nContent-Length: {}\r\n",
            response.status,
            if is_head { 0 } else { response.body.len() }
        );
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if !is_head {
            bytes.extend_from_slice(response.body.as_bytes());
        }
        if writer.write_all(&bytes).is_err() {
            return;
        }
    }
}
