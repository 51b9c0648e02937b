//! `cutover report`: the run's record from its store, as Markdown, JSON or HTML.

use super::Outcome;
use crate::cli::ReportArgs;
use crate::report;
use crate::store::open_for_reading;
use anyhow::Context;
use std::io::Write;

/// `cutover report`
pub fn run(args: &ReportArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let conn = open_for_reading(&args.store)?;
    let data = report::gather(&conn, &args.store)?;
    let text = report::render(&data, args.format)?;
    match &args.out {
        None => out.write_all(text.as_bytes())?,
        Some(path) => {
            crate::private::write(path, &text)
                .with_context(|| format!("cannot write the report to {}", path.display()))?;
            writeln!(
                out,
                "wrote the {} report of {} to {}",
                args.format.name(),
                args.store.display(),
                path.display()
            )?;
        }
    }
    Ok(Outcome::Ok)
}
