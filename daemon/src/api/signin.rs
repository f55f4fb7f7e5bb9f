//! `/login` and `/logout`: people sign in to the duty console with their
//! own id and password (see [`super::session`]).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tracing::{info, warn};

use super::ApiContext;
use super::session::{self, Session};
use super::shell::{self, Frame, Tab};
use sitewarden_model::locale::{Arg, Messages};

/// The sign-in form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignIn {
    person: String,
    password: String,
}

/// A form that only carries the session's CSRF token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Csrf {
    csrf: String,
}

/// The sign-in page.
pub(super) async fn page(State(ctx): State<ApiContext>) -> Response {
    form_page(&ctx, StatusCode::OK, None)
}

/// Checks the password (slowly, off the async workers) and starts a session.
pub(super) async fn sign_in(
    State(ctx): State<ApiContext>,
    form: Result<axum::Form<SignIn>, axum::extract::rejection::FormRejection>,
) -> Response {
    let m = &ctx.catalog.site.messages;
    let Ok(axum::Form(form)) = form else {
        return form_page(
            &ctx,
            StatusCode::BAD_REQUEST,
            Some(m.text("signin-wrong", &[])),
        );
    };
    let person = form.person.trim().to_owned();
    let known = ctx.catalog.alerts.people.iter().any(|p| p.id == person);
    if ctx.sessions.throttled(&person) {
        count_refusal(&ctx);
        warn!(%person, "duty console sign-in refused: too many failures");
        return form_page(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            Some(m.text("signin-throttled", &[])),
        );
    }
    let catalog = ctx.catalog.clone();
    let (who, password) = (person.clone(), form.password);
    let role =
        tokio::task::spawn_blocking(move || session::verify_password(&catalog, &who, &password))
            .await
            .ok()
            .flatten();
    let Some(role) = role else {
        count_refusal(&ctx);
        if known {
            ctx.sessions.failed(&person);
        }
        warn!(%person, "duty console sign-in failed");
        return form_page(
            &ctx,
            StatusCode::UNAUTHORIZED,
            Some(m.text("signin-wrong", &[])),
        );
    };
    ctx.sessions.succeeded(&person);
    let token = ctx.sessions.start(&person, role);
    info!(%person, role = role.as_str(), "signed in to the duty console");
    let api = &ctx.catalog.api;
    let secure = api.tls.is_some()
        || api
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
    with_cookie(
        Redirect::to("/").into_response(),
        &session::set_cookie(&token, secure),
    )
}

/// Ends the session (the form carries its CSRF token).
pub(super) async fn sign_out(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    form: Result<axum::Form<Csrf>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Some(session) = ctx.sessions.of(&headers) {
        if !form.is_ok_and(|f| f.csrf == session.csrf) {
            count_refusal(&ctx);
            return StatusCode::FORBIDDEN.into_response();
        }
        ctx.sessions.end(&headers);
    }
    with_cookie(
        Redirect::to("/login").into_response(),
        &session::clear_cookie(),
    )
}

/// The signed-in person's line in the board's header: who, and sign out.
pub(super) fn who(m: &Messages, ctx: &ApiContext, session: Option<&Session>) -> Markup {
    match session {
        Some(s) => {
            let name = super::person_name(ctx, &s.person);
            html! {
                form.who method="post" action="/logout" {
                    span { (m.text("signin-as", &[("person", Arg::Text(name))])) }
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" { (m.text("signin-out", &[])) }
                }
            }
        }
        None => html! { a.who href="/login" { (m.text("signin-link", &[])) } },
    }
}

fn form_page(ctx: &ApiContext, status: StatusCode, error: Option<String>) -> Response {
    let m = &ctx.catalog.site.messages;
    let frame = Frame::new("signin-title", Tab::None, None);
    let body = html! {
        main {
            form.signin method="post" action="/login" {
                @if let Some(error) = &error {
                    p.waiting { (error) }
                }
                label for="person" { (m.text("signin-person", &[])) }
                input id="person" name="person" autocomplete="username" required;
                label for="password" { (m.text("signin-password", &[])) }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button id="signin" type="submit" { (m.text("signin-button", &[])) }
            }
        }
    };
    shell::page_with(ctx, status, frame, body)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn count_refusal(ctx: &ApiContext) {
    ctx.metrics
        .api_rejected
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}
