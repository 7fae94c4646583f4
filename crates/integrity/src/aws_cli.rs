//! The AWS CLI's reading of validate-logs' arguments, quirks included (awscli 1.45.11,
//! `awscli/customizations/cloudtrail/validation.py`), so that what it refuses is refused and
//! what it accepts means the same.

/// The date-time part of a `--start-time`/`--end-time` value, its UTC offset dropped: the AWS
/// CLI parses with dateutil, then `replace(tzinfo=UTC)`, which relabels an offset as UTC
/// instead of converting (`2024-01-15T03:00:00+02:00` is 03:00 UTC there).
pub fn without_offset(text: &str) -> &str {
    let s = text.trim();
    if let Some(rest) = s.strip_suffix(['Z', 'z']) {
        return rest;
    }
    let b = s.as_bytes();
    let has_time = s.contains(['T', 't', ' ']) && s.contains(':');
    for len in [6, 5, 3] {
        if has_time && b.len() > len && matches!(b[b.len() - len], b'+' | b'-') {
            let tail = &s[s.len() - len + 1..];
            if tail.bytes().all(|c| c.is_ascii_digit() || c == b':') {
                return &s[..s.len() - len];
            }
        }
    }
    s
}

/// `arn:.+:cloudtrail:.+:\d{12}:trail/.+` as Python's `re.match` applies it: anchored at
/// the start only, `.+` at least one character other than a newline.
pub fn is_trail_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else {
        return false;
    };
    let line = rest.split('\n').next().unwrap_or_default();
    let account_then_trail = |tail: &str| {
        tail.match_indices(':').any(|(i, _)| {
            i >= 1
                && tail.len() > i + 13
                && tail[i + 1..i + 13].bytes().all(|b| b.is_ascii_digit())
                && tail[i + 13..]
                    .strip_prefix(":trail/")
                    .is_some_and(|name| !name.is_empty())
        })
    };
    line.match_indices(":cloudtrail:")
        .any(|(i, m)| i >= 1 && account_then_trail(&line[i + m.len()..]))
}

/// What the AWS CLI takes from a trail ARN: the fields by position, the name after the last
/// `/` (as `arn.split(':')` and `rsplit('/')` give them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailArn {
    /// The trail's home region (field 4).
    pub home_region: String,
    /// The account (field 5).
    pub account: String,
    /// The trail's name.
    pub name: String,
}

impl TrailArn {
    /// Reads an ARN the AWS CLI accepts, or `None` ("Invalid trail ARN provided").
    pub fn parse(arn: &str) -> Option<TrailArn> {
        if !is_trail_arn(arn) {
            return None;
        }
        let fields: Vec<&str> = arn.split(':').collect();
        Some(TrailArn {
            home_region: fields.get(3)?.to_string(),
            account: fields.get(4)?.to_string(),
            name: arn.rsplit('/').next().unwrap_or_default().to_string(),
        })
    }
}

/// The partition of a region, for the ARNs of discovered trails.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_as_the_aws_cli_accepts_them() {
        assert!(is_trail_arn(
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/foo"
        ));
        assert!(!is_trail_arn("foo:bar:baz"));
        assert!(!is_trail_arn(
            "arn:aws:cloudtrail:us-east-1:123456789012:foo"
        ));
        assert!(!is_trail_arn(
            "arn::cloudtrail:us-east-1:123456789012:trail/foo"
        ));
        assert!(!is_trail_arn(
            "arn:aws:cloudtrail:us-east-1:12345678901:trail/foo"
        ));
        assert!(is_trail_arn(
            "arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:trail/a/b"
        ));
        let arn = TrailArn::parse("arn:aws:cloudtrail:eu-west-1:123456789012:trail/a/b").unwrap();
        assert_eq!(
            (
                arn.home_region.as_str(),
                arn.account.as_str(),
                arn.name.as_str()
            ),
            ("eu-west-1", "123456789012", "b")
        );
    }

    #[test]
    fn offsets_are_dropped_not_converted() {
        assert_eq!(
            without_offset("2024-01-15T03:00:00+02:00"),
            "2024-01-15T03:00:00"
        );
        assert_eq!(
            without_offset(" 2024-01-15T03:00:00Z "),
            "2024-01-15T03:00:00"
        );
        assert_eq!(
            without_offset("2024-01-15 03:00:00-0530"),
            "2024-01-15 03:00:00"
        );
        assert_eq!(without_offset("2015-01-01"), "2015-01-01");
        assert_eq!(without_offset("20140810T000000Z"), "20140810T000000");
    }
}
