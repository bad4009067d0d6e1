//! The web UI: the built assets of `ui/` (its sources, and `ui/README.md`
//! on how they are built), embedded in the binary. The page is answered at
//! `/` and at the path of each view, so that a deep link or a reload shows
//! the view its URL names; the page asks the API for everything else.
//!
//! The assets carry no secret and no data, so they are served without the
//! token: the page asks for it when the API answers 401. Their
//! Content-Security-Policy lets the page load nothing from anywhere but
//! this server.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::Problem;

#[derive(rust_embed::Embed)]
#[folder = "ui/dist/"]
struct Assets;

/// The views, each at its own URL (the page routes among them itself).
const VIEWS: [&str; 8] = ["/", "/search", "/code", "/code/{*path}", "/graph", "/architecture", "/history", "/jobs"];

const POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                      connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The page at each view's path, and its assets under `/assets/`.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let router = VIEWS.iter().fold(Router::new(), |router, view| router.route(view, get(page)));
    router.route("/assets/{*file}", get(asset))
}

async fn page() -> Response {
    answer("index.html")
}

async fn asset(Path(file): Path<String>) -> Response {
    answer(&format!("assets/{file}"))
}

/// The asset, with its type and security headers; its `ETag` is given by
/// the router's layer, as every answer's.
fn answer(name: &str) -> Response {
    let Some(file) = Assets::get(name) else {
        return Problem::new(StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = file.data.into_owned().into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
