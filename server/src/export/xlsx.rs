//! The XLSX export: a workbook with a Summary sheet (the figures by day, team
//! and force area), a Visits sheet and a Persons sheet. Sheets are written in
//! `rust_xlsxwriter`'s constant-memory mode (rows go to temporary files as they
//! are written), and the zip is streamed to the writer at the end.
//!
//! Cells are written as strings or numbers, never as formulas, so field text
//! cannot run in a spreadsheet. The document's creation time is the first
//! day of the range, so the same data gives the same file.

use super::cells::{Column, Kind};
use super::{figures, ExportError, Plan};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};
use std::io::Write;
use sync_core::summary::DaySummary;

/// Rows a sheet holds (the header included).
pub const MAX_ROWS: u64 = 1_048_576;
/// Sheet names.
pub const SUMMARY: &str = "Summary";
/// The visits sheet.
pub const VISITS: &str = "Visits";
/// The persons sheet.
pub const PERSONS: &str = "Persons";

/// Longest cell text Excel accepts, in UTF-16 units.
const MAX_CELL: usize = 32_767;

fn err(e: XlsxError) -> ExportError {
    ExportError::Xlsx(e.to_string())
}

/// Cuts text to what a cell holds.
fn fit(s: &str) -> &str {
    if s.len() <= MAX_CELL / 3 {
        return s;
    }
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > MAX_CELL {
            return &s[..i];
        }
    }
    s
}

/// A workbook being written.
pub struct Book {
    book: Workbook,
    bold: Format,
    sheet: usize,
    row: u32,
    kinds: Vec<Kind>,
}

impl Book {
    /// A workbook with its Summary sheet written.
    pub fn new(plan: &Plan) -> Result<Self, ExportError> {
        let mut book = Workbook::new();
        let r = &plan.started.request;
        let created = ExcelDateTime::from_ymd(
            u16::try_from(r.scope.from.year).unwrap_or(1900),
            r.scope.from.month as u8,
            r.scope.from.day as u8,
        )
        .map_err(err)?;
        book.set_properties(
            &DocProperties::new()
                .set_title(fit(&format!(
                    "Aidant summary: {}",
                    plan.started.operation.name
                )))
                .set_creation_datetime(&created),
        );
        let bold = Format::new().set_bold();
        let sheet = book.add_worksheet_with_constant_memory().map_err(err)?;
        sheet.set_name(SUMMARY).map_err(err)?;
        sheet.set_column_width(0, 36).map_err(err)?;
        let mut row = 0u32;
        let op = &plan.started.operation;
        let meta = [
            ("Operation", op.name.clone()),
            ("Force area", op.force_area.clone()),
            ("From", r.scope.from.to_string()),
            ("To", r.scope.to.to_string()),
            (
                "Victim-identifying columns",
                if r.identifying {
                    "included (admin request)".to_owned()
                } else {
                    "left out".to_owned()
                },
            ),
            (
                "Days",
                "Europe/London calendar days; a visit counts on the day it started".to_owned(),
            ),
        ];
        sheet
            .write_string_with_format(row, 0, "Aidant day summary", &bold)
            .map_err(err)?;
        row += 1;
        for (k, v) in meta {
            sheet
                .write_string_with_format(row, 0, k, &bold)
                .map_err(err)?;
            sheet.write_string(row, 1, fit(&v)).map_err(err)?;
            row += 1;
        }
        let s = &plan.summary;
        let mut table = |title: &str,
                         heads: Vec<String>,
                         sums: Vec<&DaySummary>,
                         row: &mut u32|
         -> Result<(), ExportError> {
            *row += 1;
            sheet
                .write_string_with_format(*row, 0, title, &bold)
                .map_err(err)?;
            for (i, h) in heads.iter().enumerate() {
                sheet
                    .write_string_with_format(*row, i as u16 + 1, fit(h), &bold)
                    .map_err(err)?;
            }
            *row += 1;
            for (label, values) in figures::rows(&sums) {
                sheet.write_string(*row, 0, &label).map_err(err)?;
                for (i, v) in values.iter().enumerate() {
                    let col = i as u16 + 1;
                    match v {
                        figures::Value::Count(n) => sheet.write_number(*row, col, *n as f64),
                        figures::Value::Text(t) => sheet.write_string(*row, col, fit(t)),
                    }
                    .map_err(err)?;
                }
                *row += 1;
            }
            Ok(())
        };
        let mut heads = vec!["Total".to_owned()];
        heads.extend(s.days.iter().map(|d| d.date.to_string()));
        let mut sums = vec![&s.total];
        sums.extend(s.days.iter());
        table("By day", heads, sums, &mut row)?;
        table(
            "By team",
            s.by_team.keys().cloned().collect(),
            s.by_team.values().collect(),
            &mut row,
        )?;
        table(
            "By force area",
            s.by_force_area.keys().cloned().collect(),
            s.by_force_area.values().collect(),
            &mut row,
        )?;
        Ok(Self {
            book,
            bold,
            sheet: 0,
            row: 0,
            kinds: Vec::new(),
        })
    }

    /// Adds a sheet and writes its header row.
    pub fn begin_table(&mut self, name: &str, columns: &[Column]) -> Result<(), ExportError> {
        let sheet = self
            .book
            .add_worksheet_with_constant_memory()
            .map_err(err)?;
        sheet.set_name(name).map_err(err)?;
        for (i, c) in columns.iter().enumerate() {
            let col = i as u16;
            sheet.set_column_width(col, 16).map_err(err)?;
            sheet
                .write_string_with_format(0, col, c.name, &self.bold)
                .map_err(err)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(err)?;
        self.sheet += 1;
        self.row = 1;
        self.kinds = columns.iter().map(|c| c.kind).collect();
        Ok(())
    }

    /// One row of the current sheet.
    pub fn row(&mut self, cells: &[&str]) -> Result<(), ExportError> {
        let sheet = self.book.worksheet_from_index(self.sheet).map_err(err)?;
        for (i, (cell, kind)) in cells.iter().zip(&self.kinds).enumerate() {
            let col = i as u16;
            if cell.is_empty() {
                continue;
            }
            match kind {
                Kind::Int => match cell.parse::<i64>() {
                    Ok(n) => sheet.write_number(self.row, col, n as f64),
                    Err(_) => sheet.write_string(self.row, col, fit(cell)),
                },
                Kind::Text => sheet.write_string(self.row, col, fit(cell)),
            }
            .map_err(err)?;
        }
        self.row += 1;
        Ok(())
    }

    /// Writes the workbook (a zip, streamed) to `w`.
    pub fn save<W: Write + Send>(mut self, w: W) -> Result<(), ExportError> {
        self.book.save_to_writer(w).map_err(|e| match e {
            XlsxError::IoError(io) => ExportError::Io(io),
            other => err(other),
        })
    }
}
