//! One parsed record and the lookup-events fields derived from it.
//!
//! The derivations follow what the service shows in `lookup-events` (reference
//! `cloudtrail-spec.md` section 4); the README lists each rule and where it may differ.

use simd_json::prelude::*;
use simd_json::tape::Value;

use crate::event_time::EventTime;

/// A record parsed onto simd-json's tape; fields are read on demand, nothing is copied.
#[derive(Clone, Copy)]
pub struct Record<'t, 'i> {
    root: Value<'t, 'i>,
}

/// Which events a record is, for the management-only default of lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Management events: what `lookup-events` returns by default.
    Management,
    /// Data events (`eventCategory: Data`).
    Data,
    /// Insights events.
    Insight,
    /// Network activity events, or any other category.
    Other,
}

/// The events that issue credentials, where `responseElements` names the new key (the
/// attribution reference, section 1). Cognito's `GetCredentialsForIdentity` is a data event:
/// there only when data events were logged.
pub const ISSUING_EVENTS: [&str; 8] = [
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "AssumeRoot",
    "GetSessionToken",
    "GetFederationToken",
    "CreateAccessKey",
    "GetCredentialsForIdentity",
];

/// S3 object-level operations: the data events of records written before `eventCategory`
/// (1.07) and `managementEvent` (1.06) existed. Lambda `Invoke` is the other one.
const S3_OBJECT_OPERATIONS: &[&str] = &[
    "AbortMultipartUpload",
    "CompleteMultipartUpload",
    "CopyObject",
    "CreateMultipartUpload",
    "DeleteObject",
    "DeleteObjectTagging",
    "DeleteObjects",
    "GetObject",
    "GetObjectAcl",
    "GetObjectAttributes",
    "GetObjectLegalHold",
    "GetObjectRetention",
    "GetObjectTagging",
    "GetObjectTorrent",
    "HeadObject",
    "ListParts",
    "PutObject",
    "PutObjectAcl",
    "PutObjectLegalHold",
    "PutObjectRetention",
    "PutObjectTagging",
    "RestoreObject",
    "SelectObjectContent",
    "UploadPart",
    "UploadPartCopy",
];

fn str_of<'i>(v: Option<Value<'_, 'i>>) -> Option<&'i str> {
    v.and_then(|v| v.into_string())
}

impl<'t, 'i> Record<'t, 'i> {
    /// Wraps a parsed value; `None` unless it is a JSON object.
    pub fn new(root: Value<'t, 'i>) -> Option<Record<'t, 'i>> {
        root.is_object().then_some(Record { root })
    }

    /// The parsed record itself, for a consumer that reads every field (the export).
    pub fn value(&self) -> Value<'t, 'i> {
        self.root
    }

    /// A top-level string field.
    pub fn str_field(&self, name: &str) -> Option<&'i str> {
        str_of(self.root.get(name))
    }

    /// The value at `path` (object keys, outermost first), if every step is an object.
    fn value_at(&self, path: &[&str]) -> Option<Value<'t, 'i>> {
        path.iter().try_fold(self.root, |v, key| v.get(key))
    }

    /// The string at `path` (`["userIdentity", "sessionContext", "sessionIssuer", "arn"]`).
    pub fn str_at(&self, path: &[&str]) -> Option<&'i str> {
        str_of(self.value_at(path))
    }

    /// The boolean at `path`: a JSON boolean, or the strings `"true"`/`"false"` CloudTrail
    /// writes in `sessionContext.attributes.mfaAuthenticated`.
    pub fn bool_at(&self, path: &[&str]) -> Option<bool> {
        let v = self.value_at(path)?;
        v.as_bool().or_else(|| match v.as_str()? {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
    }

    fn user_identity(&self) -> Option<Value<'t, 'i>> {
        self.root.get("userIdentity").filter(|v| v.is_object())
    }

    fn insight_details(&self) -> Option<Value<'t, 'i>> {
        self.root.get("insightDetails").filter(|v| v.is_object())
    }

    /// `eventTime` as written.
    pub fn event_time_text(&self) -> Option<&'i str> {
        self.str_field("eventTime")
    }

    /// `eventTime`, parsed.
    pub fn event_time(&self) -> Option<EventTime> {
        self.event_time_text().and_then(EventTime::parse)
    }

    /// `eventID`.
    pub fn event_id(&self) -> Option<&'i str> {
        self.str_field("eventID")
    }

    /// `eventName`; for Insights records, `insightDetails.eventName`.
    pub fn event_name(&self) -> Option<&'i str> {
        self.str_field("eventName")
            .or_else(|| str_of(self.insight_details()?.get("eventName")))
    }

    /// `eventSource`; for Insights records, `insightDetails.eventSource`.
    pub fn event_source(&self) -> Option<&'i str> {
        self.str_field("eventSource")
            .or_else(|| str_of(self.insight_details()?.get("eventSource")))
    }

    /// `readOnly`: a JSON boolean, or the strings `"true"`/`"false"` some producers write.
    pub fn read_only(&self) -> Option<bool> {
        self.bool_at(&["readOnly"])
    }

    /// `userIdentity.accessKeyId`; an empty string counts as absent, as the service omits it.
    pub fn access_key_id(&self) -> Option<&'i str> {
        str_of(self.user_identity()?.get("accessKeyId")).filter(|s| !s.is_empty())
    }

    /// The access key this record issued: an issuing event ([`ISSUING_EVENTS`]) without
    /// `errorCode` whose `responseElements.credentials.accessKeyId` (or, for CreateAccessKey,
    /// `responseElements.accessKey.accessKeyId`) names one. What trace links keys by, and what
    /// the index holds for it.
    pub fn issued_access_key(&self) -> Option<&'i str> {
        let name = self.event_name()?;
        if !ISSUING_EVENTS.contains(&name) || self.str_field("errorCode").is_some() {
            return None;
        }
        self.str_at(&["responseElements", "credentials", "accessKeyId"])
            .or_else(|| self.str_at(&["responseElements", "accessKey", "accessKeyId"]))
            .filter(|k| !k.is_empty())
    }

    /// The `Username` lookup-events shows:
    /// - `Root`: `root`;
    /// - `AssumedRole`, `FederatedUser`: the session or federated user name, the last `/`
    ///   segment of `arn` (else the part of `principalId` after `:`);
    /// - `AWSService`: none;
    /// - `IdentityCenterUser`: `userName`, else `onBehalfOf.userId`;
    /// - any other type: `userName` when present and non-empty.
    pub fn username(&self) -> Option<&'i str> {
        let identity = self.user_identity()?;
        let user_name = || str_of(identity.get("userName")).filter(|s| !s.is_empty());
        match str_of(identity.get("type")) {
            Some("Root") => Some("root"),
            Some("AWSService") => None,
            Some("AssumedRole" | "FederatedUser") => {
                let from_arn = str_of(identity.get("arn"))
                    .and_then(|arn| arn.rsplit_once('/'))
                    .map(|(_, name)| name);
                let from_principal = || {
                    str_of(identity.get("principalId"))
                        .and_then(|p| p.split_once(':'))
                        .map(|(_, name)| name)
                };
                from_arn
                    .or_else(from_principal)
                    .filter(|s| !s.is_empty())
                    .or_else(user_name)
            }
            Some("IdentityCenterUser") => user_name().or_else(|| {
                str_of(identity.get("onBehalfOf")?.get("userId")).filter(|s| !s.is_empty())
            }),
            _ => user_name(),
        }
    }

    /// The record's `resources[]` as (`type`, `ARN`) pairs; entries that are not objects are
    /// passed over.
    pub fn resources(&self) -> impl Iterator<Item = (Option<&'i str>, Option<&'i str>)> + 't {
        self.root
            .get("resources")
            .and_then(|v| v.as_array())
            .into_iter()
            .flat_map(|a| a.iter())
            .filter(|r| r.is_object())
            .map(|r| (str_of(r.get("type")), str_of(r.get("ARN"))))
    }

    /// The record's category. Without `eventCategory` (before eventVersion 1.07), the
    /// `managementEvent` flag decides (1.06); without either, S3 object-level operations and
    /// Lambda `Invoke` are data events and everything else is a management event, which is
    /// what the service logged before data events had a flag.
    pub fn category(&self) -> Category {
        match self.str_field("eventCategory") {
            Some("Management") => return Category::Management,
            Some("Data") => return Category::Data,
            Some("Insight") => return Category::Insight,
            Some(_) => return Category::Other,
            None => {}
        }
        if let Some(management) = self.root.get("managementEvent").and_then(|v| v.as_bool()) {
            return if management {
                Category::Management
            } else {
                Category::Data
            };
        }
        if self.str_field("eventType") == Some("AwsCloudTrailInsight") {
            return Category::Insight;
        }
        let data = match (self.str_field("eventSource"), self.str_field("eventName")) {
            (Some("s3.amazonaws.com"), Some(name)) => S3_OBJECT_OPERATIONS.contains(&name),
            (Some("lambda.amazonaws.com"), Some(name)) => name.starts_with("Invoke"),
            _ => false,
        };
        if data {
            Category::Data
        } else {
            Category::Management
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecordParser;

    fn with<R>(json: &str, f: impl FnOnce(Record<'_, '_>) -> R) -> R {
        RecordParser::default().parse(json.as_bytes(), f).unwrap()
    }

    fn user(identity: &str) -> Option<String> {
        with(&format!(r#"{{"userIdentity":{identity}}}"#), |r| {
            r.username().map(str::to_owned)
        })
    }

    #[test]
    fn username_rules() {
        assert_eq!(
            user(r#"{"type":"Root","arn":"arn:aws:iam::1:root","userName":"alias"}"#).as_deref(),
            Some("root")
        );
        assert_eq!(
            user(r#"{"type":"IAMUser","userName":"alice"}"#).as_deref(),
            Some("alice")
        );
        assert_eq!(user(r#"{"type":"IAMUser","userName":""}"#), None);
        assert_eq!(
            user(r#"{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/Admin/my-session","principalId":"AROA:x","sessionContext":{"sessionIssuer":{"userName":"Admin"}}}"#).as_deref(),
            Some("my-session")
        );
        assert_eq!(
            user(r#"{"type":"AssumedRole","principalId":"AROAEXAMPLE:botocore-session-1"}"#)
                .as_deref(),
            Some("botocore-session-1")
        );
        assert_eq!(
            user(r#"{"type":"FederatedUser","arn":"arn:aws:sts::1:federated-user/bob"}"#)
                .as_deref(),
            Some("bob")
        );
        assert_eq!(
            user(r#"{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}"#),
            None
        );
        assert_eq!(
            user(r#"{"type":"IdentityCenterUser","onBehalfOf":{"userId":"u-1"}}"#).as_deref(),
            Some("u-1")
        );
        assert_eq!(
            user(r#"{"type":"AWSAccount","principalId":"AIDA","accountId":"1"}"#),
            None
        );
        assert_eq!(user("null"), None);
    }

    #[test]
    fn categories_old_and_new() {
        let cat = |json: &str| with(json, |r| r.category());
        assert_eq!(
            cat(r#"{"eventCategory":"Management"}"#),
            Category::Management
        );
        assert_eq!(
            cat(r#"{"eventCategory":"Data","managementEvent":true}"#),
            Category::Data
        );
        assert_eq!(
            cat(r#"{"eventCategory":"NetworkActivity"}"#),
            Category::Other
        );
        assert_eq!(cat(r#"{"managementEvent":false}"#), Category::Data);
        assert_eq!(
            cat(r#"{"eventType":"AwsCloudTrailInsight"}"#),
            Category::Insight
        );
        assert_eq!(
            cat(
                r#"{"eventVersion":"1.05","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#
            ),
            Category::Data
        );
        assert_eq!(
            cat(
                r#"{"eventVersion":"1.05","eventSource":"s3.amazonaws.com","eventName":"CreateBucket"}"#
            ),
            Category::Management
        );
        assert_eq!(
            cat(
                r#"{"eventVersion":"1.02","eventSource":"ec2.amazonaws.com","eventName":"RunInstances"}"#
            ),
            Category::Management
        );
    }

    #[test]
    fn fields_tolerate_wrong_types() {
        let json = r#"{"readOnly":"false","resources":[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::b"},"junk",{"ARN":5}],
            "userIdentity":{"type":"IAMUser","accessKeyId":""},"insightDetails":{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com"}}"#;
        with(json, |r| {
            assert_eq!(r.read_only(), Some(false));
            let res: Vec<_> = r.resources().collect();
            assert_eq!(
                res,
                vec![
                    (Some("AWS::S3::Bucket"), Some("arn:aws:s3:::b")),
                    (None, None)
                ]
            );
            assert_eq!(r.access_key_id(), None);
            assert_eq!(r.event_name(), Some("RunInstances"));
            assert_eq!(r.event_source(), Some("ec2.amazonaws.com"));
            assert_eq!(r.event_time(), None);
            assert_eq!(r.str_at(&["userIdentity", "type"]), Some("IAMUser"));
            assert_eq!(r.str_at(&["userIdentity", "type", "x"]), None);
            assert_eq!(r.str_at(&["resources", "0"]), None);
            assert_eq!(r.bool_at(&["readOnly"]), Some(false));
        });
    }
}
