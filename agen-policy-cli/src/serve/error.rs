//! Every error the server answers, as JSON: `code`, `path` (a JSON Pointer, `""` for the whole)
//! and `message`, plus every problem of a refused edit.

use agen_policy_core::admin::AdminError;
use agen_policy_core::RequestError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::state::FileProblem;
use crate::{reported, ReportedProblem};

/// An error response (boxed: errors are rare, results are returned on every path).
#[derive(Debug)]
pub struct ApiError(Box<Detail>);

/// What an error response says.
#[derive(Debug, Serialize)]
struct Detail {
    #[serde(skip)]
    status: StatusCode,
    code: &'static str,
    path: String,
    message: String,
    /// Every problem of a refused edit, or of a document file that does not load.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<ReportedProblem>,
    /// Warnings the refused edit would have had.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<ReportedProblem>,
    /// The JSON Pointer of the policy the edit was about: problems under it concern its fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_path: Option<String>,
    /// For a batch, the index of the offending evaluation.
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
}

impl From<Detail> for ApiError {
    fn from(detail: Detail) -> ApiError {
        ApiError(Box::new(detail))
    }
}

fn detail(status: StatusCode, code: &'static str, message: impl Into<String>) -> Detail {
    Detail {
        status,
        code,
        path: String::new(),
        message: message.into(),
        problems: Vec::new(),
        warnings: Vec::new(),
        policy_path: None,
        index: None,
    }
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::from(detail(status, code, message))
    }

    /// The HTTP status, as a number.
    #[cfg(test)]
    pub fn status(&self) -> u16 {
        self.0.status.as_u16()
    }

    /// 400 `invalid_request` at `path`.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::from(Detail {
            path: path.into(),
            ..detail(StatusCode::BAD_REQUEST, "invalid_request", message)
        })
    }

    /// A request the core refused.
    pub fn request(e: &RequestError) -> ApiError {
        ApiError::invalid(e.path(), e.message())
    }

    /// The same error, for the evaluation at `index` of a batch.
    pub fn at_index(mut self, index: usize) -> ApiError {
        self.0.index = Some(index);
        self
    }

    /// A body that is not the JSON the endpoint takes.
    pub fn body(e: &serde_json::Error) -> ApiError {
        ApiError::invalid(
            "",
            format!("the body is not the JSON this endpoint takes: {e}"),
        )
    }

    /// 413: a body beyond the endpoint's limit.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "limit_exceeded",
            format!("the body is larger than the limit of {limit} bytes"),
        )
    }

    /// 401: no token, or another one.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs the admin token: `Authorization: Bearer TOKEN`",
        )
    }

    /// 404 for a path that names nothing.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no {what}"))
    }

    /// 404 for a policy id the document lacks.
    pub fn unknown_policy(id: &str) -> ApiError {
        ApiError::from(Detail {
            path: "/policies".to_owned(),
            ..detail(
                StatusCode::NOT_FOUND,
                "unknown_policy",
                format!("no policy has the id `{id}`"),
            )
        })
    }

    /// 428: an edit without `If-Match`.
    pub fn revision_required() -> ApiError {
        ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "revision_required",
            "an edit must name the revision it was made on: `If-Match` with the document's ETag",
        )
    }

    /// 412: an edit made on another revision than the current one.
    pub fn stale(current: &str) -> ApiError {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "stale_revision",
            format!(
                "the document has changed since this edit was prepared (now at revision `{current}`); \
                 reload it and edit again"
            ),
        )
    }

    /// 409: the file holds a hand edit that does not load; edits wait until it is fixed.
    pub fn file_invalid(problem: FileProblem) -> ApiError {
        ApiError::from(Detail {
            problems: problem.problems,
            ..detail(
                StatusCode::CONFLICT,
                "document_file_invalid",
                format!("{}; fix the file before editing here", problem.message),
            )
        })
    }

    /// 422: the edit would make the document invalid; every problem.
    pub fn refused(e: AdminError) -> ApiError {
        let unknown = e.code().as_str() == "unknown_policy";
        let first = e.problems().first();
        ApiError::from(Detail {
            status: if unknown {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            code: e.code().as_str(),
            path: first.map_or_else(String::new, |p| p.path().to_owned()),
            message: first.map_or_else(String::new, |p| p.message().to_owned()),
            problems: reported(e.problems()),
            warnings: reported(e.warnings()),
            policy_path: e.policy_path().map(str::to_owned),
            index: None,
        })
    }

    /// 500: the server could not do what it should have (writing the file).
    pub fn internal(message: String) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail = self.0;
        let body = serde_json::to_vec(&detail).unwrap_or_default();
        let mut response = (detail.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if detail.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"agen-policy\""),
            );
        }
        response
    }
}
