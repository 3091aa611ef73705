//! Day summaries and exports of an operation's visits over a range of
//! Europe/London days, as JSON, CSV, XLSX or a printable HTML report.
//!
//! One code path serves the HTTP API and the `aidant export` command:
//! [`begin`] records the export and audits its reason and scope, [`execute`]
//! renders it from one read snapshot to any writer, hashing what it writes, and
//! [`record_end`] stores the SHA-256 (or that it was cancelled or failed) and
//! audits that too. Rows are read one at a time from `visit_exports`
//! (see [`cells`]), so memory stays flat however many rows there are; a writer
//! that fails (a client gone) stops the work.
//!
//! Content is deterministic: the same visits and scope give the same bytes, so
//! a stored hash shows later that a file holds the same figures.

pub mod cells;
pub mod cli;
pub mod csv;
pub mod figures;
pub mod html;
pub mod json;
pub mod stream;
pub mod summary;
pub mod xlsx;

use crate::db::export::{self as dbx, Cells, Scope};
use crate::db::Sql;
use crate::db::{audit, Db, DbError};
use crate::domain::Operation;
use cells::{Column, LEAD, PERSON, VISIT};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{self, Write};
use summary::RangeSummary;
use sync_core::summary::LocalDate;

/// An export file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON document: scope, summary, visits and persons.
    Json,
    /// One table (visits or persons), RFC 4180, UTF-8 with a BOM.
    Csv,
    /// A workbook: Summary, Visits and Persons sheets.
    Xlsx,
    /// A printable report: figures and charts (no rows, no personal data).
    Html,
}

impl Format {
    /// Parses `json`, `csv`, `xlsx` or `html`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            "xlsx" => Some(Self::Xlsx),
            "html" => Some(Self::Html),
            _ => None,
        }
    }
    /// The name, also the file extension.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Html => "html",
        }
    }
    /// The HTTP Content-Type.
    pub fn content_type(&self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Html => "text/html; charset=utf-8",
        }
    }
}

/// Which table a CSV holds (the other formats hold everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// One row per visit.
    Visits,
    /// One row per person recorded (removed persons left out).
    Persons,
}

impl Table {
    /// Parses `visits` or `persons`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "visits" => Some(Self::Visits),
            "persons" => Some(Self::Persons),
            _ => None,
        }
    }
    /// The name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Visits => "visits",
            Self::Persons => "persons",
        }
    }
}

/// Why an export or summary request is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// A date is not `YYYY-MM-DD` or does not exist.
    #[error("{field} must be a date YYYY-MM-DD (got {value:?})")]
    BadDate {
        /// `from`, `to` or `date`.
        field: &'static str,
        /// As given.
        value: String,
    },
    /// `from` is after `to`.
    #[error("from ({from}) is after to ({to})")]
    Reversed {
        /// First day.
        from: LocalDate,
        /// Last day.
        to: LocalDate,
    },
    /// More days than [`summary::MAX_DAYS`].
    #[error("the range covers {days} days; at most {max} allowed")]
    TooLong {
        /// Days asked for.
        days: i64,
        /// Limit.
        max: i64,
    },
    /// Unknown format.
    #[error("format must be json, csv, xlsx or html (got {0:?})")]
    Format(String),
    /// Unknown table.
    #[error("table must be visits or persons (got {0:?})")]
    Table(String),
    /// No reason given.
    #[error("give a reason for this export (reason=...); it is kept in the audit trail")]
    ReasonMissing,
    /// Reason too long or with control characters.
    #[error("reason must be at most 500 characters, without control characters")]
    ReasonBad,
    /// Days a format cannot hold (XLSX: 1900-01-01 to 9999-12-31).
    #[error("{format} holds dates from {first} to {last}; export these days as CSV or JSON")]
    FormatRange {
        /// The format.
        format: &'static str,
        /// Its first day.
        first: &'static str,
        /// Its last day.
        last: &'static str,
    },
}

/// Checks that `format` can hold the days `from` to `to` (an XLSX workbook's
/// dates start in 1900), before anything is audited or sent.
pub fn check_format_range(format: Format, from: LocalDate, to: LocalDate) -> Result<(), Invalid> {
    match format {
        Format::Xlsx if from.year < 1900 || to.year > 9999 => Err(Invalid::FormatRange {
            format: "XLSX",
            first: "1900-01-01",
            last: "9999-12-31",
        }),
        _ => Ok(()),
    }
}

/// Parses `from` and `to` (default: `from`) into a checked range.
pub fn parse_range(from: &str, to: Option<&str>) -> Result<(LocalDate, LocalDate), Invalid> {
    let date = |field: &'static str, value: &str| {
        LocalDate::parse(value).ok_or_else(|| Invalid::BadDate {
            field,
            value: value.chars().take(40).collect(),
        })
    };
    let from_d = date("from", from)?;
    let to_d = match to {
        Some(t) => date("to", t)?,
        None => from_d,
    };
    if from_d > to_d {
        return Err(Invalid::Reversed {
            from: from_d,
            to: to_d,
        });
    }
    let days = to_d.days_since_epoch() - from_d.days_since_epoch() + 1;
    if days > summary::MAX_DAYS {
        return Err(Invalid::TooLong {
            days,
            max: summary::MAX_DAYS,
        });
    }
    Ok((from_d, to_d))
}

/// Checks a reason: required, at most 500 characters, no control characters.
pub fn check_reason(reason: Option<&str>) -> Result<String, Invalid> {
    let r = reason.map(str::trim).unwrap_or("");
    if r.is_empty() {
        return Err(Invalid::ReasonMissing);
    }
    if r.chars().count() > 500 || r.chars().any(char::is_control) {
        return Err(Invalid::ReasonBad);
    }
    Ok(r.to_owned())
}

/// What to export.
#[derive(Clone, Debug)]
pub struct Request {
    /// Operation and days.
    pub scope: Scope,
    /// File format.
    pub format: Format,
    /// For CSV, which table.
    pub table: Table,
    /// Include victim-identifying columns (admins only; checked by the caller).
    pub identifying: bool,
    /// Why (audited).
    pub reason: String,
}

impl Request {
    /// Checks what was asked for, as given (the HTTP query and the command
    /// line both build their request here): the format's name and its date
    /// range, the CSV table's name (visits by default), a reason.
    pub fn new(
        scope: Scope,
        format: &str,
        table: Option<&str>,
        identifying: bool,
        reason: Option<&str>,
    ) -> Result<Self, Invalid> {
        let format = Format::parse(format).ok_or_else(|| Invalid::Format(format.to_owned()))?;
        check_format_range(format, scope.from, scope.to)?;
        let table = match table {
            None => Table::Visits,
            Some(t) => Table::parse(t).ok_or_else(|| Invalid::Table(t.to_owned()))?,
        };
        let reason = check_reason(reason)?;
        Ok(Request {
            scope,
            format,
            table,
            identifying,
            reason,
        })
    }

    /// `visits` or `persons` for CSV, `all` for the other formats.
    pub fn content(&self) -> &'static str {
        match self.format {
            Format::Csv => self.table.as_str(),
            _ => "all",
        }
    }

    /// A file name: `aidant-<operation>-<from>[_<to>][-persons].<ext>`.
    pub fn file_name(&self, operation: &Operation) -> String {
        let mut slug = String::new();
        for c in operation.name.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
            if slug.len() >= 40 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        let slug = if slug.is_empty() { "operation" } else { slug };
        let days = if self.scope.from == self.scope.to {
            self.scope.from.to_string()
        } else {
            format!("{}_{}", self.scope.from, self.scope.to)
        };
        let table = match (self.format, self.table) {
            (Format::Csv, Table::Persons) => "-persons",
            _ => "",
        };
        format!("aidant-{slug}-{days}{table}.{}", self.format.as_str())
    }
}

/// An export recorded and audited, ready to run.
#[derive(Clone, Debug)]
pub struct Started {
    /// Export id.
    pub id: String,
    /// What.
    pub request: Request,
    /// The operation.
    pub operation: Operation,
    /// Audit actor.
    pub actor: String,
}

/// Records an export as running and audits its reason and scope, in the
/// caller's transaction. `None` when the operation does not exist.
pub fn begin(
    tx: &Sql,
    request: Request,
    actor: &str,
    now: &str,
) -> Result<Option<Started>, DbError> {
    let Some(operation) = dbx::operation(tx, request.scope.operation)? else {
        return Ok(None);
    };
    let id = uuid::Uuid::new_v4().to_string();
    dbx::insert_export(
        tx,
        &dbx::NewExport {
            id: &id,
            scope: &request.scope,
            format: request.format.as_str(),
            content: request.content(),
            identifying: request.identifying,
            reason: &request.reason,
            actor,
            created_at: now,
        },
    )?;
    let detail = serde_json::json!({
        "export": id,
        "operation": request.scope.operation,
        "from": request.scope.from,
        "to": request.scope.to,
        "format": request.format.as_str(),
        "content": request.content(),
        "identifying": request.identifying,
    });
    audit::append(
        tx,
        now,
        &audit::Entry {
            actor,
            action: "export.create",
            subject: &format!("operation:{}", request.scope.operation),
            reason: &request.reason,
            detail: &detail.to_string(),
        },
    )?;
    Ok(Some(Started {
        id,
        request,
        operation,
        actor: actor.to_owned(),
    }))
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Writing failed (for HTTP: the client went away).
    #[error("writing the export: {0}")]
    Io(#[from] io::Error),
    /// The reader asked to stop.
    #[error("cancelled")]
    Cancelled,
    /// More rows than an XLSX sheet holds.
    #[error("{rows} rows do not fit in one XLSX sheet (at most {max}); export CSV instead or fewer days")]
    TooManyRows {
        /// Rows of the largest sheet.
        rows: u64,
        /// Limit.
        max: u64,
    },
    /// The XLSX writer failed.
    #[error("xlsx: {0}")]
    Xlsx(String),
}

impl ExportError {
    /// True when the export stopped because its reader went away.
    pub fn is_cancelled(&self) -> bool {
        match self {
            ExportError::Cancelled => true,
            ExportError::Io(e) => e.kind() == io::ErrorKind::BrokenPipe,
            _ => false,
        }
    }
}

/// What an export run is told and asked while it works.
pub trait Watch: Send {
    /// Called once, before the first byte, with the number of table rows.
    fn ready(&mut self, _rows: u64) {}
    /// Called every few thousand rows with the rows written so far.
    fn progress(&mut self, _rows: u64) {}
    /// True when the reader has gone: the run stops.
    fn cancelled(&self) -> bool {
        false
    }
}

/// A watch that ignores everything.
pub struct Quiet;
impl Watch for Quiet {}

/// Counts and hashes what passes through.
pub struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
    /// Bytes written and their SHA-256 (hex); hands back the writer.
    pub fn finish(self) -> (W, u64, String) {
        (self.inner, self.bytes, hex::encode(self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What a finished run wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Table rows (visits plus persons for the multi-table formats).
    pub rows: u64,
    /// Bytes.
    pub bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// The columns of a table, after leaving out what the request may not see.
pub struct Layout {
    /// Columns written, in order.
    pub columns: Vec<Column>,
    keep: Vec<usize>,
}

impl Layout {
    fn new(stored: &[Column], identifying: bool) -> Self {
        let keep: Vec<usize> = (0..stored.len())
            .filter(|i| identifying || !stored[*i].identifying)
            .collect();
        let columns = LEAD
            .iter()
            .copied()
            .chain(keep.iter().map(|i| stored[*i]))
            .collect();
        Self { columns, keep }
    }
}

/// Everything read before the first byte: figures, counts, names.
pub struct Plan {
    /// The export.
    pub started: Started,
    /// The figures.
    pub summary: RangeSummary,
    /// Visits in scope.
    pub visits: u64,
    /// Person rows in scope.
    pub persons: u64,
    /// The visits table.
    pub visit_layout: Layout,
    /// The persons table.
    pub person_layout: Layout,
    teams: HashMap<String, String>,
}

impl Plan {
    /// Table rows this export writes.
    pub fn rows(&self) -> u64 {
        match (self.started.request.format, self.started.request.table) {
            (Format::Csv, Table::Visits) => self.visits,
            (Format::Csv, Table::Persons) => self.persons,
            (Format::Html, _) => 0,
            _ => self.visits + self.persons,
        }
    }
}

/// The range summary of an operation, from the stored per-visit summaries.
pub fn range_summary(c: &Sql, scope: &Scope) -> Result<RangeSummary, DbError> {
    let teams = dbx::team_names(c, scope.operation)?;
    let mut groups = summary::Groups::new(scope.operation, scope.from, scope.to);
    dbx::for_each_summary(c, scope, |r| {
        let day = LocalDate::parse(r.day)
            .ok_or_else(|| DbError::decode("summary day", format!("{:?} is not a date", r.day)))?;
        let team = r.team_id.map(|t| teams.get(t).map_or(t, String::as_str));
        groups
            .add(day, team, r.force_area, r.summary)
            .map_err(|e| DbError::decode("visit summary", e))
    })?;
    Ok(groups.finish())
}

/// The summary as the API shows it: `{operation, from, to, provisional,
/// total, days, by_team, by_force_area}`.
pub fn summary_json(operation: &Operation, s: &RangeSummary) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    v["operation"] = serde_json::to_value(operation).unwrap_or_default();
    v
}

fn plan(c: &Sql, started: Started) -> Result<Plan, ExportError> {
    let scope = started.request.scope;
    let r = &started.request;
    // A CSV holds no figures, and a visits CSV needs no person count.
    let summary = if r.format == Format::Csv {
        RangeSummary::new(scope.operation, scope.from, scope.to)
    } else {
        range_summary(c, &scope)?
    };
    let (visits, persons) = dbx::counts(
        c,
        &scope,
        !(r.format == Format::Csv && r.table == Table::Visits),
    )?;
    let identifying = started.request.identifying;
    Ok(Plan {
        summary,
        visits,
        persons,
        visit_layout: Layout::new(VISIT, identifying),
        person_layout: Layout::new(PERSON, identifying),
        teams: dbx::team_names(c, scope.operation)?,
        started,
    })
}

/// How often rows are reported and cancellation checked.
const EVERY: u64 = 4096;

/// Reads the rows of one table in order and calls `f` with the cells of each,
/// as the layout says. `done` counts rows across tables.
fn for_each_row(
    c: &Sql,
    plan: &Plan,
    which: Cells,
    watch: &mut dyn Watch,
    done: &mut u64,
    mut f: impl FnMut(&[&str]) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let layout = match which {
        Cells::Visit => &plan.visit_layout,
        Cells::Persons => &plan.person_layout,
    };
    let width = layout.columns.len();
    let tick = |done: &mut u64, watch: &mut dyn Watch| {
        *done += 1;
        if (*done).is_multiple_of(EVERY) {
            watch.progress(*done);
            if watch.cancelled() {
                return Err(ExportError::Cancelled);
            }
        }
        Ok(())
    };
    dbx::for_each_cells(c, &plan.started.request.scope, which, |r| {
        let team = r.team_id.map_or(summary::NO_TEAM, |t| {
            plan.teams.get(t).map_or(t, String::as_str)
        });
        let lead = [r.visit_id, r.day, team, r.force_area];
        let mut cells: Vec<&str> = Vec::with_capacity(64);
        cells::unpack(r.cells, &mut cells)
            .map_err(|e| DbError::decode(format!("export cells of visit {}", r.visit_id), e))?;
        let mut emit = |cells: &[&str]| {
            let mut row: Vec<&str> = Vec::with_capacity(width);
            row.extend_from_slice(&lead);
            row.extend(
                layout
                    .keep
                    .iter()
                    .map(|i| cells.get(*i).copied().unwrap_or("")),
            );
            f(&row)
        };
        match which {
            Cells::Visit => {
                emit(&cells)?;
                tick(done, watch)?;
            }
            Cells::Persons => {
                for person in cells.chunks(cells::PERSON.len()) {
                    emit(person)?;
                    tick(done, watch)?;
                }
            }
        }
        Ok(())
    })
}

/// Renders a started export from one read snapshot into `out`, hashing what
/// it writes. Calls `watch.ready` before the first byte; an error before that
/// (such as [`ExportError::TooManyRows`]) means nothing was written.
pub fn execute<W: Write + Send>(
    db: &Db,
    started: Started,
    out: W,
    watch: &mut dyn Watch,
) -> Result<Written, ExportError> {
    let mut hashed = HashWriter::new(out);
    let rows = dbx::with_snapshot(db, |c| {
        let plan = plan(c, started)?;
        let rows = plan.rows();
        if plan.started.request.format == Format::Xlsx {
            let largest = plan.visits.max(plan.persons);
            if largest >= xlsx::MAX_ROWS {
                return Err(ExportError::TooManyRows {
                    rows: largest,
                    max: xlsx::MAX_ROWS - 1,
                });
            }
        }
        watch.ready(rows);
        let mut done = 0;
        {
            let mut buf = io::BufWriter::with_capacity(64 * 1024, &mut hashed);
            match plan.started.request.format {
                Format::Csv => {
                    let (which, layout) = match plan.started.request.table {
                        Table::Visits => (Cells::Visit, &plan.visit_layout),
                        Table::Persons => (Cells::Persons, &plan.person_layout),
                    };
                    csv::write_header(&mut buf, &layout.columns)?;
                    for_each_row(c, &plan, which, watch, &mut done, |row| {
                        Ok(csv::write_row(&mut buf, &layout.columns, row)?)
                    })?;
                }
                Format::Json => {
                    let mut j = json::Writer::new(&mut buf, &plan)?;
                    j.begin_table("visits", &plan.visit_layout.columns)?;
                    for_each_row(c, &plan, Cells::Visit, watch, &mut done, |row| {
                        Ok(j.row(row)?)
                    })?;
                    j.begin_table("persons", &plan.person_layout.columns)?;
                    for_each_row(c, &plan, Cells::Persons, watch, &mut done, |row| {
                        Ok(j.row(row)?)
                    })?;
                    j.end()?;
                }
                Format::Html => html::write(&mut buf, &plan)?,
                Format::Xlsx => {
                    let mut book = xlsx::Book::new(&plan)?;
                    book.begin_table(xlsx::VISITS, &plan.visit_layout.columns)?;
                    for_each_row(c, &plan, Cells::Visit, watch, &mut done, |row| {
                        book.row(row)
                    })?;
                    book.begin_table(xlsx::PERSONS, &plan.person_layout.columns)?;
                    for_each_row(c, &plan, Cells::Persons, watch, &mut done, |row| {
                        book.row(row)
                    })?;
                    if watch.cancelled() {
                        return Err(ExportError::Cancelled);
                    }
                    book.save(&mut buf)?;
                }
            }
            buf.flush()?;
        }
        watch.progress(done);
        Ok(done)
    })?;
    let (mut out, bytes, sha256) = hashed.finish();
    out.flush()?;
    Ok(Written {
        rows,
        bytes,
        sha256,
    })
}

/// Records how an export ended, and audits it: `export.complete` with the
/// SHA-256, or `export.cancelled` / `export.failed`.
pub fn record_end(
    tx: &Sql,
    started: &Started,
    outcome: &Result<Written, ExportError>,
    now: &str,
) -> Result<(), DbError> {
    let (status, action, detail) = match outcome {
        Ok(w) => (
            "completed",
            "export.complete",
            serde_json::json!({ "export": started.id, "rows": w.rows, "bytes": w.bytes, "sha256": w.sha256 }),
        ),
        Err(e) if e.is_cancelled() => (
            "cancelled",
            "export.cancelled",
            serde_json::json!({ "export": started.id }),
        ),
        Err(e) => (
            "failed",
            "export.failed",
            serde_json::json!({ "export": started.id, "error": e.to_string() }),
        ),
    };
    let w = outcome.as_ref().ok();
    dbx::finish_export(
        tx,
        &started.id,
        &dbx::Finished {
            status,
            at: now,
            rows: w.map_or(0, |w| w.rows),
            bytes: w.map_or(0, |w| w.bytes),
            sha256: w.map(|w| w.sha256.as_str()),
        },
    )?;
    audit::append(
        tx,
        now,
        &audit::Entry {
            actor: &started.actor,
            action,
            subject: &format!("export:{}", started.id),
            reason: "",
            detail: &detail.to_string(),
        },
    )?;
    Ok(())
}

/// Begins, runs and records an export to `out` in one go (the command line).
/// `None` when the operation does not exist.
pub fn run_blocking<W: Write + Send>(
    db: &Db,
    request: Request,
    actor: &str,
    out: W,
    watch: &mut dyn Watch,
) -> Result<Option<(Started, Written)>, ExportError> {
    let now = crate::now_rfc3339();
    let Some(started) = db.write_blocking(|tx| begin(tx, request, actor, &now))? else {
        return Ok(None);
    };
    let outcome = execute(db, started.clone(), out, watch);
    let now = crate::now_rfc3339();
    db.write_blocking(|tx| record_end(tx, &started, &outcome, &now))?;
    outcome.map(|w| Some((started, w)))
}
