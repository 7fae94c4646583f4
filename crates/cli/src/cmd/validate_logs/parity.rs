//! `validate-logs --trail-arn`: the AWS CLI's validation of one trail and region, printed as
//! the walk goes.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Result;
use trailscan_integrity::aws_cli::TrailArn;
use trailscan_integrity::chain::{report_chain, ChainRun};
use trailscan_integrity::discover::locate;
use trailscan_integrity::report::Printer;
use trailscan_integrity::walk::Trail;

use super::{fatal, Validation};
use crate::exit_codes::aws_cli_error;
use crate::print::write_report;
use crate::progress::{Meter, Progress};

impl Validation<'_> {
    /// `--trail-arn`: the AWS CLI's validation of one trail and region, byte for byte.
    pub(super) fn parity(&self, arn: &str) -> Result<ExitCode> {
        let s = self.settings;
        let parsed = TrailArn::parse(arn)
            .ok_or_else(|| aws_cli_error(format!("Invalid trail ARN provided: {arn}")))?;
        // --start-time is required with --trail-arn (clap enforces it).
        let window = (s.start.unwrap_or_default(), s.end);
        // A repeated option takes its last value, as the AWS CLI's argparse does.
        let account = s.account_ids.last().cloned().unwrap_or(parsed.account);
        let source_region = s
            .regions
            .last()
            .cloned()
            .unwrap_or_else(|| parsed.home_region.clone());
        let place = locate(&*self.store, &account, s.s3_prefix.as_deref());
        let mut trail = Trail {
            bucket: String::new(),
            prefix: place.prefix,
            account,
            org_id: place.org_id,
            name: parsed.name,
            home_region: parsed.home_region,
            source_region,
        };
        trail.bucket = self.bucket_of(&trail)?;
        let keys = self.keys(&BTreeMap::from([(trail.source_region.clone(), window)]))?;
        let progress = Progress::on_stderr(s.no_progress, false);
        // Printed as the walk goes, with the bar up: each whole line with the bar lifted, in
        // the order the AWS CLI prints them; stderr is not locked while the bar draws on it.
        let mut out = progress.above(io::stdout());
        let mut err = progress.above(io::stderr());
        let mut printer = Printer::new(&mut out, &mut err, s.verbose, window.0, window.1);
        printer.header(arn)?;
        let report = s.report_run(self.started);
        progress.start(Meter::Chains, 0, 1);
        let checked = |n| progress.checked(n);
        let run = ChainRun {
            buckets: &self.buckets(&trail.bucket),
            keys: keys.of(&trail.source_region),
            verbose: s.verbose,
            now: s.now,
            pool: self.pool(1)?,
            checked: &checked,
            record: report.is_some(),
        };
        let result = report_chain(printer, &run, &trail, arn, window, None).map_err(fatal)?;
        progress.step_done();
        progress.finish();
        out.flush()?;
        if let Some(report) = &report {
            write_report(report, vec![result.record])?;
        }
        Ok(ExitCode::from(result.counts.exit_code()))
    }
}
