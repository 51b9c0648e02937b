//! The run report: the record of a run, read only from its store — the run and its exports,
//! the runbook's steps, operator actions, per-entity counts, errors by API and code, the
//! read-back verification and throughput over time.
//!
//! One gather ([`gather::gather`] → [`ReportData`]), three renderers, one file each:
//! [`markdown`], [`json`] (the documented shape of docs/report-json.md) and [`html`] (one
//! self-contained page with inline SVG charts from [`svg`]). Each section's table is built
//! once (`sections`, as a `table::Table`) and written by both the Markdown and the HTML renderer.

pub(crate) mod data;
pub mod gather;
pub(crate) mod html;
pub(crate) mod json;
pub mod markdown;
mod media;
mod sections;
pub(crate) mod svg;
mod table;
pub(crate) mod text;
pub(crate) mod throughput;

#[cfg(test)]
mod fixture;

pub(crate) use data::ReportData;
pub(crate) use gather::gather;

/// The formats a report can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown with tables.
    Md,
    /// One JSON object (docs/report-json.md).
    Json,
    /// One self-contained HTML page with charts.
    Html,
}

impl Format {
    /// The format's name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}

/// Renders `data` in `format`.
pub(crate) fn render(data: &ReportData, format: Format) -> serde_json::Result<String> {
    Ok(match format {
        Format::Md => markdown::render(data),
        Format::Json => json::render(data)?,
        Format::Html => html::render(data),
    })
}
