//! How to reach S3, as the user says it: a module of its own, so that the S3 store and
//! the code that opens stores by location both read it without importing each other.

/// How to reach S3.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// A custom endpoint (an S3-compatible store); addressed path-style.
    pub endpoint_url: Option<String>,
    /// A named profile of the shared config and credentials files.
    pub profile: Option<String>,
    /// Anonymous requests (public buckets).
    pub no_sign_request: bool,
    /// The client's region when the standard chain names none (`--region`, when one is given).
    pub region: Option<String>,
    /// Requests in flight at once (`--max-concurrent-requests`); `None`: the default.
    pub max_concurrent_requests: Option<usize>,
}
