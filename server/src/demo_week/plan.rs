//! The plan: the operation, its teams and their staff, each with the device
//! that is their replica. Deterministic for the options (its own stream of
//! the seed, apart from the visits').

use super::rng::Rng;
use super::tables::{FORCES, SURNAMES};
use super::{DemoOptions, DemoPlan, DemoStaff, DemoTeam};
use sync_core::{OperationId, ReplicaId};

/// Number of teams at a scale: six at scale 1 (24 officers and 6 sergeants).
fn team_count(scale: f64) -> usize {
    ((6.0 * scale).round() as usize).max(1)
}

/// The operation, teams and staff [`super::generate()`] uses for these options.
pub fn plan(opts: &DemoOptions) -> DemoPlan {
    let mut rng = Rng::new(opts.seed, 1);
    let teams = team_count(opts.scale);
    let forces = if opts.scale < 3.0 {
        1
    } else {
        FORCES.len().min(teams)
    };
    let mut collars = std::collections::BTreeSet::new();
    let mut staff = |rng: &mut Rng, rank: &str, prefix: &str| {
        let collar = loop {
            let c = rng.range(1000, 9999 + 10_000 * (teams as i64 / 1500));
            if collars.insert(c) {
                break c.to_string();
            }
        };
        let surname = rng.pick(SURNAMES);
        DemoStaff {
            device: ReplicaId(rng.uuid()),
            username: format!("{prefix}{collar}"),
            display_name: format!("{rank} {collar} {surname}"),
            collar,
        }
    };
    let mut per_force = vec![0usize; forces];
    let teams = (0..teams)
        .map(|i| {
            let f = i % forces;
            per_force[f] += 1;
            let force = &FORCES[f];
            DemoTeam {
                name: format!("{} {}", force.name, per_force[f]),
                force_area: force.name,
                supervisor: staff(&mut rng, "PS", "ps"),
                officers: (0..4).map(|_| staff(&mut rng, "PC", "pc")).collect(),
            }
        })
        .collect();
    let force_area = if forces == 1 {
        FORCES[0].name.to_owned()
    } else {
        "National".to_owned()
    };
    DemoPlan {
        operation: OperationId(rng.uuid()),
        name: format!(
            "Operation Aidant — labour exploitation week ({force_area}, from {})",
            opts.start
        ),
        force_area,
        teams,
    }
}
