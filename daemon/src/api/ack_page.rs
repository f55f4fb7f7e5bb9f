//! `/a/<capability>`: the page an acknowledgement link opens on a phone.
//!
//! One alert, one person, one button: the guard reads what and where,
//! presses "I'm on it" (with a note if they like), and the alert is
//! acknowledged in their name — no sign-in, because the link itself is the
//! proof (see `sitewarden_alerts::ack_link`). A forged, expired or used
//! link gets a page that says so, and nothing else. The page has no
//! script, sends no referrer (the link is a secret) and is never cached.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use sitewarden_runtime::clock;
use tracing::{info, warn};

use super::{ApiContext, alert_place, person_name};
use crate::alerts::ack_link::{Capability, LinkRefusal};
use crate::alerts::{Alert, AlertError, AlertStatus};
use sitewarden_model::locale::{Arg, Messages};

/// The form the page posts back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AckForm {
    #[serde(default)]
    note: String,
}

/// The page for a link: the alert and the button, or why not.
pub(super) async fn show(
    State(ctx): State<ApiContext>,
    Path(capability): Path<String>,
) -> Response {
    let m = ctx.catalog.site.messages.clone();
    let (granted, alert) = match open(&ctx, &capability).await {
        Ok(opened) => opened,
        Err((status, message)) => return page(status, &m, &message, None),
    };
    let person = person_name(&ctx, &granted.person);
    let body = html! {
        (facts(&m, &ctx, &alert))
        p { (m.text("page-ack-for", &[("person", Arg::Text(person))])) }
        form method="post" {
            label for="note" { (m.text("page-ack-note", &[])) }
            textarea id="note" name="note" rows="2" maxlength="500" {}
            button id="ack" type="submit" { (m.text("page-ack-button", &[])) }
        }
    };
    page(StatusCode::OK, &m, &alert.title, Some(body))
}

/// Acknowledges the link's alert as its person, once.
pub(super) async fn acknowledge(
    State(ctx): State<ApiContext>,
    Path(capability): Path<String>,
    form: Result<axum::Form<AckForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let m = ctx.catalog.site.messages.clone();
    let note = form.map(|f| f.0.note).unwrap_or_default();
    let note = Some(note.trim().to_owned()).filter(|n| !n.is_empty());
    let (granted, _) = match open(&ctx, &capability).await {
        Ok(opened) => opened,
        Err((status, message)) => return page(status, &m, &message, None),
    };
    let store = ctx.alerts.store.clone();
    let (id, alert) = (granted.id.clone(), granted.alert);
    let taken =
        tokio::task::spawn_blocking(move || store.take_ack_link(&id, alert, clock::now())).await;
    match taken {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            ctx.metrics
                .api_rejected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return page(StatusCode::GONE, &m, &m.text("page-ack-used", &[]), None);
        }
        _ => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                &m,
                &m.text("page-ack-try-again", &[]),
                None,
            );
        }
    }
    match ctx
        .alerts
        .acknowledge(granted.alert, granted.person.clone(), note)
        .await
    {
        Ok(alert) => {
            info!(alert = alert.id, person = %granted.person, "alert acknowledged from a link");
            let person = person_name(&ctx, &granted.person);
            let done = m.text("page-ack-done", &[("person", Arg::Text(person))]);
            let body = html! {
                p.done { (done) }
                (facts(&m, &ctx, &alert))
            };
            page(StatusCode::OK, &m, &done, Some(body))
        }
        Err(e @ (AlertError::Conflict(_) | AlertError::NotFound(_))) => {
            warn!(alert = granted.alert, error = %e, "acknowledgement from a link refused");
            page(
                StatusCode::CONFLICT,
                &m,
                &m.text("page-ack-already", &[]),
                None,
            )
        }
        Err(e) => {
            // Not the alert's state but the daemon: the link stays usable.
            warn!(alert = granted.alert, error = %e, "acknowledgement from a link failed; the link works again");
            let store = ctx.alerts.store.clone();
            let id = granted.id.clone();
            let released = tokio::task::spawn_blocking(move || store.release_ack_link(&id)).await;
            if !matches!(released, Ok(Ok(()))) {
                warn!(
                    alert = granted.alert,
                    "the acknowledgement link could not be given back; it stays used"
                );
            }
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                &m,
                &m.text("page-ack-try-again", &[]),
                None,
            )
        }
    }
}

/// The link's grant and its alert, or the status and text of the refusal.
async fn open(
    ctx: &ApiContext,
    capability: &str,
) -> Result<(Capability, Alert), (StatusCode, String)> {
    let m = &ctx.catalog.site.messages;
    let Some(links) = ctx.alerts.store.links() else {
        return Err((StatusCode::NOT_FOUND, m.text("page-ack-forged", &[])));
    };
    let granted = links.verify(capability, clock::now()).map_err(|refusal| {
        ctx.metrics
            .api_rejected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match refusal {
            LinkRefusal::Expired => (StatusCode::GONE, m.text("page-ack-expired", &[])),
            LinkRefusal::Forged | LinkRefusal::Malformed => {
                (StatusCode::FORBIDDEN, m.text("page-ack-forged", &[]))
            }
        }
    })?;
    let store = ctx.alerts.store.clone();
    let id = granted.alert;
    let found = tokio::task::spawn_blocking(move || store.get(id)).await;
    let Ok(Ok(Some(detail))) = found else {
        return Err((StatusCode::NOT_FOUND, m.text("page-ack-forged", &[])));
    };
    let alert = detail.alert;
    if alert.status == AlertStatus::Resolved {
        return Err((StatusCode::GONE, m.text("page-ack-resolved", &[])));
    }
    if let Some(by) = &alert.acknowledged_by {
        let by = person_name(ctx, by).to_owned();
        return Err((
            StatusCode::GONE,
            m.text("page-ack-already-by", &[("person", Arg::Text(&by))]),
        ));
    }
    Ok((granted, alert))
}

/// What, where and since when, in the site's words and time.
fn facts(m: &Messages, ctx: &ApiContext, alert: &Alert) -> Markup {
    let place = alert_place(ctx, alert);
    html! {
        p.class { (m.text(&format!("alert-class-{}", alert.class.as_str()), &[])) }
        h1 { (alert.title) }
        @if let Some(place) = place {
            p { (m.text("notify-where", &[("place", Arg::Text(&place))])) }
        }
        p { (m.text("notify-when", &[("raised", Arg::Time(alert.raised_at)), ("site", Arg::Text(&ctx.catalog.site.name))])) }
    }
}

/// A whole page: the site's language, phone-sized, no script, no referrer
/// (also the requester's acceptance page).
pub(super) fn page(
    status: StatusCode,
    m: &Messages,
    heading: &str,
    body: Option<Markup>,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(m.locale().tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (heading) }
                style { (STYLE) }
            }
            body {
                @match body {
                    Some(body) => (body),
                    None => h1 { (heading) },
                }
            }
        }
    };
    // No script at all, and the link (a secret) is never sent on.
    super::shell::harden(
        (status, axum::response::Html(markup.into_string())).into_response(),
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        "no-referrer",
    )
}

/// Big type and one big button: read and pressed with a thumb at night.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1rem;max-width:40rem;font-size:1.1rem;line-height:1.4}\
h1{font-size:1.5rem;margin:.3rem 0 1rem}\
.done{background:#1b5e20;color:#fff;padding:.8rem;border-radius:.5rem;font-weight:bold}\
.class{display:inline-block;background:#b00020;color:#fff;padding:.2rem .6rem;border-radius:.3rem;font-weight:bold;margin:0}\
label{display:block;margin-top:1rem}\
textarea{width:100%;font-size:1rem;box-sizing:border-box}\
button{display:block;width:100%;margin-top:1rem;padding:1rem;font-size:1.3rem;font-weight:bold;background:#1b5e20;color:#fff;border:0;border-radius:.5rem}\
button.no{background:#8a1c1c}\
select{font-size:1.1rem;padding:.3rem}";
