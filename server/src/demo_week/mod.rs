//! `aidant demo`: a synthetic but realistic week of action, so a new user sees
//! real-looking summaries at once and benchmarks have data.
//!
//! [`generate`] is pure and deterministic for a seed, and lazy: it yields one
//! visit at a time (the ops of every device that touched it), holding only the
//! plan and each device's last op and clock, so a million visits never sit in
//! memory. Every op is made by a sync-core [`sync_core::Replica`] whose id is the device
//! of the officer who made it. [`fill`] creates the operation, teams, users,
//! memberships and devices, and stores the ops through the server's normal
//! push path ([`crate::db::sync::push`]) so the derived visit index is right.
//!
//! The proportions follow `shared/domain/realistic-figures.md`: about 5–10%
//! of the people spoken to are judged potential victims; a car wash visit
//! finds about three workers; a road check yields 3–4 potential victims per
//! 100 vehicles; a force-area week is tens of visits a day across a few dozen
//! officers (scale 1), a national week a few thousand a day (scale 100).
//! Safeguarding follows the rule of thumb in `vocabulary.md`: a potential
//! victim who is a child (or whose age is unknown, presumed a child) gets an
//! NRM referral regardless of consent; an adult who consents gets an NRM
//! referral; an adult who declines gets a Duty to Notify instead.
//!
//! Each device's ops are made by a fresh `Replica` per visit that is first
//! handed that device's previous op and clock, so sequence numbers continue
//! without gaps and clocks never go back, without keeping a week of log.
//!
//! The stages, one module each: `rng` (the seeded random source, over
//! `sync_core::rand`), `tables` (places, names, indicators), `plan`
//! (operation, teams, staff), `generate` (devices and each crew's day),
//! `visit` and `person` (the ops of one visit and one person), `store` (into
//! the database through the push path) and `cli` (`aidant demo`).

mod cli;
mod generate;
mod person;
mod plan;
mod rng;
mod store;
mod tables;
mod visit;

pub use cli::{cli, ensure_admin, run, AdminLogin, DemoArgs};
pub use generate::generate;
pub use plan::plan;
pub use store::fill;

use crate::db::DbError;
use sync_core::summary::LocalDate;
use sync_core::{Op, OperationId, ReplicaId, VisitId};

const MINUTE: u64 = 60_000;
const BUG: &str = "demo generator made an invalid edit (a bug in the demo generator)";

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoOptions {
    /// Same seed, same data.
    pub seed: u64,
    /// First day (Europe/London).
    pub start: LocalDate,
    /// Number of days.
    pub days: u32,
    /// 1.0 = a realistic force-area week (about 60 visits a day across 24
    /// officers); 100.0 = 100 times the visits and officers.
    pub scale: f64,
}

impl Default for DemoOptions {
    /// Seed 1, the Monday of last week (so every day is in the past), 7 days, scale 1.
    fn default() -> Self {
        let today = sync_core::summary::london_date(chrono::Utc::now().timestamp_millis());
        let days = today.days_since_epoch();
        let since_monday = (days + 3).rem_euclid(7); // 1970-01-01 was a Thursday
        Self {
            seed: 1,
            start: LocalDate::from_days_since_epoch(days - since_monday - 7),
            days: 7,
            scale: 1.0,
        }
    }
}

impl DemoOptions {
    /// Checks the options make sense.
    pub fn check(&self) -> Result<(), DemoError> {
        if !(1..=366).contains(&self.days) {
            return Err(DemoError::Options(format!(
                "days must be 1 to 366 (got {})",
                self.days
            )));
        }
        if !self.scale.is_finite() || self.scale <= 0.0 || self.scale > 10_000.0 {
            return Err(DemoError::Options(format!(
                "scale must be more than 0 and at most 10000 (got {})",
                self.scale
            )));
        }
        Ok(())
    }

    fn date(&self, day: u32) -> LocalDate {
        LocalDate::from_days_since_epoch(self.start.days_since_epoch() + i64::from(day))
    }
}

/// One generated visit: every op of every device that touched it, in the order made.
#[derive(Clone, Debug)]
pub struct DemoVisit {
    /// The visit.
    pub visit: VisitId,
    /// Index of the team (in [`DemoPlan::teams`]) that made it.
    pub team: usize,
    /// Its ops: the creating officer's, the second officer's, the sergeant's review.
    pub ops: Vec<Op>,
}

/// A person on the demo's staff, with the device that is their replica.
#[derive(Clone, Debug)]
pub struct DemoStaff {
    /// Device id = sync-core replica id.
    pub device: ReplicaId,
    /// Login name.
    pub username: String,
    /// Shown name, e.g. "PC 4521 Jones".
    pub display_name: String,
    /// Collar number, recorded in visits' `officers`.
    pub collar: String,
}

/// A team: a sergeant and two crews of two.
#[derive(Clone, Debug)]
pub struct DemoTeam {
    /// e.g. "Thames Valley 1".
    pub name: String,
    /// Force area the team works in.
    pub force_area: &'static str,
    /// The sergeant (role supervisor); reviews the team's visits.
    pub supervisor: DemoStaff,
    /// Four officers: crew 0 is officers 0 and 1, crew 1 officers 2 and 3.
    pub officers: Vec<DemoStaff>,
}

/// Who and what [`generate`] uses: deterministic for the options.
#[derive(Clone, Debug)]
pub struct DemoPlan {
    /// The operation's id.
    pub operation: OperationId,
    /// Its name.
    pub name: String,
    /// Its force area ("National" when teams span several forces).
    pub force_area: String,
    /// Teams.
    pub teams: Vec<DemoTeam>,
}

/// The demo could not be made or stored.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Bad options or command line.
    #[error("{0}")]
    Options(String),
    /// The database already holds what the demo would create.
    #[error("{0}")]
    Exists(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// The server refused generated ops (a generator bug).
    #[error("{count} generated op(s) were refused, the first: {first}")]
    Refused {
        /// How many.
        count: usize,
        /// The first refusal.
        first: String,
    },
    /// A demo device's enrolment was refused (a generator bug).
    #[error("a demo device's enrolment was refused: {0}")]
    Enrolment(String),
    /// A password could not be hashed.
    #[error("password hashing: {0}")]
    Password(String),
}

/// What [`fill`] stored.
#[derive(Clone, Debug)]
pub struct DemoReport {
    /// The operation created.
    pub operation: OperationId,
    /// Its name.
    pub operation_name: String,
    /// Visits stored.
    pub visits: usize,
    /// Ops stored.
    pub ops: usize,
    /// Persons recorded.
    pub persons: usize,
    /// Persons judged potential victims.
    pub potential_victims: usize,
    /// Visits left with a conflict to resolve.
    pub conflicts: usize,
    /// Voided visits.
    pub voided: usize,
    /// Visits per status (draft, submitted, reviewed).
    pub by_status: [usize; 3],
    /// Teams.
    pub teams: usize,
    /// Officers (each with one device).
    pub officers: usize,
    /// Supervisors' usernames (each with one device).
    pub supervisors: Vec<String>,
    /// The password every demo supervisor signs in with.
    pub staff_password: String,
    /// First and last day.
    pub days: (LocalDate, LocalDate),
}
