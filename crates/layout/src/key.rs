//! The CloudTrail S3 key layout.
//!
//! ```text
//! [prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz
//! [prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail-Insight/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail-Insight_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz
//! [prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOME_YYYYMMDDTHHmmssZ[_backfill].json.gz
//! ```
//!
//! (CloudTrail User Guide, "Finding your CloudTrail log files" and "CloudTrail digest file
//! structure".) Keys are `/`-separated whatever the platform: a local copy is addressed by its
//! path relative to the source folder, which is the object's key in the bucket it came from.

use crate::skip::SkipReason;
use crate::time::{digits, epoch_seconds};

/// The folder under `AWSLogs/ACCOUNT/` that says what an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// `CloudTrail/`: log files of management, data and network-activity events.
    Log,
    /// `CloudTrail-Insight/`: Insights events.
    Insight,
    /// `CloudTrail-Digest/`: hourly signed digests for log file integrity validation.
    Digest,
}

impl ObjectKind {
    /// The folder name under `AWSLogs/ACCOUNT/`, which is also the infix of the file name.
    pub fn folder(self) -> &'static str {
        match self {
            ObjectKind::Log => "CloudTrail",
            ObjectKind::Insight => "CloudTrail-Insight",
            ObjectKind::Digest => "CloudTrail-Digest",
        }
    }

    /// The kind named by a folder under `AWSLogs/ACCOUNT/`, if it is one of CloudTrail's.
    pub fn from_folder(name: &str) -> Option<ObjectKind> {
        match name {
            "CloudTrail" => Some(ObjectKind::Log),
            "CloudTrail-Insight" => Some(ObjectKind::Insight),
            "CloudTrail-Digest" => Some(ObjectKind::Digest),
            _ => None,
        }
    }
}

/// A calendar date in UTC, as in the `YYYY/MM/DD` folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day {
    /// Year.
    pub year: u32,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1..=31.
    pub day: u32,
}

/// What a digest file name says beyond the common layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestName {
    /// The trail's name.
    pub trail: String,
    /// The region where the trail was created.
    pub home_region: String,
    /// Whether this is a `_backfill` digest.
    pub backfill: bool,
}

/// A key that fits CloudTrail's layout, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudTrailKey {
    /// The trail's key prefix: everything before `AWSLogs/`, without the trailing `/`.
    pub prefix: String,
    /// The organization id (`o-...`) of an organization trail.
    pub org_id: Option<String>,
    /// The 12-digit account id.
    pub account: String,
    /// Log, Insight or digest.
    pub kind: ObjectKind,
    /// The region the object was delivered from.
    pub region: String,
    /// The date folders.
    pub day: Day,
    /// Delivery time from the file name, in UTC epoch seconds (minute precision for log and
    /// Insights files, second precision for digests).
    pub delivered_at: i64,
    /// Set for digest files.
    pub digest: Option<DigestName>,
}

/// What a key is, for a scan deciding whether to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClass {
    /// A log, Insights or digest file in CloudTrail's layout.
    CloudTrail(CloudTrailKey),
    /// Anything else, and why it is not a CloudTrail object.
    NotCloudTrail(SkipReason),
}

/// Whether `s` is a 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` looks like an AWS Organizations id (`o-` then 10 to 32 lowercase letters or
/// digits).
pub fn is_org_id(s: &str) -> bool {
    s.len() >= 12
        && s.len() <= 34
        && s.starts_with("o-")
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Classifies a `/`-separated key.
pub fn parse_key(key: &str) -> KeyClass {
    let segments: Vec<&str> = key.split('/').collect();
    let mut outcome = KeyClass::NotCloudTrail(SkipReason::OutsideAwsLogs);
    // A prefix may itself contain an `AWSLogs` folder; the layout decides which one counts.
    for (i, _) in segments
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == "AWSLogs")
    {
        match parse_from_awslogs(&segments, i) {
            KeyClass::CloudTrail(k) => return KeyClass::CloudTrail(k),
            other => outcome = other,
        }
    }
    outcome
}

fn parse_from_awslogs(segments: &[&str], awslogs: usize) -> KeyClass {
    let mut rest = &segments[awslogs + 1..];
    let org_id = match rest.first() {
        Some(s) if is_org_id(s) => {
            rest = &rest[1..];
            Some((*s).to_string())
        }
        _ => None,
    };
    let (Some(account), Some(kind)) = (rest.first(), rest.get(1)) else {
        return KeyClass::NotCloudTrail(SkipReason::NotCloudTrailLayout);
    };
    if !is_account_id(account) {
        return KeyClass::NotCloudTrail(SkipReason::NotCloudTrailLayout);
    }
    let Some(kind) = ObjectKind::from_folder(kind) else {
        return KeyClass::NotCloudTrail(SkipReason::OtherService);
    };
    let [region, year, month, day, file] = &rest[2..] else {
        return KeyClass::NotCloudTrail(SkipReason::NotCloudTrailLayout);
    };
    let (Some(y), Some(m), Some(d)) = (
        digits(year.as_bytes()),
        digits(month.as_bytes()),
        digits(day.as_bytes()),
    ) else {
        return KeyClass::NotCloudTrail(SkipReason::NotCloudTrailLayout);
    };
    let Some(name) = parse_file_name(file, account, kind, region) else {
        return KeyClass::NotCloudTrail(SkipReason::UnexpectedFileName);
    };
    // The folders and the file name both carry the delivery date; they must agree.
    if (name.year, name.month, name.day) != (y, m, d) {
        return KeyClass::NotCloudTrail(SkipReason::UnexpectedFileName);
    }
    // A key prefix is written back as `PREFIX/AWSLogs/...` (or `AWSLogs/...` without one); a
    // key that starts `/AWSLogs/` has an empty folder name for a prefix, which cannot be
    // written back, and which CloudTrail never writes.
    let prefix = segments[..awslogs].join("/");
    if prefix.is_empty() && awslogs > 0 {
        return KeyClass::NotCloudTrail(SkipReason::NotCloudTrailLayout);
    }
    KeyClass::CloudTrail(CloudTrailKey {
        prefix,
        org_id,
        account: (*account).to_string(),
        kind,
        region: (*region).to_string(),
        day: Day {
            year: y,
            month: m,
            day: d,
        },
        delivered_at: name.delivered_at,
        digest: name.digest,
    })
}

struct FileName {
    year: u32,
    month: u32,
    day: u32,
    delivered_at: i64,
    digest: Option<DigestName>,
}

/// `ACCOUNT_KIND_REGION_..._TIMESTAMP[_UNIQUE|_backfill].json.gz`
fn parse_file_name(file: &str, account: &str, kind: ObjectKind, region: &str) -> Option<FileName> {
    let stem = file.strip_suffix(".json.gz")?;
    let rest = stem.strip_prefix(account)?.strip_prefix('_')?;
    let rest = rest.strip_prefix(kind.folder())?.strip_prefix('_')?;
    let rest = rest.strip_prefix(region)?.strip_prefix('_')?;
    match kind {
        ObjectKind::Log | ObjectKind::Insight => {
            // TIMESTAMP_UNIQUE, TIMESTAMP = YYYYMMDDTHHmmZ; the unique string has no meaning.
            let (stamp, unique) = rest.split_once('_')?;
            if unique.is_empty() || unique.contains('/') {
                return None;
            }
            timestamp(stamp, false).map(|(y, m, d, t)| FileName {
                year: y,
                month: m,
                day: d,
                delivered_at: t,
                digest: None,
            })
        }
        ObjectKind::Digest => {
            // TRAIL_HOME_YYYYMMDDTHHmmssZ[_backfill]; a trail name may itself contain `_`.
            let (rest, backfill) = match rest.strip_suffix("_backfill") {
                Some(r) => (r, true),
                None => (rest, false),
            };
            let (rest, stamp) = rest.rsplit_once('_')?;
            let (trail, home_region) = rest.rsplit_once('_')?;
            if trail.is_empty() || home_region.is_empty() {
                return None;
            }
            timestamp(stamp, true).map(|(y, m, d, t)| FileName {
                year: y,
                month: m,
                day: d,
                delivered_at: t,
                digest: Some(DigestName {
                    trail: trail.to_string(),
                    home_region: home_region.to_string(),
                    backfill,
                }),
            })
        }
    }
}

/// `YYYYMMDDTHHmmZ` or, with seconds, `YYYYMMDDTHHmmssZ`.
fn timestamp(s: &str, with_seconds: bool) -> Option<(u32, u32, u32, i64)> {
    let b = s.as_bytes();
    let len = if with_seconds { 16 } else { 14 };
    if b.len() != len || b[8] != b'T' || b[len - 1] != b'Z' {
        return None;
    }
    let y = digits(&b[0..4])?;
    let m = digits(&b[4..6])?;
    let d = digits(&b[6..8])?;
    let h = digits(&b[9..11])?;
    let mi = digits(&b[11..13])?;
    let sec = if with_seconds { digits(&b[13..15])? } else { 0 };
    let t = epoch_seconds(i64::from(y), m, d, h, mi, sec)?;
    Some((y, m, d, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(key: &str) -> CloudTrailKey {
        match parse_key(key) {
            KeyClass::CloudTrail(k) => k,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn log_key_with_prefix() {
        let k = ct("my/prefix/AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz");
        assert_eq!(k.prefix, "my/prefix");
        assert_eq!(k.org_id, None);
        assert_eq!(k.kind, ObjectKind::Log);
        assert_eq!(
            k.day,
            Day {
                year: 2015,
                month: 8,
                day: 1
            }
        );
        assert_eq!(k.delivered_at, epoch_seconds(2015, 8, 1, 2, 10, 0).unwrap());
    }

    #[test]
    fn organization_insight_key() {
        let k = ct("o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail-Insight/ca-central-1/2020/09/23/123456789015_CloudTrail-Insight_ca-central-1_20200923T0516Z_KL5e9VCV2SS7IqzB.json.gz");
        assert_eq!(k.prefix, "o-fxozgwu6rc");
        assert_eq!(k.org_id.as_deref(), Some("o-fxozgwu6rc"));
        assert_eq!(k.kind, ObjectKind::Insight);
        assert_eq!(k.region, "ca-central-1");
    }

    #[test]
    fn digest_keys() {
        let k = ct("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/01/15/123456789012_CloudTrail-Digest_us-east-1_my_trail_us-east-1_20240115T030030Z_backfill.json.gz");
        let d = k.digest.unwrap();
        assert_eq!(d.trail, "my_trail");
        assert_eq!(d.home_region, "us-east-1");
        assert!(d.backfill);
        assert_eq!(
            k.delivered_at,
            epoch_seconds(2024, 1, 15, 3, 0, 30).unwrap()
        );
    }

    #[test]
    fn other_objects_say_why() {
        assert_eq!(
            parse_key("README.txt"),
            KeyClass::NotCloudTrail(SkipReason::OutsideAwsLogs)
        );
        assert_eq!(
            parse_key("AWSLogs/123456789012/Config/us-east-1/2024/1/1/ConfigHistory/x.json.gz"),
            KeyClass::NotCloudTrail(SkipReason::OtherService)
        );
        assert_eq!(
            parse_key("AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/x.json.gz"),
            KeyClass::NotCloudTrail(SkipReason::NotCloudTrailLayout)
        );
        assert_eq!(
            parse_key("AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/01/01/x.log.gz"),
            KeyClass::NotCloudTrail(SkipReason::OtherService)
        );
        // File name from another account than its folder.
        assert_eq!(
            parse_key("AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/15/999999999999_CloudTrail_us-east-1_20240115T0000Z_abc.json.gz"),
            KeyClass::NotCloudTrail(SkipReason::UnexpectedFileName)
        );
        // Date folders disagree with the name.
        assert_eq!(
            parse_key("AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/16/123456789012_CloudTrail_us-east-1_20240115T0000Z_abc.json.gz"),
            KeyClass::NotCloudTrail(SkipReason::UnexpectedFileName)
        );
    }

    #[test]
    fn ids() {
        assert!(is_account_id("012345678901"));
        assert!(!is_account_id("01234567890"));
        assert!(is_org_id("o-exampleorgid"));
        assert!(!is_org_id("o-EXAMPLE12345"));
    }

    /// Found by the `object_key` fuzz target: `/AWSLogs/...` was taken for a key without a
    /// prefix, so a walk that writes keys back from the prefix looked under `AWSLogs/`.
    #[test]
    fn an_empty_folder_name_is_no_prefix_and_no_layout() {
        let key = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T2200Z_a.json.gz";
        assert!(matches!(parse_key(key), KeyClass::CloudTrail(k) if k.prefix.is_empty()));
        assert_eq!(
            parse_key(&format!("/{key}")),
            KeyClass::NotCloudTrail(SkipReason::NotCloudTrailLayout)
        );
        assert!(
            matches!(parse_key(&format!("p//{key}")), KeyClass::CloudTrail(k) if k.prefix == "p/")
        );
    }
}
