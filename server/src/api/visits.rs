//! Supervisors and admins read visits (with their conflicts) and mark them reviewed.
//! Every read of a visit's detail is audited with who, when, what and why.

use crate::auth::Auth;
use crate::db::{self, audit::Entry, sync::Incoming};
use crate::domain::Role;
use crate::error::ApiError;
use crate::{now_rfc3339, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use sync_core::{Action, Hlc, Op, OpId, OperationId, Status, VisitId, VisitView};
use uuid::Uuid;

const READERS: &[Role] = &[Role::Supervisor, Role::Admin];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    operation: Option<Uuid>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/v1/visits?operation=&status=`: the index (no personal data).
pub async fn list(
    auth: Auth,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let c = auth.require(READERS)?;
    let scope = (c.user.role != Role::Admin).then(|| c.operations.clone());
    let q = q.into_inner();
    if let Some(s) = &q.status {
        if Status::parse(s).rank().is_none() {
            return Err(ApiError::bad_request(
                "bad_query",
                "status must be draft, submitted or reviewed",
            ));
        }
    }
    let limit = q.limit.unwrap_or(500).clamp(1, 5_000);
    let rows = state
        .db
        .read(move |c| {
            db::sync::visits(
                c,
                scope.as_deref(),
                q.operation.map(OperationId),
                q.status.as_deref(),
                limit,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

fn visit_id(s: &str) -> Result<VisitId, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request("bad_path", "visit id must be a UUID"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadQuery {
    #[serde(default)]
    reason: Option<String>,
}

/// `GET /api/v1/visits/{id}?reason=`: the merged visit with its conflicts.
pub async fn read(
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<ReadQuery>,
) -> Result<HttpResponse, ApiError> {
    let c = auth.require(READERS)?.clone();
    let id = visit_id(&path)?;
    let reason = q.into_inner().reason.unwrap_or_default();
    super::check_len("reason", &reason, 0, 500)?;
    let now = now_rfc3339();
    let view = state
        .db
        .write(move |tx| {
            let Some(op) = db::sync::visit_operation(tx, id)? else {
                return Ok(None);
            };
            if !c.sees(&op) {
                // Not found rather than forbidden: do not reveal that it exists.
                return Ok(None);
            }
            let Some(v) = db::sync::visit_state(tx, id)? else {
                return Ok(None);
            };
            db::audit::append(
                tx,
                &now,
                &Entry {
                    actor: &c.actor(),
                    action: "visit.read",
                    subject: &format!("visit:{id}"),
                    reason: &reason,
                    detail: &serde_json::json!({ "operation": op, "persons": v.persons().len() })
                        .to_string(),
                },
            )?;
            Ok(Some(VisitView::from(&v)))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("visit"))?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/visits/{id}/review`: a supervisor of the visit's operation (or
/// an admin) marks a submitted visit reviewed, as an op from the server replica.
pub async fn review(
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let c = auth.require(READERS)?.clone();
    let id = visit_id(&path)?;
    let replica = state.server_replica;
    let now = now_rfc3339();
    let wall = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let outcome = state
        .db
        .write(move |tx| {
            let Some(op_id) = db::sync::visit_operation(tx, id)? else {
                return Ok(Err(ApiError::not_found("visit")));
            };
            if !c.sees(&op_id) {
                return Ok(Err(ApiError::not_found("visit")));
            }
            let v = db::sync::visit_state(tx, id)?
                .ok_or_else(|| db::DbError::NotFound("visit".into()))?;
            match v.status() {
                Status::Submitted => {}
                Status::Reviewed => return Ok(Ok(VisitView::from(&v))),
                other => {
                    return Ok(Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "not_submitted",
                        format!("the visit is {other}; an officer must submit it first"),
                    )))
                }
            }
            let seq = db::sync::next_seq(tx, &replica.to_string())?;
            let op = Op {
                id: OpId::new(replica, seq),
                hlc: Hlc::new(wall, 0),
                visit: id,
                action: Action::Status {
                    status: Status::Reviewed,
                },
            };
            let who = db::sync::Pusher {
                device: None,
                operations: None,
            };
            db::sync::push(tx, &who, vec![Incoming::Op(op)], &now)?;
            db::audit::append(
                tx,
                &now,
                &Entry {
                    actor: &c.actor(),
                    action: "visit.review",
                    subject: &format!("visit:{id}"),
                    reason: "",
                    detail: "{}",
                },
            )?;
            let v = db::sync::visit_state(tx, id)?
                .ok_or_else(|| db::DbError::NotFound("visit".into()))?;
            Ok(Ok(VisitView::from(&v)))
        })
        .await??;
    Ok(HttpResponse::Ok().json(outcome))
}
