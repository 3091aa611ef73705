//! Server-side records (users, operations, devices) shared by `db` and `api`.
//! No SQL and no HTTP here.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;
use uuid::Uuid;

/// What a user may do.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Records visits from a device.
    Officer,
    /// Reads and reviews the visits of their operations.
    Supervisor,
    /// Manages operations, users and devices; reads everything.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "officer" => Some(Role::Officer),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

id!(
    /// A user.
    UserId
);
id!(
    /// A team within an operation.
    TeamId
);
id!(
    /// An enrolled device; also its sync-core replica id.
    DeviceId
);

/// A user account.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Name shown (for officers, their collar number and name).
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// When created (RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// An operation (a campaign such as a week of action).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Operation {
    /// Id (the sync-core `OperationId`).
    #[schema(value_type = Uuid)]
    pub id: sync_core::OperationId,
    /// Name.
    pub name: String,
    /// Force area.
    pub force_area: String,
    /// First day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub starts_on: String,
    /// Last day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub ends_on: String,
    /// Phones forget a synced visit this many days after the visit's day.
    #[serde(default = "Operation::default_retention_days")]
    pub retention_days: u32,
}

impl Operation {
    /// Phones keep a synced visit for a week after its day unless told otherwise.
    pub const DEFAULT_RETENTION_DAYS: u32 = 7;
    /// The longest retention an admin may set.
    pub const MAX_RETENTION_DAYS: u32 = 365;

    fn default_retention_days() -> u32 {
        Self::DEFAULT_RETENTION_DAYS
    }
}

/// A team.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Team {
    /// Id.
    pub id: TeamId,
    /// Operation.
    #[schema(value_type = Uuid)]
    pub operation_id: sync_core::OperationId,
    /// Name.
    pub name: String,
}

/// An enrolled device.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Device {
    /// Id (its replica id until it rekeys).
    pub id: DeviceId,
    /// Owner.
    pub user_id: UserId,
    /// Label given at enrolment.
    pub label: String,
    /// When enrolled.
    pub enrolled_at: String,
    /// When revoked, if it was.
    pub revoked_at: Option<String>,
    /// How it was revoked: `lost` or `reassigned`.
    pub revoke_mode: Option<String>,
    /// Last request seen.
    pub last_seen_at: Option<String>,
}

/// Who is calling, resolved from a bearer token.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// The device, when the token is a device token.
    pub device: Option<DeviceId>,
    /// The replica id the device's ops carry now (device tokens only).
    pub replica: Option<Uuid>,
    /// Operations the user belongs to (admins: empty, they see all).
    pub operations: Vec<sync_core::OperationId>,
}

impl Caller {
    /// The audit actor string.
    pub fn actor(&self) -> String {
        match self.device {
            Some(d) => format!("user:{} device:{d}", self.user.id),
            None => format!("user:{}", self.user.id),
        }
    }

    /// True when a person at the admin pages may see an operation's records
    /// (admins every operation, others their own). Phones never read through
    /// these routes: see [`Caller::device`] and `permissions`.
    pub fn sees(&self, op: &sync_core::OperationId) -> bool {
        self.user.role == Role::Admin || self.operations.contains(op)
    }

    /// The operations a session may list: `None` for every one (admins).
    /// The one place that says "admins see everything, others their
    /// operations" for operation-level lists.
    pub fn operation_scope(&self) -> Option<Vec<sync_core::OperationId>> {
        (self.user.role != Role::Admin).then(|| self.operations.clone())
    }
}
