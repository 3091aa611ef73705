//! The JSON export, written as it is read:
//! `{"operation", "from", "to", "identifying", "summary", "visits": [...],
//! "persons": [...]}`. Rows are objects keyed by column; whole-number columns
//! are numbers, empty cells `null`.

use super::cells::{Column, Kind};
use super::{summary_json, ExportError, Plan};
use std::io::{self, Write};

/// Writes one export document.
pub struct Writer<'w, W: Write> {
    w: &'w mut W,
    keys: Vec<(String, Kind)>,
    first_row: bool,
    in_table: bool,
}

fn string(w: &mut impl Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *w, s).map_err(io::Error::other)
}

impl<'w, W: Write> Writer<'w, W> {
    /// Writes the scope and the summary.
    pub fn new(w: &'w mut W, plan: &Plan) -> Result<Self, ExportError> {
        let r = &plan.started.request;
        let head = serde_json::json!({
            "operation": plan.started.operation,
            "from": r.scope.from,
            "to": r.scope.to,
            "identifying": r.identifying,
        });
        let head = head.to_string();
        // `{...}` without its closing brace, then the summary.
        w.write_all(&head.as_bytes()[..head.len() - 1])?;
        w.write_all(b",\"summary\":")?;
        serde_json::to_writer(
            &mut *w,
            &summary_json(&plan.started.operation, &plan.summary),
        )
        .map_err(io::Error::other)?;
        Ok(Self {
            w,
            keys: Vec::new(),
            first_row: true,
            in_table: false,
        })
    }

    /// Starts the array `name` with these columns.
    pub fn begin_table(&mut self, name: &str, columns: &[Column]) -> io::Result<()> {
        if self.in_table {
            self.w.write_all(b"]")?;
        }
        self.w.write_all(b",")?;
        string(self.w, name)?;
        self.w.write_all(b":[")?;
        self.keys = columns
            .iter()
            .map(|c| {
                let mut k = serde_json::to_string(c.name).unwrap_or_default();
                k.push(':');
                (k, c.kind)
            })
            .collect();
        self.first_row = true;
        self.in_table = true;
        Ok(())
    }

    /// One row, cells in column order.
    pub fn row(&mut self, cells: &[&str]) -> io::Result<()> {
        let w = &mut *self.w;
        w.write_all(if self.first_row { b"\n{" } else { b",\n{" })?;
        self.first_row = false;
        for (i, ((key, kind), cell)) in self.keys.iter().zip(cells).enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            w.write_all(key.as_bytes())?;
            match kind {
                _ if cell.is_empty() => w.write_all(b"null")?,
                Kind::Int if cell.parse::<i64>().is_ok() => w.write_all(cell.as_bytes())?,
                _ => string(w, cell)?,
            }
        }
        w.write_all(b"}")
    }

    /// Closes the document.
    pub fn end(self) -> io::Result<()> {
        if self.in_table {
            self.w.write_all(b"]")?;
        }
        self.w.write_all(b"}\n")
    }
}
