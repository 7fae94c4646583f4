//! Keys built from their parts: the one place that knows how CloudTrail names its folders and
//! digest files, for the validation walk, the coverage check and chain discovery alike.

use crate::key::ObjectKind;
use crate::time::{civil_from_days, format_utc};

/// One account's folder of one kind in one region, as CloudTrail delivers to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionFolder<'a> {
    /// The trail's key prefix (without a trailing `/`), if any.
    pub prefix: Option<&'a str>,
    /// The organization id of an organization trail.
    pub org_id: Option<&'a str>,
    /// The account.
    pub account: &'a str,
    /// Log, Insights or digest files.
    pub kind: ObjectKind,
    /// The region the files are delivered from.
    pub region: &'a str,
}

impl RegionFolder<'_> {
    /// `[prefix/]AWSLogs/[o-ORG/]ACCOUNT/KIND/REGION`, no trailing `/`.
    pub fn key(&self) -> String {
        let mut parts: Vec<&str> = Vec::with_capacity(6);
        if let Some(p) = self.prefix.filter(|p| !p.is_empty()) {
            parts.push(p);
        }
        parts.push("AWSLogs");
        if let Some(org) = self.org_id {
            parts.push(org);
        }
        parts.extend([self.account, self.kind.folder(), self.region]);
        parts.join("/")
    }

    /// `FOLDER/YYYY/MM/DD/` of the UTC day holding `secs`.
    pub fn day_prefix(&self, secs: i64) -> String {
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        format!("{}/{y:04}/{m:02}/{d:02}/", self.key())
    }

    /// The day prefixes from the day of `from` to the day of `to` (epoch seconds), in order.
    pub fn day_prefixes(&self, from: i64, to: i64) -> Vec<String> {
        (from.div_euclid(86_400)..=to.div_euclid(86_400))
            .map(|day| self.day_prefix(day * 86_400))
            .collect()
    }
}

/// `YYYYMMDDTHHMMSSZ`, the time in a digest file's name.
pub fn digest_time(secs: i64) -> String {
    let s = format_utc(secs);
    format!(
        "{}{}{}T{}{}{}Z",
        &s[0..4],
        &s[5..7],
        &s[8..10],
        &s[11..13],
        &s[14..16],
        &s[17..19]
    )
}

/// The key of the digest a trail would deliver at `secs`:
/// `FOLDER/YYYY/MM/DD/ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOME_YYYYMMDDTHHMMSSZ.json.gz`.
/// `folder` must be a digest folder.
pub fn digest_key(folder: &RegionFolder<'_>, trail: &str, home_region: &str, secs: i64) -> String {
    format!(
        "{}{}_CloudTrail-Digest_{}_{trail}_{home_region}_{}.json.gz",
        folder.day_prefix(secs),
        folder.account,
        folder.region,
        digest_time(secs)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{parse_key, KeyClass};
    use crate::time::epoch_seconds;

    #[test]
    fn keys_built_parse_back() {
        let folder = RegionFolder {
            prefix: Some("trails/main"),
            org_id: Some("o-abcdefghij"),
            account: "111122223333",
            kind: ObjectKind::Digest,
            region: "eu-west-1",
        };
        assert_eq!(
            folder.key(),
            "trails/main/AWSLogs/o-abcdefghij/111122223333/CloudTrail-Digest/eu-west-1"
        );
        let at = epoch_seconds(2024, 2, 29, 23, 59, 30).unwrap();
        let key = digest_key(&folder, "org-trail", "us-east-1", at);
        let KeyClass::CloudTrail(parsed) = parse_key(&key) else {
            panic!("{key} does not parse");
        };
        assert_eq!(parsed.delivered_at, at);
        assert_eq!(parsed.digest.unwrap().trail, "org-trail");
        assert_eq!(
            folder.day_prefixes(at - 86_400, at + 31),
            vec![
                format!("{}/2024/02/28/", folder.key()),
                format!("{}/2024/02/29/", folder.key()),
                format!("{}/2024/03/01/", folder.key()),
            ]
        );
        let plain = RegionFolder {
            prefix: None,
            org_id: None,
            kind: ObjectKind::Log,
            ..folder
        };
        assert_eq!(plain.key(), "AWSLogs/111122223333/CloudTrail/eu-west-1");
    }
}
