use trailscan_query::{
    decode_token, parse_attribute_arg, parse_time_arg, LookupRequest, Prefilter,
};

/// The lookup flags a user (or a script fed untrusted text) passes: `--lookup-attributes`,
/// `--start-time`/`--end-time` and `--starting-token`, one per line of the input.
pub fn lookup_args(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(4, '\n');
    let attributes = lines.next().map(parse_attribute_arg);
    let start = lines.next().map(parse_time_arg);
    let end = lines.next().map(parse_time_arg);
    let token = lines.next();
    let request = LookupRequest {
        attributes: attributes.and_then(Result::ok).unwrap_or_default(),
        start: start.and_then(Result::ok),
        end: end.and_then(Result::ok),
        ..LookupRequest::default()
    };
    let _ = request.validate();
    let canonical = request.canonical();
    let prefilter = Prefilter::new(&request.attributes);
    let _ = prefilter.may_match(text.as_bytes());
    if let Some(token) = token {
        let _ = decode_token(&canonical, token);
    }
}
