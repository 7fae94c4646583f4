//! Who made an event: the parts of `userIdentity` that attribution reads, owned.

use trailscan_records::Record;

/// A record's `userIdentity`, as far as attribution needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `type`: `IAMUser`, `AssumedRole`, `AWSAccount`, `AWSService`, ...
    pub kind: Option<String>,
    /// `arn`.
    pub arn: Option<String>,
    /// `accountId`.
    pub account_id: Option<String>,
    /// `principalId`.
    pub principal_id: Option<String>,
    /// `accessKeyId` (absent when empty).
    pub access_key_id: Option<String>,
    /// `userName`.
    pub user_name: Option<String>,
    /// `invokedBy`: the service that acted (an `AWSService` caller).
    pub invoked_by: Option<String>,
    /// `identityProvider` (SAML and web-identity users).
    pub identity_provider: Option<String>,
    /// `sessionContext.sessionIssuer.arn`: the role (or user) a session belongs to.
    pub issuer_arn: Option<String>,
    /// `sessionContext.attributes.creationDate`: when the session's key was issued.
    pub creation_date: Option<String>,
    /// `sessionContext.attributes.mfaAuthenticated`.
    pub mfa_authenticated: Option<bool>,
    /// `sessionContext.sourceIdentity`.
    pub source_identity: Option<String>,
}

/// The identity types at which a chain ends: a person or a service, not a session.
const TERMINAL: [&str; 6] = [
    "IAMUser",
    "Root",
    "AWSService",
    "SAMLUser",
    "WebIdentityUser",
    "IdentityCenterUser",
];

impl Identity {
    /// The `userIdentity` of `record`.
    pub fn of(record: &Record<'_, '_>) -> Identity {
        let at = |path: &[&str]| {
            let mut full = vec!["userIdentity"];
            full.extend_from_slice(path);
            record
                .str_at(&full)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Identity {
            kind: at(&["type"]),
            arn: at(&["arn"]),
            account_id: at(&["accountId"]),
            principal_id: at(&["principalId"]),
            access_key_id: at(&["accessKeyId"]),
            user_name: at(&["userName"]),
            invoked_by: at(&["invokedBy"]),
            identity_provider: at(&["identityProvider"]),
            issuer_arn: at(&["sessionContext", "sessionIssuer", "arn"]),
            creation_date: at(&["sessionContext", "attributes", "creationDate"]),
            mfa_authenticated: record.bool_at(&[
                "userIdentity",
                "sessionContext",
                "attributes",
                "mfaAuthenticated",
            ]),
            source_identity: at(&["sessionContext", "sourceIdentity"]),
        }
    }

    /// Whether the chain ends here: a person or a service, not a session of someone.
    pub fn is_terminal(&self) -> bool {
        self.kind.as_deref().is_some_and(|k| TERMINAL.contains(&k))
    }

    /// The session name of an assumed-role identity: the last segment of its ARN
    /// (`arn:aws:sts::1:assumed-role/ROLE/SESSION`), else of its `principalId` (`AROA...:SESSION`).
    pub fn session_name(&self) -> Option<&str> {
        let from_arn = self
            .arn
            .as_deref()
            .filter(|a| a.contains(":assumed-role/"))
            .and_then(|a| a.rsplit_once('/'))
            .map(|(_, s)| s);
        from_arn.or_else(|| {
            self.principal_id
                .as_deref()
                .and_then(|p| p.split_once(':'))
                .map(|(_, s)| s)
        })
    }

    /// The account: `accountId`, else the one in the ARN.
    pub fn account(&self) -> Option<&str> {
        self.account_id
            .as_deref()
            .or_else(|| self.arn.as_deref().and_then(account_of_arn))
    }

    /// How a person names this identity: its ARN, else the service that acted, else the
    /// provider and subject (SAML, web identity), else its principal id.
    pub fn name(&self) -> Option<String> {
        if let Some(arn) = &self.arn {
            return Some(arn.clone());
        }
        if let Some(service) = &self.invoked_by {
            return Some(service.clone());
        }
        match (&self.identity_provider, &self.user_name) {
            (Some(idp), Some(user)) => return Some(format!("{idp}:{user}")),
            (None, Some(user)) => return Some(user.clone()),
            _ => {}
        }
        self.principal_id.clone()
    }
}

/// Whether `key` is temporary (`ASIA...`: STS session credentials, which live at most 36
/// hours) rather than long-term (`AKIA...`, an IAM user's or root's, issued by
/// CreateAccessKey at any time before).
pub fn is_temporary_key(key: &str) -> bool {
    key.starts_with("ASIA")
}

/// Whether `record` was made by the principal `arn`: its `userIdentity.arn`, or its session
/// issuer's (a role's ARN names every session of the role).
pub fn made_by(record: &Record<'_, '_>, arn: &str) -> bool {
    record.str_at(&["userIdentity", "arn"]) == Some(arn)
        || record.str_at(&["userIdentity", "sessionContext", "sessionIssuer", "arn"]) == Some(arn)
}

/// The account of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`), if it names one.
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailscan_records::RecordParser;

    #[test]
    fn reads_a_role_session() {
        let json = r#"{"userIdentity":{"type":"AssumedRole","principalId":"AROAX:dev","arn":"arn:aws:sts::111111111111:assumed-role/Admin/dev","accountId":"111111111111","accessKeyId":"ASIAX","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111111111111:role/Admin"},"attributes":{"creationDate":"2024-01-01T00:00:00Z","mfaAuthenticated":"true"},"sourceIdentity":"alice"}}}"#;
        let id = RecordParser::default()
            .parse(json.as_bytes(), |r| Identity::of(&r))
            .unwrap();
        assert_eq!(id.kind.as_deref(), Some("AssumedRole"));
        assert_eq!(id.session_name(), Some("dev"));
        assert_eq!(
            id.issuer_arn.as_deref(),
            Some("arn:aws:iam::111111111111:role/Admin")
        );
        assert_eq!(id.mfa_authenticated, Some(true));
        assert_eq!(id.source_identity.as_deref(), Some("alice"));
        assert!(!id.is_terminal());
        assert_eq!(
            account_of_arn("arn:aws:iam::222222222222:role/R"),
            Some("222222222222")
        );
    }
}
