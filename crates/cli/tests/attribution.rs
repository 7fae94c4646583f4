//! `trailscan trace` and `trailscan summary`.
//!
//! trace over an archive written with every chain shape of the attribution
//! reference (same-account and cross-account role chains with both copies or one,
//! GetFederationToken, GetSessionToken, CreateAccessKey, EC2 and Lambda service roles, a
//! failed AssumeRole, an issuer outside the archive, two keys issued to one session in one
//! second, a chain whose issuing event is in another region and before the window), and over
//! the real samples, whose linked key pairs the reference names. summary over the sample
//! archive and the chains, its counts checked against an independent computation (flate2 and
//! serde_json over the same files).

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

const USER_ACCOUNT: &str = "111111111111";
const ROLE_ACCOUNT: &str = "222222222222";

/// Writes `records` as one log file of `account` in `region`, delivered at `stamp`
/// (`YYYYMMDDTHHMMZ`).
fn write_log(root: &Path, account: &str, region: &str, stamp: &str, records: &[Value]) {
    let (y, m, d) = (&stamp[0..4], &stamp[4..6], &stamp[6..8]);
    let name = format!(
        "{account}_CloudTrail_{region}_{stamp}_{:016x}.json.gz",
        records.len() as u64 * 7919 + stamp.len() as u64
    );
    let dir = root.join(format!("AWSLogs/{account}/CloudTrail/{region}/{y}/{m}/{d}"));
    fs::create_dir_all(&dir).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json!({ "Records": records }).to_string().as_bytes())
        .unwrap();
    fs::write(dir.join(name), gz.finish().unwrap()).unwrap();
}

fn iam_user(account: &str, name: &str, key: &str) -> Value {
    json!({"type": "IAMUser", "principalId": format!("AIDA{}", name.to_uppercase()),
           "arn": format!("arn:aws:iam::{account}:user/{name}"), "accountId": account,
           "accessKeyId": key, "userName": name})
}

fn role_session(account: &str, role: &str, session: &str, key: &str, created: &str) -> Value {
    json!({"type": "AssumedRole", "principalId": format!("AROA{}:{session}", role.to_uppercase()),
           "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
           "accountId": account, "accessKeyId": key,
           "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{account}:role/{role}"),
                                                "accountId": account, "userName": role},
                              "attributes": {"creationDate": created, "mfaAuthenticated": "true"}}})
}

fn service(name: &str) -> Value {
    json!({"type": "AWSService", "invokedBy": name})
}

/// An issuing event (`AssumeRole` unless `name` says otherwise) copied to `recipient`.
#[allow(clippy::too_many_arguments)]
fn issuing(
    name: &str,
    id: &str,
    time: &str,
    recipient: &str,
    caller: Value,
    role: Option<(&str, &str)>,
    key: &str,
    shared: Option<&str>,
) -> Value {
    let mut event = json!({
        "eventVersion": "1.08", "eventID": id, "eventName": name, "eventTime": time,
        "eventSource": if name == "CreateAccessKey" { "iam.amazonaws.com" } else { "sts.amazonaws.com" },
        "awsRegion": "us-east-1", "recipientAccountId": recipient, "userIdentity": caller,
        "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15.0", "readOnly": name.starts_with("Assume"),
        "eventType": "AwsApiCall", "managementEvent": true, "eventCategory": "Management",
        "responseElements": if name == "CreateAccessKey" {
            json!({"accessKey": {"accessKeyId": key, "status": "Active", "userName": "ci-bot"}})
        } else {
            json!({"credentials": {"accessKeyId": key, "expiration": "Jan 2, 2024, 1:00:00 AM"}})
        },
    });
    if let Some((role_arn, session)) = role {
        event["requestParameters"] = json!({"roleArn": role_arn, "roleSessionName": session});
    }
    if let Some(shared) = shared {
        event["sharedEventID"] = json!(shared);
    }
    event
}

fn used(id: &str, time: &str, recipient: &str, region: &str, identity: Value) -> Value {
    json!({"eventVersion": "1.08", "eventID": id, "eventName": "DescribeInstances", "eventTime": time,
           "eventSource": "ec2.amazonaws.com", "awsRegion": region, "recipientAccountId": recipient,
           "userIdentity": identity, "sourceIPAddress": "198.51.100.9", "readOnly": true,
           "eventType": "AwsApiCall", "managementEvent": true, "eventCategory": "Management"})
}

/// The archive: two accounts, two regions, one day (and the evening before).
fn chains_archive(root: &Path) {
    let (u, r) = (USER_ACCOUNT, ROLE_ACCOUNT);
    let deploy = format!("arn:aws:iam::{u}:role/Deploy");
    let admin = format!("arn:aws:iam::{u}:role/Admin");
    let audit = format!("arn:aws:iam::{r}:role/Audit");
    let ec2 = format!("arn:aws:iam::{u}:role/Ec2");
    let lambda = format!("arn:aws:iam::{u}:role/Fn");
    // The evening before the window: alice assumes Deploy (us-east-1, STS's global endpoint).
    write_log(
        root,
        u,
        "us-east-1",
        "20240101T2300Z",
        &[issuing(
            "AssumeRole",
            "e-deploy",
            "2024-01-01T22:58:00Z",
            u,
            iam_user(u, "alice", "AKIAALICE"),
            Some((&deploy, "alice-deploy")),
            "ASIADEPLOY",
            None,
        )],
    );
    write_log(
        root,
        u,
        "us-east-1",
        "20240102T0100Z",
        &[
            // Deploy chains to Admin.
            issuing(
                "AssumeRole",
                "e-admin",
                "2024-01-02T00:55:00Z",
                u,
                role_session(
                    u,
                    "Deploy",
                    "alice-deploy",
                    "ASIADEPLOY",
                    "2024-01-01T22:58:00Z",
                ),
                Some((&admin, "chained")),
                "ASIAADMIN",
                None,
            ),
            // bob (account U) into Audit (account R): the caller's copy.
            issuing(
                "AssumeRole",
                "e-audit-u",
                "2024-01-02T00:56:00Z",
                u,
                iam_user(u, "bob", "AKIABOB"),
                Some((&audit, "bob-audit")),
                "ASIAAUDIT",
                Some("shared-audit"),
            ),
            // A failed AssumeRole: issues nothing.
            {
                let mut failed = issuing(
                    "AssumeRole",
                    "e-failed",
                    "2024-01-02T00:57:00Z",
                    u,
                    iam_user(u, "mallory", "AKIAMALLORY"),
                    Some((&admin, "m")),
                    "ASIAFAILED",
                    None,
                );
                failed["errorCode"] = json!("AccessDenied");
                failed
            },
            issuing(
                "GetFederationToken",
                "e-fed",
                "2024-01-02T00:58:00Z",
                u,
                iam_user(u, "carol", "AKIACAROL"),
                None,
                "ASIAFED",
                None,
            ),
            issuing(
                "GetSessionToken",
                "e-sts",
                "2024-01-02T00:58:30Z",
                u,
                iam_user(u, "dave", "AKIADAVE"),
                None,
                "ASIASESSION",
                None,
            ),
            issuing(
                "CreateAccessKey",
                "e-cak",
                "2024-01-02T00:59:00Z",
                u,
                iam_user(u, "admin", "AKIAADMINUSER"),
                None,
                "AKIACIBOT",
                None,
            ),
            // EC2 issues two keys to one instance session in one second; Lambda one.
            issuing(
                "AssumeRole",
                "e-ec2-1",
                "2024-01-02T00:59:30Z",
                u,
                service("ec2.amazonaws.com"),
                Some((&ec2, "i-0abc")),
                "ASIAEC2ONE",
                Some("shared-ec2-1"),
            ),
            issuing(
                "AssumeRole",
                "e-ec2-2",
                "2024-01-02T00:59:30Z",
                u,
                service("ec2.amazonaws.com"),
                Some((&ec2, "i-0abc")),
                "ASIAEC2TWO",
                Some("shared-ec2-2"),
            ),
            issuing(
                "AssumeRole",
                "e-fn",
                "2024-01-02T00:59:40Z",
                u,
                service("lambda.amazonaws.com"),
                Some((&lambda, "fn-session")),
                "ASIALAMBDA",
                Some("shared-fn"),
            ),
        ],
    );
    // The role account's copy of bob's call; and a call into Audit whose caller's account is
    // not in the archive (only the role account's copy).
    write_log(
        root,
        r,
        "us-east-1",
        "20240102T0100Z",
        &[
            issuing(
                "AssumeRole",
                "e-audit-r",
                "2024-01-02T00:56:00Z",
                r,
                json!({"type": "AWSAccount", "principalId": "AIDABOB", "accountId": u}),
                Some((&audit, "bob-audit")),
                "ASIAAUDIT",
                Some("shared-audit"),
            ),
            issuing(
                "AssumeRole",
                "e-outside-r",
                "2024-01-02T00:56:30Z",
                r,
                json!({"type": "AWSAccount", "principalId": "AIDAEXT", "accountId": "333333333333"}),
                Some((&audit, "ext")),
                "ASIAOUTSIDE",
                Some("shared-outside"),
            ),
        ],
    );
    // The uses, in eu-west-1.
    write_log(
        root,
        u,
        "eu-west-1",
        "20240102T0200Z",
        &[
            used(
                "u-admin",
                "2024-01-02T01:30:00Z",
                u,
                "eu-west-1",
                role_session(u, "Admin", "chained", "ASIAADMIN", "2024-01-02T00:55:00Z"),
            ),
            used(
                "u-admin-2",
                "2024-01-02T01:40:00Z",
                u,
                "eu-west-1",
                role_session(u, "Admin", "chained", "ASIAADMIN", "2024-01-02T00:55:00Z"),
            ),
            used(
                "u-fed",
                "2024-01-02T01:31:00Z",
                u,
                "eu-west-1",
                json!({"type": "FederatedUser", "principalId": format!("{u}:carol-fed"),
            "arn": format!("arn:aws:sts::{u}:federated-user/carol-fed"), "accountId": u, "accessKeyId": "ASIAFED",
            "sessionContext": {"sessionIssuer": {"type": "IAMUser", "arn": format!("arn:aws:iam::{u}:user/carol")}}}),
            ),
            used(
                "u-sts",
                "2024-01-02T01:32:00Z",
                u,
                "eu-west-1",
                iam_user(u, "dave", "ASIASESSION"),
            ),
            used(
                "u-cak",
                "2024-01-02T01:33:00Z",
                u,
                "eu-west-1",
                iam_user(u, "ci-bot", "AKIACIBOT"),
            ),
            used(
                "u-ec2",
                "2024-01-02T01:34:00Z",
                u,
                "eu-west-1",
                role_session(u, "Ec2", "i-0abc", "ASIAEC2TWO", "2024-01-02T00:59:30Z"),
            ),
            used(
                "u-fn",
                "2024-01-02T01:35:00Z",
                u,
                "eu-west-1",
                role_session(u, "Fn", "fn-session", "ASIALAMBDA", "2024-01-02T00:59:40Z"),
            ),
            // An instance key whose AssumeRole is not in the archive.
            used(
                "u-stolen",
                "2024-01-02T01:36:00Z",
                u,
                "eu-west-1",
                role_session(u, "Ec2", "i-0def", "ASIASTOLEN", "2024-01-01T20:00:00Z"),
            ),
            // A key the one-second tuple cannot place: issued to i-0abc at 00:59:30, twice.
            used(
                "u-ambiguous",
                "2024-01-02T01:37:00Z",
                u,
                "eu-west-1",
                role_session(u, "Ec2", "i-0abc", "ASIAEC2THREE", "2024-01-02T00:59:30Z"),
            ),
            // mallory's failed attempt's key is never used; her own key is.
            used(
                "u-mallory",
                "2024-01-02T01:38:00Z",
                u,
                "eu-west-1",
                iam_user(u, "mallory", "AKIAMALLORY"),
            ),
        ],
    );
    write_log(
        root,
        r,
        "eu-west-1",
        "20240102T0200Z",
        &[
            used(
                "u-audit",
                "2024-01-02T01:39:00Z",
                r,
                "eu-west-1",
                role_session(r, "Audit", "bob-audit", "ASIAAUDIT", "2024-01-02T00:56:00Z"),
            ),
            used(
                "u-outside",
                "2024-01-02T01:39:30Z",
                r,
                "eu-west-1",
                role_session(r, "Audit", "ext", "ASIAOUTSIDE", "2024-01-02T00:56:30Z"),
            ),
        ],
    );
}

fn trace(root: &Path, args: &[&str]) -> (Value, String) {
    let mut all = vec!["trace", "--source", root.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = common::trailscan(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "trace {args:?}: {stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

/// (event id, link) of each hop.
type Hops = Vec<(String, String)>;
/// The origin's type, name and whether it is complete.
type OriginShape = (Value, Value, Value);

/// A trace's hops, then its origin.
fn shape(t: &Value) -> (Hops, OriginShape) {
    let hops = t["Hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["EventId"].as_str().unwrap().to_string(),
                h["Link"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let o = &t["Origin"];
    (
        hops,
        (o["Type"].clone(), o["Arn"].clone(), o["Complete"].clone()),
    )
}

fn hops(list: &[(&str, &str)]) -> Hops {
    list.iter()
        .map(|(e, l)| (e.to_string(), l.to_string()))
        .collect()
}

#[test]
fn every_chain_shape_of_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    chains_archive(dir.path());
    let u = USER_ACCOUNT;
    let window = [
        "--start-time",
        "2024-01-02T00:00:00Z",
        "--end-time",
        "2024-01-02T23:59:59Z",
    ];
    // A complete origin: an IAM user of the user account.
    let iam_user = |name: &str| -> OriginShape {
        (
            json!("IAMUser"),
            json!(format!("arn:aws:iam::{u}:user/{name}")),
            json!(true),
        )
    };
    let cases: Vec<(&str, Hops, OriginShape)> = vec![
        // Two hops back, the first issuing event 22 hours before the window, in another region.
        (
            "ASIAADMIN",
            hops(&[("e-admin", "exact"), ("e-deploy", "exact")]),
            iam_user("alice"),
        ),
        // Cross-account: the caller's copy names bob.
        (
            "ASIAAUDIT",
            hops(&[("e-audit-u", "exact")]),
            iam_user("bob"),
        ),
        // Only the role account's copy: the caller's account is named, not the caller.
        (
            "ASIAOUTSIDE",
            hops(&[("e-outside-r", "exact")]),
            (json!("AWSAccount"), Value::Null, json!(false)),
        ),
        ("ASIAFED", hops(&[("e-fed", "exact")]), iam_user("carol")),
        ("ASIASESSION", hops(&[("e-sts", "exact")]), iam_user("dave")),
        // A long-term key belongs to its user; who created it is reported, not a hop.
        ("AKIACIBOT", hops(&[]), iam_user("ci-bot")),
        // Two keys issued to one session in one second: each found by its own key.
        (
            "ASIAEC2TWO",
            hops(&[("e-ec2-2", "exact")]),
            (json!("AWSService"), json!("ec2.amazonaws.com"), json!(true)),
        ),
        (
            "ASIALAMBDA",
            hops(&[("e-fn", "exact")]),
            (
                json!("AWSService"),
                json!("lambda.amazonaws.com"),
                json!(true),
            ),
        ),
        // The issuer is outside the archive: where it would be is said.
        (
            "ASIASTOLEN",
            hops(&[]),
            (
                json!("AssumedRole"),
                json!(format!("arn:aws:sts::{u}:assumed-role/Ec2/i-0def")),
                json!(false),
            ),
        ),
        (
            "ASIAEC2THREE",
            hops(&[]),
            (
                json!("AssumedRole"),
                json!(format!("arn:aws:sts::{u}:assumed-role/Ec2/i-0abc")),
                json!(false),
            ),
        ),
        // A long-term key with no CreateAccessKey in the archive: its user is the origin.
        ("AKIAMALLORY", hops(&[]), iam_user("mallory")),
        // The failed AssumeRole's key: issued by nothing, used by nothing.
        (
            "ASIAFAILED",
            hops(&[]),
            (Value::Null, Value::Null, json!(false)),
        ),
    ];
    for (key, expected_hops, expected_origin) in cases {
        let mut args = vec!["--access-key", key];
        args.extend_from_slice(&window);
        let (t, _) = trace(dir.path(), &args);
        assert_eq!(shape(&t), (expected_hops, expected_origin), "{key}: {t:#}");
    }
    let (t, _) = trace(dir.path(), &["--access-key", "ASIAOUTSIDE"]);
    let reason = t["Origin"]["Reason"].as_str().unwrap();
    assert!(
        reason.contains("333333333333") && reason.contains("shared-outside"),
        "{reason}"
    );
    let (t, _) = trace(dir.path(), &["--access-key", "ASIASTOLEN"]);
    let reason = t["Origin"]["Reason"].as_str().unwrap();
    assert!(
        reason.contains("arn:aws:iam::111111111111:role/Ec2") && reason.contains("i-0def"),
        "{reason}"
    );
    // The calls of that second issued other keys: evidence against each, never a link.
    let (t, _) = trace(dir.path(), &["--access-key", "ASIAEC2THREE"]);
    assert!(
        t["Origin"]["Reason"].as_str().unwrap().starts_with(
            "the session's role, name and creation second match only calls that issued other keys"
        ),
        "{t:#}"
    );
    // Uses: counted in the window only.
    let (t, _) = trace(dir.path(), &["--access-key", "ASIAADMIN"]);
    assert_eq!(
        (
            t["EventsWithKey"].clone(),
            t["FirstUse"].clone(),
            t["LastUse"].clone()
        ),
        (
            json!(2),
            json!("2024-01-02T01:30:00Z"),
            json!("2024-01-02T01:40:00Z")
        )
    );
    let (t, _) = trace(
        dir.path(),
        &[
            "--access-key",
            "ASIAADMIN",
            "--start-time",
            "2024-01-02T01:35:00Z",
        ],
    );
    assert_eq!(t["EventsWithKey"], 1);
    assert_eq!(
        t["Hops"].as_array().unwrap().len(),
        2,
        "issuers before the window are found"
    );
    // A window starting 37 hours after alice's AssumeRole: the scan starts 36 hours before
    // the window, so the chain stops at the Deploy session and says where its issuer is.
    let (t, _) = trace(
        dir.path(),
        &[
            "--access-key",
            "ASIAADMIN",
            "--start-time",
            "2024-01-03T12:00:00Z",
        ],
    );
    assert_eq!(t["EventsWithKey"], 0);
    assert_eq!(
        shape(&t),
        (
            hops(&[("e-admin", "exact")]),
            (
                json!("AssumedRole"),
                json!(format!("arn:aws:sts::{u}:assumed-role/Deploy/alice-deploy")),
                json!(false)
            )
        )
    );
}

#[test]
fn every_key_of_a_principal_and_the_other_formats() {
    let dir = tempfile::tempdir().unwrap();
    chains_archive(dir.path());
    let role = format!("arn:aws:iam::{USER_ACCOUNT}:role/Ec2");
    let (answer, stderr) = trace(dir.path(), &["--principal", &role]);
    let keys: Vec<&str> = answer["Traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["AccessKeyId"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ASIAEC2THREE", "ASIAEC2TWO", "ASIASTOLEN"]);
    assert_eq!(answer["Principal"], json!(role));
    assert!(
        stderr.contains("ASIASTOLEN: 0 hop(s) (0 heuristic), origin AssumedRole"),
        "{stderr}"
    );
    let root = dir.path().to_str().unwrap();
    for format in ["table", "text"] {
        let out = common::trailscan(&[
            "trace",
            "--source",
            root,
            "--access-key",
            "ASIAADMIN",
            "--output",
            format,
        ]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success());
        assert!(
            text.contains("e-deploy") && text.contains("arn:aws:iam::111111111111:user/alice"),
            "{text}"
        );
        if format == "table" {
            assert!(text.lines().nth(1).unwrap().contains("Trace"), "{text}");
        }
    }
}

#[test]
fn the_real_samples_linked_pairs() {
    let Some(real) = common::real_samples() else {
        return;
    };
    let dd = real.join("DataDog__stratus-red-team");
    let cases = [
        (
            "ASIA36EV31F1RB3OA8IG",
            "099bfd30-232c-4dff-9998-3821921063ca",
            "arn:aws:iam::307578594326:user/christophe",
        ),
        (
            "ASIA9F6MXE9HSYOXYQOS",
            "04c882a5-7652-40d1-b44c-83535fc19268",
            "arn:aws:iam::900138736586:user/christophe",
        ),
        (
            "ASIASTJKC5GCM7ZE6LUP",
            "6e882b9d-2af8-4c67-b91f-aeac6a0e5e70",
            "arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user",
        ),
    ];
    for (key, event, origin) in cases {
        let (t, _) = trace(&dd, &["--access-key", key]);
        assert_eq!(
            shape(&t),
            (
                hops(&[(event, "exact")]),
                (json!("IAMUser"), json!(origin), json!(true))
            ),
            "{key}: {t:#}"
        );
    }
    // The reference's example of a key whose issuer is not in the samples: what the usage
    // events tell is reported, not a guess.
    let (t, _) = trace(&dd, &["--access-key", "ASIAP5CT9NN8EYVU1FXV"]);
    assert!(t["Hops"].as_array().unwrap().is_empty());
    assert_eq!(t["Origin"]["Complete"], false);
    let reason = t["Origin"]["Reason"].as_str().unwrap();
    assert!(
        reason.contains("i-786a3A8B5C0d92eF4") && reason.contains("2024-08-02T08:20:52Z"),
        "{reason}"
    );
}

// ---------------------------------------------------------------------------------------
// summary

/// Every record of the archive's log files (not Insights), with a valid eventTime, once per
/// eventID.
fn all_records(root: &Path) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let mut records = Vec::new();
    for file in trailscan_fixtures::files_under(root).unwrap() {
        let name = file.to_string_lossy();
        if !name.ends_with(".json.gz") || !name.contains("/CloudTrail/") {
            continue;
        }
        let mut text = Vec::new();
        let read = std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(fs::File::open(&file).unwrap()),
            &mut text,
        );
        let Ok(Value::Object(doc)) = read
            .map_err(drop)
            .and_then(|_| serde_json::from_slice(&text).map_err(drop))
        else {
            continue;
        };
        for r in doc
            .get("Records")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let time_ok = r["eventTime"]
                .as_str()
                .is_some_and(|t| t.len() >= 20 && t.ends_with('Z'));
            let id = r["eventID"].as_str().unwrap_or_default().to_string();
            if time_ok && (id.is_empty() || seen.insert(id)) {
                records.push(r.clone());
            }
        }
    }
    records
}

/// The principal a record's identity names, as the summary groups by: its ARN, else the
/// service, else the principal id.
fn principal_of(r: &Value) -> String {
    let id = &r["userIdentity"];
    id["arn"]
        .as_str()
        .or(id["invokedBy"].as_str())
        .or(id["principalId"].as_str())
        .unwrap_or("(unnamed)")
        .to_string()
}

/// What the summary must say of `records`, per principal: events, failed, first and last
/// seen, counts by event name and by error code, regions, source IPs, keys, resources.
fn expected_summaries(records: &[&Value]) -> std::collections::BTreeMap<String, Value> {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in records {
        by.entry(principal_of(r)).or_default().push(r);
    }
    by.into_iter()
        .map(|(principal, rs)| {
            let mut names: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            let mut codes: BTreeMap<String, u64> = BTreeMap::new();
            let tally = |m: &mut BTreeMap<String, u64>, v: &Value| {
                if let Some(v) = v.as_str().filter(|v| !v.is_empty()) {
                    *m.entry(v.to_string()).or_default() += 1;
                }
            };
            let (mut regions, mut ips, mut keys, mut resources) =
                (BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
            for r in &rs {
                let name = format!("{}/{}", r["eventSource"].as_str().unwrap_or(""), r["eventName"].as_str().unwrap_or(""));
                let entry = names.entry(name).or_default();
                entry.0 += 1;
                if let Some(code) = r["errorCode"].as_str() {
                    entry.1 += 1;
                    *codes.entry(code.to_string()).or_default() += 1;
                }
                tally(&mut regions, &r["awsRegion"]);
                tally(&mut ips, &r["sourceIPAddress"]);
                tally(&mut keys, &r["userIdentity"]["accessKeyId"]);
                for res in r["resources"].as_array().into_iter().flatten() {
                    tally(&mut resources, &res["ARN"]);
                }
            }
            let times: Vec<&str> = rs.iter().map(|r| r["eventTime"].as_str().unwrap()).collect();
            let failed: u64 = names.values().map(|n| n.1).sum();
            (principal, json!({
                "Events": rs.len(), "FailedEvents": failed,
                "FirstSeen": times.iter().min(), "LastSeen": times.iter().max(),
                "EventNames": names.into_iter().map(|(k, (n, f))| (k, json!([n, f]))).collect::<serde_json::Map<_, _>>(),
                "ErrorCodes": codes, "Regions": regions, "SourceIPAddresses": ips,
                "AccessKeys": keys, "Resources": resources,
            }))
        })
        .collect()
}

/// The same view of what `summary` printed.
fn printed_summaries(answer: &Value) -> std::collections::BTreeMap<String, Value> {
    use std::collections::BTreeMap;
    answer["Summaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut codes: BTreeMap<String, u64> = BTreeMap::new();
            let names: serde_json::Map<String, Value> = s["EventNames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    for (code, n) in e["ErrorCodes"].as_object().unwrap() {
                        *codes.entry(code.clone()).or_default() += n.as_u64().unwrap();
                    }
                    let key = format!("{}/{}", e["EventSource"].as_str().unwrap(), e["EventName"].as_str().unwrap());
                    (key, json!([e["Count"], e["Failed"]]))
                })
                .collect();
            let keys: BTreeMap<String, Value> = s["AccessKeys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| (k["AccessKeyId"].as_str().unwrap().to_string(), k["Events"].clone()))
                .collect();
            let resources: BTreeMap<String, Value> = s["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["ARN"].as_str().unwrap().to_string(), r["Events"].clone()))
                .collect();
            (s["Principal"].as_str().unwrap().to_string(), json!({
                "Events": s["Events"], "FailedEvents": s["FailedEvents"],
                "FirstSeen": s["FirstSeen"], "LastSeen": s["LastSeen"],
                "EventNames": names, "ErrorCodes": codes, "Regions": s["Regions"],
                "SourceIPAddresses": s["SourceIPAddresses"], "AccessKeys": keys, "Resources": resources,
            }))
        })
        .collect()
}

fn summary(root: &Path, args: &[&str]) -> Value {
    let mut all = vec!["summary", "--source", root.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = common::trailscan(&all);
    assert!(
        out.status.success(),
        "summary {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn summary_counts_agree_with_an_independent_count() {
    let root = common::sample_archive();
    let records = all_records(&root);
    let window = ("2024-01-01T06:00:00Z", "2024-01-02T18:00:00Z");
    let in_window = |r: &&Value| {
        let t = r["eventTime"].as_str().unwrap();
        t >= window.0 && t <= window.1
    };
    type Covers = Box<dyn Fn(&Value) -> bool>;
    let subjects: Vec<(&str, &str, Covers)> = vec![
        (
            "--source-ip",
            "s3.amazonaws.com",
            Box::new(|r| r["sourceIPAddress"] == "s3.amazonaws.com"),
        ),
        (
            "--access-key",
            "AKIAAJHSRJFNBRPXGSVY",
            Box::new(|r| r["userIdentity"]["accessKeyId"] == "AKIAAJHSRJFNBRPXGSVY"),
        ),
        (
            "--principal",
            "arn:aws:iam::345678901234:role/Admin",
            Box::new(|r| {
                r["userIdentity"]["arn"] == "arn:aws:iam::345678901234:role/Admin"
                    || r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
                        == "arn:aws:iam::345678901234:role/Admin"
            }),
        ),
        (
            "--principal",
            "arn:aws:iam::210987654321:user/alice",
            Box::new(|r| r["userIdentity"]["arn"] == "arn:aws:iam::210987654321:user/alice"),
        ),
    ];
    for (flag, value, covers) in subjects {
        let selected: Vec<&Value> = records
            .iter()
            .filter(in_window)
            .filter(|r| covers(r))
            .collect();
        assert!(
            !selected.is_empty(),
            "{flag} {value} selects nothing in the sample"
        );
        let answer = summary(
            &root,
            &[
                flag,
                value,
                "--start-time",
                window.0,
                "--end-time",
                window.1,
            ],
        );
        assert_eq!(
            printed_summaries(&answer),
            expected_summaries(&selected),
            "{flag} {value}"
        );
    }
}

#[test]
fn summary_names_sensitive_calls_and_where_keys_came_from() {
    let dir = tempfile::tempdir().unwrap();
    chains_archive(dir.path());
    let admin = format!("arn:aws:iam::{USER_ACCOUNT}:user/admin");
    let answer = summary(dir.path(), &["--principal", &admin]);
    let s = &answer["Summaries"][0];
    // CreateAccessKey is an IAM change.
    assert_eq!(
        s["SensitiveCalls"][0]["EventName"], "CreateAccessKey",
        "{s:#}"
    );
    // Keys used by Admin-role sessions: where each was issued, and the chain's origin.
    let role = format!("arn:aws:iam::{USER_ACCOUNT}:role/Admin");
    let answer = summary(dir.path(), &["--principal", &role]);
    let key = &answer["Summaries"][0]["AccessKeys"][0];
    assert_eq!(key["AccessKeyId"], "ASIAADMIN");
    assert_eq!(key["IssuedBy"]["EventId"], "e-admin");
    assert_eq!(
        key["Origin"]["Arn"],
        format!("arn:aws:iam::{USER_ACCOUNT}:user/alice")
    );
    assert_eq!(key["Origin"]["Complete"], true);
    // CSV: one row per principal and event name.
    let out = common::trailscan(&[
        "summary",
        "--source",
        dir.path().to_str().unwrap(),
        "--principal",
        &role,
        "--output",
        "csv",
    ]);
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "Principal,Type,AccountId,EventSource,EventName,Count,Failed,ErrorCodes",
            "arn:aws:sts::111111111111:assumed-role/Admin/chained,AssumedRole,111111111111,ec2.amazonaws.com,DescribeInstances,2,0,",
        ]
    );
}

#[test]
fn trace_with_the_index_prints_what_the_scan_prints() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    chains_archive(&root);
    let index = dir.path().join("index");
    let (root_s, index_s) = (root.to_str().unwrap(), index.to_str().unwrap());
    let built = common::trailscan(&["index", "--source", root_s, "--index", index_s]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let keys = [
        "ASIAADMIN",
        "ASIAAUDIT",
        "ASIAOUTSIDE",
        "ASIAFED",
        "ASIASESSION",
        "AKIACIBOT",
        "ASIAEC2TWO",
        "ASIALAMBDA",
        "ASIASTOLEN",
        "ASIAEC2THREE",
        "AKIAMALLORY",
        "ASIAFAILED",
    ];
    for key in keys {
        for window in [&[][..], &["--start-time", "2024-01-02T01:35:00Z"][..]] {
            let mut args = vec!["trace", "--source", root_s, "--access-key", key];
            args.extend_from_slice(window);
            let scanned = common::trailscan(&args);
            args.extend_from_slice(&["--index", index_s]);
            let indexed = common::trailscan(&args);
            let stderr = String::from_utf8_lossy(&indexed.stderr);
            assert!(indexed.status.success(), "{stderr}");
            assert_eq!(
                String::from_utf8_lossy(&indexed.stdout),
                String::from_utf8_lossy(&scanned.stdout),
                "{key} {window:?}"
            );
            assert!(stderr.contains("objects via the index"), "{stderr}");
        }
    }
    // The heuristic link comes through the index too: a session whose issuing event names no
    // key.
    let heuristic = dir.path().join("heuristic");
    let role = format!("arn:aws:iam::{USER_ACCOUNT}:role/Ec2");
    write_log(
        &heuristic,
        USER_ACCOUNT,
        "us-east-1",
        "20240102T0100Z",
        &[{
            let mut keyless = issuing(
                "AssumeRole",
                "e-tuple",
                "2024-01-02T00:59:50Z",
                USER_ACCOUNT,
                service("ec2.amazonaws.com"),
                Some((&role, "i-0tuple")),
                "unused",
                None,
            );
            // Its response names no key (omitted): only the tuple can link it.
            keyless["responseElements"] = Value::Null;
            keyless
        }],
    );
    write_log(
        &heuristic,
        USER_ACCOUNT,
        "eu-west-1",
        "20240102T0200Z",
        &[used(
            "u-tuple",
            "2024-01-02T01:50:00Z",
            USER_ACCOUNT,
            "eu-west-1",
            role_session(
                USER_ACCOUNT,
                "Ec2",
                "i-0tuple",
                "ASIATUPLE",
                "2024-01-02T00:59:50Z",
            ),
        )],
    );
    // Plenty of other files, which the probes must not read.
    chains_archive(&heuristic);
    let (h, hi) = (heuristic.to_str().unwrap(), dir.path().join("hindex"));
    let hi = hi.to_str().unwrap();
    assert!(common::trailscan(&["index", "--source", h, "--index", hi])
        .status
        .success());
    let scanned = common::trailscan(&["trace", "--source", h, "--access-key", "ASIATUPLE"]);
    let indexed = common::trailscan(&[
        "trace",
        "--source",
        h,
        "--access-key",
        "ASIATUPLE",
        "--index",
        hi,
    ]);
    assert_eq!(indexed.stdout, scanned.stdout);
    let t: Value = serde_json::from_slice(&indexed.stdout).unwrap();
    assert_eq!(
        shape(&t).0,
        hops(&[("e-tuple", "heuristic(session-tuple)")])
    );
}

/// A record's strings reach stderr escaped: a user named with a terminal escape sequence
/// (whoever made the calls chose it) cannot retitle or rewrite the analyst's terminal
/// through trace's summary line. (Before: the line carried the sequence raw.)
#[test]
fn a_records_control_characters_never_reach_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let evil = "mallory\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let key = "AKIAEVILEVILEVIL0001";
    write_log(
        tmp.path(),
        USER_ACCOUNT,
        "us-east-1",
        "20240101T1000Z",
        &[used(
            "e1",
            "2024-01-01T09:58:00Z",
            USER_ACCOUNT,
            "us-east-1",
            iam_user(USER_ACCOUNT, evil, key),
        )],
    );
    let (answer, stderr) = trace(tmp.path(), &["--access-key", key]);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "a raw control character on stderr: {stderr:?}"
    );
    assert!(
        stderr.contains("user/mallory\\x1b]0;pwned\\x07\\x1b[2J"),
        "the name shown escaped: {stderr}"
    );
    // The answer itself (JSON) keeps the name as it is, escaped the JSON way.
    assert_eq!(
        answer["Origin"]["Arn"],
        format!("arn:aws:iam::{USER_ACCOUNT}:user/{evil}")
    );
}

/// A long-term key's origin is its user whether or not the CreateAccessKey that made it is
/// in the searched window; the creation is reported as `CreatedBy` when it is. (Before: with
/// the CreateAccessKey in the window, its caller became a hop and the origin.)
#[test]
fn a_long_term_keys_origin_is_its_user_whatever_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let u = USER_ACCOUNT;
    write_log(
        tmp.path(),
        u,
        "us-east-1",
        "20240101T0005Z",
        &[issuing(
            "CreateAccessKey",
            "e-cak",
            "2024-01-01T00:00:00Z",
            u,
            iam_user(u, "admin", "AKIAADMINUSER"),
            None,
            "AKIACIBOT",
            None,
        )],
    );
    write_log(
        tmp.path(),
        u,
        "us-east-1",
        "20240102T1605Z",
        &[used(
            "u-cak",
            "2024-01-02T16:00:00Z",
            u,
            "us-east-1",
            iam_user(u, "ci-bot", "AKIACIBOT"),
        )],
    );
    let (whole, _) = trace(tmp.path(), &["--access-key", "AKIACIBOT"]);
    // The scan starts 36 hours before the window: after the CreateAccessKey.
    let (late, _) = trace(
        tmp.path(),
        &[
            "--access-key",
            "AKIACIBOT",
            "--start-time",
            "2024-01-02T15:00:00Z",
        ],
    );
    for t in [&whole, &late] {
        assert_eq!(t["Hops"], json!([]), "{t:#}");
        assert_eq!(
            t["Origin"]["Arn"],
            json!(format!("arn:aws:iam::{u}:user/ci-bot")),
            "{t:#}"
        );
        assert_eq!(t["Origin"]["Complete"], json!(true));
    }
    assert_eq!(whole["CreatedBy"]["EventId"], json!("e-cak"), "{whole:#}");
    assert_eq!(
        whole["CreatedBy"]["CallerArn"],
        json!(format!("arn:aws:iam::{u}:user/admin"))
    );
    assert_eq!(late["CreatedBy"], Value::Null, "{late:#}");
}

/// A chain that reaches back past what was searched says so and how to widen it, instead of
/// calling the event missing from the archive: the same archive traced without a window
/// finds it. (Before: "not in the archive".)
#[test]
fn an_issuance_before_the_searched_window_is_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let u = USER_ACCOUNT;
    let role = format!("arn:aws:iam::{u}:role/Admin");
    // alice assumes Admin at 22:00 on the 1st; that session assumes it again 36 hours later,
    // whose key is used an hour after.
    write_log(
        tmp.path(),
        u,
        "us-east-1",
        "20240101T2205Z",
        &[issuing(
            "AssumeRole",
            "e-first",
            "2024-01-01T22:00:00Z",
            u,
            iam_user(u, "alice", "AKIAALICE"),
            Some((&role, "first")),
            "ASIAFIRST",
            None,
        )],
    );
    write_log(
        tmp.path(),
        u,
        "us-east-1",
        "20240103T1005Z",
        &[
            issuing(
                "AssumeRole",
                "e-second",
                "2024-01-03T10:00:00Z",
                u,
                role_session(u, "Admin", "first", "ASIAFIRST", "2024-01-01T22:00:00Z"),
                Some((&role, "second")),
                "ASIASECOND",
                None,
            ),
            used(
                "u-second",
                "2024-01-03T11:00:00Z",
                u,
                "us-east-1",
                role_session(u, "Admin", "second", "ASIASECOND", "2024-01-03T10:00:00Z"),
            ),
        ],
    );
    let (whole, _) = trace(tmp.path(), &["--access-key", "ASIASECOND"]);
    assert_eq!(
        whole["Origin"]["Arn"],
        json!(format!("arn:aws:iam::{u}:user/alice"))
    );
    // Searched from 36 hours before 11:00 on the 3rd: 23:00 on the 1st, after 22:00.
    let (t, _) = trace(
        tmp.path(),
        &[
            "--access-key",
            "ASIASECOND",
            "--start-time",
            "2024-01-03T11:00:00Z",
        ],
    );
    let reason = t["Origin"]["Reason"].as_str().unwrap();
    assert_eq!(t["Origin"]["Complete"], json!(false));
    assert!(
        reason.starts_with("the event that issued ASIAFIRST is not in the searched window, which starts 2024-01-01T23:00:00Z")
            && reason.contains("run again with --start-time 2024-01-03T10:00:00Z"),
        "{reason}"
    );
}

/// One rule picks a round's files with or without the index: those delivered within
/// --delivery-margin of the events looked for. An AssumeRole delivered 90 minutes late is
/// read by neither (before: the index found it, the scan did not), and a larger margin finds
/// it both ways.
#[test]
fn a_late_delivery_is_read_alike_with_and_without_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("archive");
    let u = USER_ACCOUNT;
    let role = format!("arn:aws:iam::{u}:role/Admin");
    // The first AssumeRole at 10:00, delivered at 11:30.
    write_log(
        &root,
        u,
        "us-east-1",
        "20240102T1130Z",
        &[issuing(
            "AssumeRole",
            "e-late",
            "2024-01-02T10:00:00Z",
            u,
            iam_user(u, "alice", "AKIAALICE"),
            Some((&role, "first")),
            "ASIAFIRST",
            None,
        )],
    );
    // Its session's AssumeRole at 10:05 and the second key's use, delivered on time.
    write_log(
        &root,
        u,
        "us-east-1",
        "20240102T1010Z",
        &[
            issuing(
                "AssumeRole",
                "e-second",
                "2024-01-02T10:05:00Z",
                u,
                role_session(u, "Admin", "first", "ASIAFIRST", "2024-01-02T10:00:00Z"),
                Some((&role, "second")),
                "ASIASECOND",
                None,
            ),
            used(
                "u-second",
                "2024-01-02T10:06:00Z",
                u,
                "us-east-1",
                role_session(u, "Admin", "second", "ASIASECOND", "2024-01-02T10:05:00Z"),
            ),
        ],
    );
    let (root_s, index) = (root.to_str().unwrap(), tmp.path().join("index"));
    let index_s = index.to_str().unwrap();
    let built = common::trailscan(&["index", "-q", "--source", root_s, "--index", index_s]);
    assert!(built.status.success(), "{built:?}");
    for margin in ["1h", "2h"] {
        let args = ["--access-key", "ASIASECOND", "--delivery-margin", margin];
        let (scanned, _) = trace(&root, &args);
        let mut with_index = args.to_vec();
        with_index.extend(["--index", index_s]);
        let (indexed, _) = trace(&root, &with_index);
        assert_eq!(scanned, indexed, "--delivery-margin {margin}");
        let complete = scanned["Origin"]["Complete"] == json!(true);
        assert_eq!(complete, margin == "2h", "{margin}: {scanned:#}");
    }
}

/// One rule for duplicate deliveries in every question: the same `eventID` at the same
/// `eventTime` is one event. A use delivered twice (in two log files) counts once in trace,
/// summary and lookups alike; a record that reuses the id at another time is another event.
/// (Before: trace counted 3, summary 1 (by id alone), lookups 2.)
#[test]
fn a_duplicate_delivery_counts_once_in_every_question() {
    let tmp = tempfile::tempdir().unwrap();
    let u = USER_ACCOUNT;
    let key = "AKIADUPLICATE0000001";
    let use_at = |time: &str| used("u-dup", time, u, "us-east-1", iam_user(u, "erin", key));
    let once = use_at("2024-01-02T10:00:00Z");
    write_log(
        tmp.path(),
        u,
        "us-east-1",
        "20240102T1005Z",
        std::slice::from_ref(&once),
    );
    // The same record again in a later file (CloudTrail's documented duplicate delivery),
    // and the id reused at another second.
    write_log(
        tmp.path(),
        u,
        "us-east-1",
        "20240102T1010Z",
        &[once, use_at("2024-01-02T10:07:00Z")],
    );
    let (t, _) = trace(tmp.path(), &["--access-key", key]);
    assert_eq!(t["EventsWithKey"], json!(2), "{t:#}");
    let s = summary(tmp.path(), &["--access-key", key]);
    let counted = s["Summaries"][0]["EventNames"][0]["Count"].clone();
    assert_eq!(counted, json!(2), "{s:#}");
    let (code, answer, _) = common::lookup(
        tmp.path(),
        &[
            "--lookup-attributes",
            &format!("AttributeKey=AccessKeyId,AttributeValue={key}"),
        ],
    );
    assert_eq!((code, answer["Events"].as_array().unwrap().len()), (0, 2));
}
