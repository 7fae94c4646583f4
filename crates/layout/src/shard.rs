//! Splitting a scan between independent workers (AWS Batch array jobs, Kubernetes Indexed
//! Jobs) with no coordinator: every worker walks the folders down to the day folders, derives
//! the same sorted list of units (delivery day x account x region), takes every N-th, and
//! lists the objects of its own day folders only.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (0-based, as AWS Batch and Kubernetes number them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This worker's index, `0..count`.
    pub index: u32,
    /// How many workers.
    pub count: u32,
}

impl Shard {
    /// Whether unit `i` of the sorted unit list is this shard's (round-robin).
    pub fn owns(self, i: usize) -> bool {
        i % self.count as usize == self.index as usize
    }

    /// `shard-K-of-N`, the folder a shard writes its results to.
    pub fn folder_name(self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }

    fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 {
            return Err("the number of shards must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is out of range: shards are numbered 0 to {} of {count}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard a batch engine gives this process: AWS Batch's `AWS_BATCH_JOB_ARRAY_INDEX`
    /// and `AWS_BATCH_JOB_ARRAY_SIZE`, else Kubernetes' `JOB_COMPLETION_INDEX` with
    /// `TRAILSCAN_SHARDS` (Kubernetes does not tell a pod how many there are).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let number = |name: &str| -> Result<Option<u32>, String> {
            var(name)
                .map(|v| {
                    v.trim()
                        .parse::<u32>()
                        .map_err(|_| format!("{name}={v:?} is not a number"))
                })
                .transpose()
        };
        if let Some(index) = number("AWS_BATCH_JOB_ARRAY_INDEX")? {
            let count = number("AWS_BATCH_JOB_ARRAY_SIZE")?
                .ok_or("AWS_BATCH_JOB_ARRAY_INDEX is set but AWS_BATCH_JOB_ARRAY_SIZE is not")?;
            return Shard::new(index, count);
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = number("TRAILSCAN_SHARDS")?.ok_or(
                "JOB_COMPLETION_INDEX is set (Kubernetes Indexed Job) but TRAILSCAN_SHARDS is not: set it to the Job's completions",
            )?;
            return Shard::new(index, count);
        }
        Err("--shard auto: neither AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job) nor JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set".into())
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("invalid shard {s:?}: give K/N (K from 0 to N-1) or auto");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        Shard::new(k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One unit of work: the log files one account delivered in one region on one day.
/// Sorted by day first, so that consecutive units (and so the shards) share busy days.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unit {
    /// `YYYY/MM/DD` of the day folder (delivery day).
    pub day: String,
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
}

impl Unit {
    /// From the names of a day folder's path, which ends `ACCOUNT/KIND/REGION/YYYY/MM/DD`.
    pub fn from_day_folder<'a>(names: impl DoubleEndedIterator<Item = &'a str>) -> Option<Unit> {
        let mut last: Vec<&str> = names.rev().take(6).collect();
        if last.len() < 6 {
            return None;
        }
        last.reverse();
        Some(Unit {
            day: format!("{}/{}/{}", last[3], last[4], last[5]),
            account: last[0].to_string(),
            region: last[2].to_string(),
        })
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.day, self.account, self.region)
    }
}

/// Which units a shard took, out of all every shard derives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlan {
    /// The shard.
    pub shard: Shard,
    /// Units of all shards together.
    pub units_total: usize,
    /// This shard's units by name (`YYYY/MM/DD ACCOUNT REGION`, or a digest chain's), in
    /// order.
    pub own: Vec<String>,
    /// SHA-256 (hex) of the whole unit list: every shard of one run must report the same, or
    /// they did not see the same archive (a merge checks it).
    pub plan_sha256: String,
}

impl ShardPlan {
    /// Deals `names` (in the order every shard derives) round-robin; returns the plan and the
    /// indexes of this shard's units.
    pub fn deal(shard: Shard, names: &[String]) -> (ShardPlan, Vec<usize>) {
        let own: Vec<usize> = (0..names.len()).filter(|&i| shard.owns(i)).collect();
        let plan = ShardPlan {
            shard,
            units_total: names.len(),
            own: own.iter().map(|&i| names[i].clone()).collect(),
            plan_sha256: plan_sha256(names),
        };
        (plan, own)
    }
}

/// Sorts the day folders the walk found into units, and returns this shard's plan and its
/// folders (a unit can have several folders: the same account under two prefixes).
pub fn assign<F>(found: Vec<(Unit, F)>, shard: Shard) -> (ShardPlan, Vec<F>) {
    let mut by_unit: BTreeMap<Unit, Vec<F>> = BTreeMap::new();
    for (unit, folder) in found {
        by_unit.entry(unit).or_default().push(folder);
    }
    let names: Vec<String> = by_unit.keys().map(ToString::to_string).collect();
    let (plan, own) = ShardPlan::deal(shard, &names);
    let folders = by_unit
        .into_values()
        .enumerate()
        .filter(|(i, _)| own.binary_search(i).is_ok())
        .flat_map(|(_, unit_folders)| unit_folders)
        .collect();
    (plan, folders)
}

/// SHA-256 (hex) of a run's unit names, one per line, in the order every shard derives: equal
/// in every shard that saw the same archive.
pub fn plan_sha256<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for name in names {
        hasher.update(name.as_ref().as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(day: &str, account: &str) -> Unit {
        Unit {
            day: day.into(),
            account: account.into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn parses_k_of_n_and_the_engines_variables() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        assert!("4/4".parse::<Shard>().unwrap_err().contains("out of range"));
        assert!("1-4".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            Shard::from_env(env(&[
                ("AWS_BATCH_JOB_ARRAY_INDEX", "3"),
                ("AWS_BATCH_JOB_ARRAY_SIZE", "8")
            ])),
            Ok(Shard { index: 3, count: 8 })
        );
        assert_eq!(
            Shard::from_env(env(&[
                ("JOB_COMPLETION_INDEX", "2"),
                ("TRAILSCAN_SHARDS", "4")
            ])),
            Ok(Shard { index: 2, count: 4 })
        );
        assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "2")]))
            .unwrap_err()
            .contains("TRAILSCAN_SHARDS"));
        assert!(Shard::from_env(env(&[])).is_err());
    }

    #[test]
    fn units_go_round_robin_in_sorted_order_with_all_their_folders() {
        let found = vec![
            (unit("2024/01/02", "1"), "b"),
            (unit("2024/01/01", "2"), "a2"),
            (unit("2024/01/01", "1"), "a1"),
            (unit("2024/01/01", "1"), "a1-other-prefix"),
        ];
        let (p0, f0) = assign(found.clone(), Shard { index: 0, count: 2 });
        let (p1, f1) = assign(found, Shard { index: 1, count: 2 });
        assert_eq!(p0.units_total, 3);
        let names = |units: &[Unit]| units.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(
            p0.own,
            names(&[unit("2024/01/01", "1"), unit("2024/01/02", "1")])
        );
        assert_eq!(f0, vec!["a1", "a1-other-prefix", "b"]);
        assert_eq!(p1.own, names(&[unit("2024/01/01", "2")]));
        assert_eq!(f1, vec!["a2"]);
        assert_eq!(p0.plan_sha256, p1.plan_sha256);
    }

    #[test]
    fn unit_from_a_day_folder() {
        let path = "AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2024/01/15";
        assert_eq!(
            Unit::from_day_folder(path.split('/')),
            Some(Unit {
                day: "2024/01/15".into(),
                account: "111122223333".into(),
                region: "eu-west-1".into()
            })
        );
    }
}
