//! The Policies page: plain HTML, CSS and ES modules compiled into the binary. A request names
//! an asset by one of the fixed names below; nothing a request says reaches the file system.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The page's assets: name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("page/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("page/app.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("page/dom.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("page/api.js"),
    ),
    (
        "table.js",
        "text/javascript; charset=utf-8",
        include_str!("page/table.js"),
    ),
    (
        "create.js",
        "text/javascript; charset=utf-8",
        include_str!("page/create.js"),
    ),
    (
        "detail.js",
        "text/javascript; charset=utf-8",
        include_str!("page/detail.js"),
    ),
    (
        "tabs.js",
        "text/javascript; charset=utf-8",
        include_str!("page/tabs.js"),
    ),
    (
        "targeting.js",
        "text/javascript; charset=utf-8",
        include_str!("page/targeting.js"),
    ),
    (
        "try.js",
        "text/javascript; charset=utf-8",
        include_str!("page/try.js"),
    ),
    (
        "findings.js",
        "text/javascript; charset=utf-8",
        include_str!("page/findings.js"),
    ),
    (
        "access.js",
        "text/javascript; charset=utf-8",
        include_str!("page/access.js"),
    ),
];

const INDEX: &str = include_str!("page/index.html");

fn with_type(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `GET /`.
pub async fn index() -> Response {
    with_type("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => with_type(content_type, body),
        None => ApiError::not_found("such asset").into_response(),
    }
}
