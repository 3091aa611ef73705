//! Storing the demo: the operation, teams, staff and their enrolled devices,
//! then every generated op through the server's normal push path, a few
//! hundred visits per transaction, and the figures of what was stored.

use super::{generate, plan, DemoError, DemoOptions, DemoPlan, DemoReport, DemoVisit};
use crate::db::{self, audit::Entry, sync::Incoming, Db, DbError};
use crate::domain::{DeviceId, Operation, Role, Team, TeamId, User, UserId};
use crate::{now_rfc3339, rfc3339_in, secrets};
use std::collections::BTreeMap;
use sync_core::{Op, PersonField, ReplicaId, Status, Visit};
use uuid::Uuid;

/// Visits per transaction.
const CHUNK: usize = 250;

fn ms_rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Creates the operation, teams, staff and devices, then stores every
/// generated op through the normal push path, a few hundred visits per
/// transaction. Fails (without storing ops) if the demo operation for this
/// seed is already there.
pub fn fill(db: &Db, opts: &DemoOptions) -> Result<DemoReport, DemoError> {
    opts.check()?;
    let plan = plan(opts);
    let staff_password = format!("demo-{}", secrets::new_code().to_lowercase());
    let staff_hash = secrets::hash_password(&staff_password).map_err(DemoError::Password)?;
    let supervisors = setup(db, opts, &plan, &staff_hash)?;
    let mut report = DemoReport {
        operation: plan.operation,
        operation_name: plan.name.clone(),
        visits: 0,
        ops: 0,
        persons: 0,
        potential_victims: 0,
        conflicts: 0,
        voided: 0,
        by_status: [0; 3],
        teams: plan.teams.len(),
        officers: plan.teams.len() * 4,
        supervisors,
        staff_password,
        days: (opts.start, opts.date(opts.days - 1)),
    };
    let mut last_seen: BTreeMap<ReplicaId, u64> = Default::default();
    let mut chunk: Vec<DemoVisit> = Vec::with_capacity(CHUNK);
    let mut visits = generate(opts).fuse();
    loop {
        chunk.clear();
        chunk.extend(visits.by_ref().take(CHUNK));
        if chunk.is_empty() {
            break;
        }
        for dv in &chunk {
            tally(&mut report, &mut last_seen, dv);
        }
        store(db, &chunk)?;
    }
    finish(db, &plan, &report, &last_seen)?;
    Ok(report)
}

/// The operation, its teams, and each member of staff with an enrolled
/// device; returns the supervisors' usernames.
fn setup(
    db: &Db,
    opts: &DemoOptions,
    plan: &DemoPlan,
    staff_hash: &str,
) -> Result<Vec<String>, DemoError> {
    let now = now_rfc3339();
    let last_day = opts.date(opts.days - 1);
    db.write_blocking_as(|tx| {
        if db::people::operation_exists(tx, plan.operation)? {
            return Err(DemoError::Exists(format!(
                "this database already holds the demo operation for seed {}; use another --seed",
                opts.seed
            )));
        }
        let operation = Operation {
            id: plan.operation,
            name: plan.name.clone(),
            force_area: plan.force_area.clone(),
            starts_on: opts.start.to_string(),
            ends_on: last_day.to_string(),
            retention_days: Operation::DEFAULT_RETENTION_DAYS,
        };
        db::people::create_operation(tx, &operation, &now)?;
        let expires = rfc3339_in(chrono::Duration::hours(1));
        // A username not yet taken (`base`, else `base-2`, `base-3`, …).
        let free_username = |base: &str| -> Result<String, DbError> {
            let mut name = base.to_owned();
            let mut n = 1;
            while db::people::user_for_login(tx, &name)?.is_some() {
                n += 1;
                name = format!("{base}-{n}");
            }
            Ok(name)
        };
        let mut supervisors = Vec::new();
        for team in &plan.teams {
            let team_id = TeamId(Uuid::new_v4());
            db::people::create_team(
                tx,
                &Team {
                    id: team_id,
                    operation_id: plan.operation,
                    name: team.name.clone(),
                },
            )?;
            let all = std::iter::once((&team.supervisor, Role::Supervisor))
                .chain(team.officers.iter().map(|o| (o, Role::Officer)));
            for (s, role) in all {
                let user = User {
                    id: UserId(Uuid::new_v4()),
                    username: free_username(&s.username)?,
                    display_name: s.display_name.clone(),
                    role,
                    created_at: now.clone(),
                };
                let hash = (role == Role::Supervisor).then_some(staff_hash);
                db::people::create_user(tx, &user, hash)?;
                db::people::add_member(tx, user.id, plan.operation, Some(team_id), "system", &now)?;
                if role == Role::Supervisor {
                    supervisors.push(user.username.clone());
                }
                // A real enrolment: a one-time code traded for the device
                // whose id is the replica id the generator used. Neither the
                // code nor the token is kept: nobody can use these devices.
                let code_hash = secrets::hash_secret(&secrets::new_token());
                db::people::create_enrolment_code(
                    tx, &code_hash, user.id, user.id, &now, &expires,
                )?;
                let label = format!("{} phone", s.display_name);
                let token_hash = secrets::hash_secret(&secrets::new_token());
                db::people::enrol_device(
                    tx,
                    &code_hash,
                    DeviceId(s.device.0),
                    &label,
                    &token_hash,
                    &secrets::new_recovery_code(),
                    &now,
                )?
                .map_err(|p| DemoError::Enrolment(format!("{label}: {p:?}")))?;
            }
        }
        db::audit::append(
            tx,
            &now,
            &Entry {
                actor: "system",
                action: "demo.setup",
                subject: &format!("operation:{}", plan.operation),
                reason: "aidant demo",
                detail: &serde_json::json!({
                    "seed": opts.seed,
                    "scale": opts.scale,
                    "days": opts.days,
                    "teams": plan.teams.len(),
                })
                .to_string(),
            },
        )?;
        Ok(supervisors)
    })
}

/// Counts a generated visit into the report, and when each device was last
/// seen.
fn tally(report: &mut DemoReport, last_seen: &mut BTreeMap<ReplicaId, u64>, dv: &DemoVisit) {
    let mut v = Visit::new(dv.visit);
    for op in &dv.ops {
        v.apply(op);
        let seen = last_seen.entry(op.id.replica).or_default();
        *seen = (*seen).max(op.hlc.wall_ms);
    }
    report.visits += 1;
    report.ops += dv.ops.len();
    let persons = v.persons();
    report.persons += persons.len();
    report.potential_victims += persons
        .iter()
        .filter(|(_, p)| p.flag(&PersonField::PotentialVictim))
        .count();
    report.conflicts += usize::from(v.has_conflict());
    report.voided += usize::from(v.is_voided());
    if let Some(r) = v.status().rank() {
        // The demo never returns a visit; a return would count
        // with the submitted ones (awaiting the officer).
        report.by_status[if r > 2 { 1 } else { usize::from(r) }] += 1;
    }
}

/// Each device last seen when its last op was made; the fill audited.
fn finish(
    db: &Db,
    plan: &DemoPlan,
    report: &DemoReport,
    last_seen: &BTreeMap<ReplicaId, u64>,
) -> Result<(), DemoError> {
    let now = now_rfc3339();
    db.write_blocking(|tx| {
        for (device, at) in last_seen {
            db::people::touch_device(tx, DeviceId(device.0), &ms_rfc3339(*at))?;
        }
        db::audit::append(
            tx,
            &now,
            &Entry {
                actor: "system",
                action: "demo.fill",
                subject: &format!("operation:{}", plan.operation),
                reason: "aidant demo",
                detail: &serde_json::json!({
                    "visits": report.visits,
                    "ops": report.ops,
                    "persons": report.persons,
                })
                .to_string(),
            },
        )?;
        Ok(())
    })?;
    Ok(())
}

/// A device's ops in one chunk, in the order made.
type Batch = (ReplicaId, Vec<Incoming>);

/// Stores a chunk of visits in one transaction: first each visit's creating
/// device's ops (so every visit exists), then the other devices' ops; one
/// push per device, as that device.
fn store(db: &Db, chunk: &[DemoVisit]) -> Result<(), DemoError> {
    let now = now_rfc3339();
    let mut first: Vec<Batch> = Vec::new();
    let mut then: Vec<Batch> = Vec::new();
    let group = |groups: &mut Vec<Batch>, op: &Op| match groups
        .iter_mut()
        .find(|(r, _)| *r == op.id.replica)
    {
        Some((_, ops)) => ops.push(Incoming::Op(op.clone())),
        None => groups.push((op.id.replica, vec![Incoming::Op(op.clone())])),
    };
    for dv in chunk {
        let creator = dv.ops.first().map(|o| o.id.replica);
        for op in &dv.ops {
            if Some(op.id.replica) == creator {
                group(&mut first, op);
            } else {
                group(&mut then, op);
            }
        }
    }
    let refused = db.write_blocking(|tx| {
        let mut refused = Vec::new();
        for (replica, ops) in first.into_iter().chain(then) {
            let device = DeviceId(replica.0);
            let (user, role, replica) = db::people::device_owner(tx, device)?;
            // A sergeant's review reaches the server as the review page's
            // would: written by the server, not pushed from a phone (which
            // the permission table refuses).
            let (reviews, ops): (Vec<Incoming>, Vec<Incoming>) =
                ops.into_iter().partition(is_review);
            let who = db::sync::Pusher::Device {
                device,
                replica,
                user,
                role,
            };
            let pushed = crate::ledger::push(tx, &who, ops, &now)?;
            let reviewed = crate::ledger::push(tx, &db::sync::Pusher::Server, reviews, &now)?;
            for r in pushed.into_iter().chain(reviewed) {
                if let db::sync::PushResult::Rejected { code, message, .. } = r {
                    refused.push(format!("{code}: {message}"));
                }
            }
        }
        Ok(refused)
    })?;
    match refused.first() {
        None => Ok(()),
        Some(f) => Err(DemoError::Refused {
            count: refused.len(),
            first: f.clone(),
        }),
    }
}

/// A sergeant's review.
fn is_review(i: &Incoming) -> bool {
    matches!(
        i,
        Incoming::Op(Op {
            action: sync_core::Action::Status {
                status: Status::Reviewed,
                ..
            },
            ..
        })
    )
}
