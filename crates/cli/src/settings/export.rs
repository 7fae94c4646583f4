//! `export`'s settings.

use anyhow::Result;
use trailscan_archive::S3Options;
use trailscan_export::{Format, TableDefinition};
use trailscan_query::LookupRequest;
use trailscan_records::EventTime;

use super::{lookup_request, object_kind, SourceSettings};
use crate::exit_codes::UsageError;
use crate::flags::ExportArgs;

/// What `export` does: export, or print the DDL.
pub enum ExportSettings {
    /// Export the selected events.
    Export {
        /// The source, its selection widened to whole delivery days.
        source: Box<SourceSettings>,
        /// The selection: the attributes and categories, every event time (a delivery day is
        /// exported whole).
        request: LookupRequest,
        /// The window as given, for the summary.
        window: (Option<EventTime>, Option<EventTime>),
        /// What selects the rows, recorded in the export's folder.
        definition: TableDefinition,
        /// Parquet or JSON lines.
        format: Format,
        /// Where: a folder or `s3://BUCKET[/PREFIX]`.
        out: String,
        /// The run's name, for a shard's summary: `--run-id`, AWS Batch's job id, or
        /// `export`.
        run_id: String,
        /// `--memory-budget`: bytes of rows waiting to be written.
        memory_budget: u64,
    },
    /// `--print-ddl athena`.
    PrintDdl {
        /// The export's location, when given.
        out: Option<String>,
        /// How to reach S3 for it.
        s3: S3Options,
        /// The table's name.
        table_name: String,
        /// The export's format.
        format: Format,
    },
}

impl ExportSettings {
    /// Converts and checks the flags.
    pub fn new(args: &ExportArgs) -> Result<ExportSettings> {
        if args.print_ddl.is_some() {
            return Ok(ExportSettings::PrintDdl {
                out: args.out.clone(),
                s3: args.source.s3.options(&args.source.regions),
                table_name: args.table_name.clone(),
                format: args.format,
            });
        }
        let Some(out) = args.out.clone() else {
            return Err(UsageError("--out is required".into()).into());
        };
        let mut request = lookup_request(&args.selection)?;
        let mut source = SourceSettings::new(&args.source, object_kind(&request), &request)?;
        // What an export writes for a delivery day never depends on where a window cut it:
        // the days the window touches are read whole, every event of them exported.
        let selection = &mut source.options.selection;
        *selection = selection.whole_delivery_days();
        let window = (request.start.take(), request.end.take());
        let mut attributes: Vec<String> = request
            .attributes
            .iter()
            .map(|a| format!("{}={}", a.key, a.value))
            .collect();
        attributes.sort();
        let definition = TableDefinition {
            source: source.options.spec.clone(),
            format: args.format.extension().to_string(),
            attributes,
            include_data_events: request.include_data_events,
            insight: request.insight,
        };
        let run_id = match source.options.selection.shard {
            Some(_) => source.required_run_id()?.to_string(),
            None => source
                .run_id
                .clone()
                .unwrap_or_else(|| "export".to_string()),
        };
        Ok(ExportSettings::Export {
            source: Box::new(source),
            request,
            window,
            definition,
            format: args.format,
            out,
            run_id,
            memory_budget: args.memory_budget,
        })
    }
}
