//! `CREATE EXTERNAL TABLE` for Athena over an export, with partition projection.

use crate::schema::{ddl_type, COLUMNS};
use crate::writer::Format;

/// What the DDL is written for.
#[derive(Debug, Clone)]
pub struct AthenaTable<'a> {
    /// Table name.
    pub name: &'a str,
    /// `s3://bucket/prefix` the export was written to (without `/v1/`).
    pub location: &'a str,
    /// Regions for the `region` enum projection (those in the export).
    pub regions: &'a [String],
    /// Parquet or JSON lines.
    pub format: Format,
}

/// The DDL. `account` is projected as `injected` (every query names its accounts, which
/// keeps Athena from listing partitions it does not need), `region` as the export's regions,
/// `day` as dates from CloudTrail's launch to now.
pub fn athena_ddl(table: &AthenaTable<'_>) -> String {
    let location = format!("{}/v1/", table.location.trim_end_matches('/'));
    let columns = COLUMNS
        .iter()
        .map(|c| format!("  {} {}", c.name, ddl_type(&c.kind)))
        .collect::<Vec<_>>()
        .join(",\n");
    let storage = match table.format {
        Format::Parquet => "STORED AS PARQUET".to_string(),
        Format::Jsonl => {
            "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\nSTORED AS TEXTFILE".to_string()
        }
    };
    let regions = if table.regions.is_empty() {
        "us-east-1".to_string()
    } else {
        table.regions.join(",")
    };
    format!(
        "CREATE EXTERNAL TABLE {name} (\n{columns})\n\
         PARTITIONED BY (account STRING, region STRING, day STRING)\n\
         {storage}\n\
         LOCATION '{location}'\n\
         TBLPROPERTIES (\n\
         \x20 'projection.enabled'='true',\n\
         \x20 'projection.account.type'='injected',\n\
         \x20 'projection.region.type'='enum',\n\
         \x20 'projection.region.values'='{regions}',\n\
         \x20 'projection.day.type'='date',\n\
         \x20 'projection.day.format'='yyyy-MM-dd',\n\
         \x20 'projection.day.range'='2013-11-01,NOW',\n\
         \x20 'projection.day.interval'='1',\n\
         \x20 'projection.day.interval.unit'='DAYS',\n\
         \x20 'storage.location.template'='{location}account=${{account}}/region=${{region}}/day=${{day}}/');\n",
        name = table.name,
    )
}

/// The value of partition `key` in a folder's name (`.../region=us-east-1/` -> `us-east-1`).
fn partition_value<'a>(name: &'a str, key: &str) -> Option<&'a str> {
    name.trim_end_matches('/')
        .rsplit('/')
        .next()?
        .strip_prefix(key)?
        .strip_prefix('=')
}

/// The regions an export holds: its `v1/account=*/region=*` folders (none where there is no
/// export yet), for the table's partition projection.
pub fn exported_regions(
    store: &dyn trailscan_archive::ObjectStore,
) -> Result<Vec<String>, trailscan_archive::StoreError> {
    let v1 = match store.base() {
        "" => "v1/".to_string(),
        base => format!("{base}/v1/"),
    };
    let mut regions = std::collections::BTreeSet::new();
    let accounts = match store.list_dir(&v1) {
        Ok(level) => level.folders,
        // No export there (yet): a table with no regions to edit.
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    for account in accounts {
        for region in store.list_dir(&account)?.folders {
            if let Some(r) = partition_value(&region, "region") {
                regions.insert(r.to_string());
            }
        }
    }
    Ok(regions.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_names_every_column_and_the_layout() {
        let regions = vec!["eu-west-1".to_string(), "us-east-1".to_string()];
        let ddl = athena_ddl(&AthenaTable {
            name: "trailscan_events",
            location: "s3://b/p/",
            regions: &regions,
            format: Format::Parquet,
        });
        assert!(ddl.contains("  eventid STRING,\n"));
        assert!(ddl.contains("  event_ts TIMESTAMP,\n"));
        assert!(ddl.contains("  record_index INT)\n"));
        assert!(ddl.contains("LOCATION 's3://b/p/v1/'"));
        assert!(ddl.contains("'projection.region.values'='eu-west-1,us-east-1'"));
        assert!(ddl.contains(
            "'storage.location.template'='s3://b/p/v1/account=${account}/region=${region}/day=${day}/'"
        ));
    }
}
