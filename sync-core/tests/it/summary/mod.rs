//! The day summary: Europe/London days (checked against chrono-tz natively),
//! day boundaries, hand-computed figures for a fixed data set built through the
//! replica API, and the same figures on every replica once synced.
//!
//! `days` (dates and day boundaries), `data` (the fixed data set and its
//! figures worked out by hand), `figures` (the summary over it), and natively
//! `london_tz` (chrono-tz as the reference) and `random` (random edits).

mod data;
mod days;
mod figures;
#[cfg(not(target_arch = "wasm32"))]
mod london_tz;
#[cfg(not(target_arch = "wasm32"))]
mod random;

use data::*;

use sync_core::lattice::{VecMap, VecSet};
use sync_core::summary::{
    day_summary, london_date, london_day_bounds, london_offset_ms, ByAge, DaySummary, LocalDate,
};
use sync_core::*;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

fn date(s: &str) -> LocalDate {
    LocalDate::parse(s).unwrap_or_else(|| panic!("bad date {s:?}"))
}

/// A UTC instant written `YYYY-MM-DD HH:MM[:SS[.mmm]]` (in UTC), in ms.
fn utc(s: &str) -> i64 {
    let num = |x: &str| -> i64 { x.parse().unwrap_or_else(|_| panic!("bad time {s:?}")) };
    let (d, t) = s.split_once(' ').expect("date and time");
    let mut hms = t.splitn(3, ':');
    let (h, m) = (num(hms.next().unwrap()), num(hms.next().expect("minutes")));
    let (sec, ms) = hms.next().map_or((0, 0), |x| match x.split_once('.') {
        Some((sec, ms)) => (num(sec), num(ms)),
        None => (num(x), 0),
    });
    date(d).days_since_epoch() * DAY + h * HOUR + m * 60_000 + sec * 1_000 + ms
}

/// The same, as the wall time the replica API takes.
fn at(s: &str) -> u64 {
    u64::try_from(utc(s)).expect("after 1970")
}

fn next_day(d: LocalDate) -> LocalDate {
    LocalDate::from_days_since_epoch(d.days_since_epoch() + 1)
}

fn prev_day(d: LocalDate) -> LocalDate {
    LocalDate::from_days_since_epoch(d.days_since_epoch() - 1)
}
