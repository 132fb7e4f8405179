//! The routes: the page, the admin API (bearer token), the AuthZEN decision API and `/health`.
//! Each handler parses, calls one core function and renders; no rule lives here.

use std::sync::Arc;

use agen_policy_core::admin::{
    self, AdminError, Applied, PolicyDraft, PolicySettings, TableQuery, TargetingEdit, ToolToggles,
};
use agen_policy_core::model::{Document, Operator};
use agen_policy_core::{Action, Limits, PolicySet};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::authzen::{self, Semantic};
use super::error::ApiError;
use super::page;
use super::state::{etag, Server};
use crate::reported;

/// The largest body of an admin request.
pub const ADMIN_BODY: usize = 1024 * 1024;
/// The largest body of one evaluation: a request's own bound, plus room for the AuthZEN
/// envelope.
pub const EVALUATION_BODY: usize = 1024 * 1024 + 64 * 1024;
/// The largest body of a batch of evaluations.
pub const BATCH_BODY: usize = 8 * 1024 * 1024;

type Shared = State<Arc<Server>>;
type Body = Result<Bytes, BytesRejection>;

/// Every route of the server.
pub fn router(server: Arc<Server>) -> Router {
    let admin = Router::new()
        .route("/api/document", get(document))
        .route("/api/policies", get(policies).post(create))
        .route("/api/policies/{id}", get(detail).delete(delete))
        .route("/api/policies/{id}/settings", put(settings))
        .route("/api/policies/{id}/tools", put(tools))
        .route("/api/policies/{id}/users", post(users))
        .route("/api/policies/{id}/groups", post(groups))
        .route("/api/policies/{id}/targeting", put(targeting))
        .route("/api/try", post(try_request))
        .route("/api/lint", get(lint))
        .route("/api/access", get(access))
        .route_layer(middleware::from_fn_with_state(
            server.clone(),
            require_token,
        ))
        .layer(DefaultBodyLimit::max(ADMIN_BODY));
    Router::new()
        .merge(admin)
        .route(
            "/access/v1/evaluation",
            post(evaluation).layer(DefaultBodyLimit::max(EVALUATION_BODY)),
        )
        .route(
            "/access/v1/evaluations",
            post(evaluations).layer(DefaultBodyLimit::max(BATCH_BODY)),
        )
        .route("/health", get(health))
        .route("/", get(page::index))
        .route("/assets/{name}", get(page::asset))
        .fallback(|| async { ApiError::not_found("such endpoint") })
        .layer(middleware::from_fn(headers))
        .with_state(server)
}

/// Headers every response carries: nothing is cached, sniffed or framed.
async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    response
}

/// Admin routes need `Authorization: Bearer TOKEN`.
async fn require_token(State(server): Shared, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if same(token.as_bytes(), server.token().as_bytes()) => next.run(request).await,
        _ => ApiError::unauthorized().into_response(),
    }
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse<T: DeserializeOwned>(body: Body, limit: usize) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(limit)
        } else {
            ApiError::invalid("", format!("the body cannot be read: {e}"))
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::body(&e))
}

fn json_response(status: StatusCode, version: Option<&str>, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(tag) = version.and_then(|v| HeaderValue::from_str(&etag(v)).ok()) {
        h.insert(header::ETAG, tag);
    }
    response
}

// --- reading ----------------------------------------------------------------------------------

async fn health(State(server): Shared) -> Response {
    let set = server.engine().current();
    let problem = server.file_problem();
    json_response(
        StatusCode::OK,
        None,
        &json!({
            "status": if problem.is_some() { "degraded" } else { "ok" },
            "version": set.version(),
            "policies": set.document().policies.len(),
            "document_file": {
                "ok": problem.is_none(),
                "message": problem.as_ref().map(|p| p.message.as_str()),
                "problems": problem.as_ref().map_or(0, |p| p.problems.len()),
            },
        }),
    )
}

async fn document(State(server): Shared) -> Response {
    let set = server.engine().current();
    let operators: Vec<&str> = Operator::ALL.iter().map(|o| o.as_str()).collect();
    let actions: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    json_response(
        StatusCode::OK,
        Some(set.version()),
        &json!({
            "version": set.version(),
            "document": set.document(),
            "warnings": reported(set.warnings()),
            "document_file": server.file_problem(),
            "actions": actions,
            "operators": operators,
        }),
    )
}

async fn policies(
    State(server): Shared,
    query: Result<Query<TableQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::invalid("", format!("invalid query: {}", e.body_text())))?;
    let set = server.engine().current();
    let rows = admin::table(set.document(), &query);
    Ok(json_response(
        StatusCode::OK,
        Some(set.version()),
        &json!({ "version": set.version(), "rows": rows }),
    ))
}

async fn detail(State(server): Shared, Path(id): Path<String>) -> Result<Response, ApiError> {
    let set = server.engine().current();
    let detail =
        admin::policy_detail(set.document(), &id).ok_or_else(|| ApiError::unknown_policy(&id))?;
    Ok(json_response(
        StatusCode::OK,
        Some(set.version()),
        &json!({ "version": set.version(), "detail": detail }),
    ))
}

/// Runs an analysis of the live set where blocking is allowed: an analysis examines up to
/// `2^10` combinations per principal and tool.
async fn analyse<T: Serialize + Send + 'static>(
    server: &Server,
    f: impl FnOnce(&PolicySet) -> T + Send + 'static,
) -> Result<Response, ApiError> {
    let set = server.engine().current();
    let version = set.version().to_owned();
    let body = tokio::task::spawn_blocking(move || f(&set))
        .await
        .map_err(|_| ApiError::internal("the analysis did not complete".into()))?;
    Ok(json_response(
        StatusCode::OK,
        Some(&version),
        &Versioned {
            version: &version,
            body,
        },
    ))
}

/// An answer and the revision it is about.
#[derive(Serialize)]
struct Versioned<'a, T> {
    version: &'a str,
    #[serde(flatten)]
    body: T,
}

/// `GET /api/lint`: the core's findings about the live document.
async fn lint(State(server): Shared) -> Result<Response, ApiError> {
    analyse(&server, PolicySet::lint).await
}

/// The tool an access review is about, and optionally one user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessQuery {
    connector: String,
    tool: String,
    user: Option<String>,
}

/// `GET /api/access?connector=C&tool=T[&user=U]`: the core's access review. An unknown
/// connector or tool is the core's answer too: every principal denied, with that reason.
async fn access(
    State(server): Shared,
    query: Result<Query<AccessQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::invalid("", format!("invalid query: {}", e.body_text())))?;
    analyse(&server, move |set| {
        set.access(&q.connector, &q.tool, q.user.as_deref())
    })
    .await
}

// --- editing ----------------------------------------------------------------------------------

async fn edit(
    server: Arc<Server>,
    headers: &HeaderMap,
    status: StatusCode,
    f: impl FnOnce(&Document, &Limits) -> Result<Applied, AdminError> + Send + 'static,
) -> Result<Response, ApiError> {
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // The edit writes and flushes a file: it runs where blocking is allowed.
    let edited = tokio::task::spawn_blocking(move || server.edit(if_match.as_deref(), f))
        .await
        .map_err(|_| {
            ApiError::internal("the edit did not complete; nothing was changed".into())
        })??;
    Ok(json_response(status, Some(&edited.version), &edited))
}

async fn create(
    State(server): Shared,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let draft: PolicyDraft = parse(body, ADMIN_BODY)?;
    edit(server, &headers, StatusCode::CREATED, move |d, l| {
        admin::create_policy(d, &draft, l)
    })
    .await
}

async fn settings(
    State(server): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let settings: PolicySettings = parse(body, ADMIN_BODY)?;
    edit(server, &headers, StatusCode::OK, move |d, l| {
        admin::update_settings(d, &id, &settings, l)
    })
    .await
}

async fn tools(
    State(server): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let toggles: ToolToggles = parse(body, ADMIN_BODY)?;
    edit(server, &headers, StatusCode::OK, move |d, l| {
        admin::set_tools(d, &id, &toggles, l)
    })
    .await
}

/// Users or groups to add and to remove, in one edit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Members {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

async fn users(
    State(server): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let m: Members = parse(body, ADMIN_BODY)?;
    edit(server, &headers, StatusCode::OK, move |d, l| {
        let added = admin::add_users(d, &id, &m.add, l)?;
        admin::remove_users(added.document(), &id, &m.remove, l)
    })
    .await
}

async fn groups(
    State(server): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let m: Members = parse(body, ADMIN_BODY)?;
    edit(server, &headers, StatusCode::OK, move |d, l| {
        let added = admin::add_groups(d, &id, &m.add, l)?;
        admin::remove_groups(added.document(), &id, &m.remove, l)
    })
    .await
}

async fn targeting(
    State(server): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let t: TargetingEdit = parse(body, ADMIN_BODY)?;
    edit(server, &headers, StatusCode::OK, move |d, l| {
        admin::set_targeting(d, &id, &t, l)
    })
    .await
}

async fn delete(
    State(server): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    edit(server, &headers, StatusCode::OK, move |d, l| {
        admin::delete_policy(d, &id, l)
    })
    .await
}

/// "Try a request": a SPEC §3 request → the decision and its explanation (not logged: it is
/// an administrator's question, not a tool call).
async fn try_request(State(server): Shared, body: Body) -> Result<Response, ApiError> {
    let value: Value = parse(body, ADMIN_BODY)?;
    let request = agen_policy_core::Request::from_value_with_limits(&value, server.limits())
        .map_err(|e| ApiError::request(&e))?;
    let set = server.engine().current();
    let explanation = set.explain(&request);
    Ok(json_response(
        StatusCode::OK,
        Some(set.version()),
        &json!({
            "decision": explanation.decision,
            "text": explanation.to_string(),
            "explanation": explanation,
        }),
    ))
}

// --- deciding ---------------------------------------------------------------------------------

async fn evaluation(State(server): Shared, body: Body) -> Result<Response, ApiError> {
    let value: Value = parse(body, EVALUATION_BODY)?;
    let request = authzen::to_request(&value, server.limits())?;
    let decision = server.engine().evaluate(&request);
    server.log_decision(&request, &decision);
    Ok(json_response(
        StatusCode::OK,
        None,
        &authzen::response(&decision),
    ))
}

async fn evaluations(State(server): Shared, body: Body) -> Result<Response, ApiError> {
    let value: Value = parse(body, BATCH_BODY)?;
    let (requests, semantic) = authzen::to_requests(&value, server.limits())?;
    let set = server.engine().current();
    let mut out = Vec::with_capacity(requests.len());
    for request in &requests {
        let decision = set.evaluate(request).to_owned_decision();
        server.log_decision(request, &decision);
        let allowed = decision.action == Action::Allow;
        out.push(authzen::response(&decision));
        match semantic {
            Semantic::DenyOnFirstDeny if !allowed => break,
            Semantic::PermitOnFirstPermit if allowed => break,
            _ => {}
        }
    }
    Ok(json_response(
        StatusCode::OK,
        None,
        &json!({ "evaluations": out }),
    ))
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
    }
}
