//! `/`: the duty console's alarms board, for the control-room screen and
//! a phone. Open alerts, life-safety ones on top, each with its place,
//! local time, class, escalation step and who has been called; it redraws
//! itself when alerts change (Server-Sent Events at `/console/events`,
//! the list from `/console/alarms`) and sounds a tone for a new
//! life-safety alarm once someone has pressed "Sound on" (browsers play
//! audio only after a gesture). Server-rendered in the site's language;
//! one small script, served from the binary; nothing to build.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::http::{HeaderValue, header};
use axum::response::Redirect;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use tracing::{info, warn};

use super::session::{HasCsrf, Session, checked, run};
use super::{ApiContext, alert_place, person_name};
use crate::alerts::store::AlertFilter;
use crate::alerts::{Alert, AlertStatus};
use sitewarden_model::locale::{Arg, Messages};
use sitewarden_model::vocab::ApiRole;

/// Open alerts shown at most (a site has a handful; a storm is one incident).
const SHOWN: usize = 100;

/// The whole page: heading, who is signed in, sound switch, the alarms.
pub(super) async fn page(State(ctx): State<ApiContext>, headers: HeaderMap) -> Response {
    let m = &ctx.catalog.site.messages;
    let session = ctx.sessions.of(&headers);
    let alarms = alarms(&ctx, session.as_ref()).await;
    let markup = html! {
        (DOCTYPE)
        html lang=(m.locale().tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (m.text("board-title", &[("site", Arg::Text(&ctx.catalog.site.name))])) }
                style { (PreEscaped(STYLE)) }
                script src="/console.js" defer {}
            }
            body {
                header {
                    h1 { (m.text("board-title", &[("site", Arg::Text(&ctx.catalog.site.name))])) }
                    nav { a href="/" { (m.text("nav-alarms", &[])) } " " a href="/repairs" { (m.text("nav-repairs", &[])) } }
                    (super::signin::who(m, &ctx, session.as_ref()))
                    button id="sound" type="button" { (m.text("board-sound-on", &[])) }
                }
                main id="alarms" { (alarms) }
                @if let Some(s) = &session {
                    (drills(m, &ctx, s).await)
                }
            }
        }
    };
    secured(axum::response::Html(markup.into_string()).into_response())
}

/// Just the alarms, for the page to swap in when they change.
pub(super) async fn list(State(ctx): State<ApiContext>, headers: HeaderMap) -> Response {
    let session = ctx.sessions.of(&headers);
    secured(
        axum::response::Html(alarms(&ctx, session.as_ref()).await.into_string()).into_response(),
    )
}

/// The acknowledge form of a card.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AckOnBoard {
    csrf: String,
    #[serde(default)]
    note: String,
}

/// Acknowledges alert `id` as the signed-in person; back to the board.
pub(super) async fn acknowledge(
    State(ctx): State<ApiContext>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    form: Result<axum::Form<AckOnBoard>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(form) = checked(&ctx, &session, form) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let note = Some(form.note.trim().to_owned()).filter(|n| !n.is_empty());
    match ctx
        .alerts
        .acknowledge(id, session.person.clone(), note)
        .await
    {
        Ok(_) => info!(alert = id, person = %session.person, "alert acknowledged on the board"),
        Err(e) => {
            warn!(alert = id, person = %session.person, error = %e, "acknowledgement on the board refused")
        }
    }
    Redirect::to("/").into_response()
}

/// One `alarms` event at once (a page that reconnects catches up) and
/// whenever alerts change, a comment every 15 s so proxies keep the stream
/// open; it ends when the daemon stops, so an open board does not hold up
/// the shutdown.
pub(super) async fn events(
    State(ctx): State<ApiContext>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut changes = ctx.alerts.changes();
    changes.mark_changed();
    let stream = futures_util::stream::unfold(
        (changes, ctx.shutdown.clone()),
        |(mut changes, mut shutdown)| async move {
            tokio::select! {
                changed = changes.changed() => changed.ok()?,
                () = shutdown.wait() => return None,
            }
            let n = *changes.borrow_and_update();
            let event = Event::default().event("alarms").data(n.to_string());
            Some((Ok(event), (changes, shutdown)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// The page's script.
pub(super) async fn script() -> Response {
    let mut response = SCRIPT.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    response
}

/// The drill form: engineers (and admins) declare a fire drill, so its
/// alarms reach only the drill coordinator; everyone signed in sees the
/// drills declared.
async fn drills(m: &Messages, ctx: &ApiContext, session: &Session) -> Markup {
    let store = ctx.alerts.store.clone();
    let declared =
        tokio::task::spawn_blocking(move || store.drills(sitewarden_runtime::clock::now()))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
    let may_declare = matches!(session.role, ApiRole::Engineer | ApiRole::Admin);
    html! {
        section.drills {
            h2 { (m.text("drills-title", &[])) }
            @for d in &declared {
                p { (m.text("drills-declared", &[("from", Arg::Time(d.starts_at)), ("to", Arg::Time(d.ends_at)), ("person", Arg::Text(person_name(ctx, &d.declared_by)))])) }
            }
            @if may_declare {
                form.drill method="post" action="/console/drills" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { (m.text("drills-starts-in", &[])) input name="starts_in_minutes" type="number" min="1" value="5" required; }
                    label { (m.text("drills-lasts", &[])) input name="minutes" type="number" min="1" value="30" required; }
                    label { (m.text("drills-note", &[])) input name="note"; }
                    button id="declare-drill" type="submit" { (m.text("drills-declare", &[])) }
                }
            }
        }
    }
}

impl HasCsrf for AckOnBoard {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl HasCsrf for DeclareDrill {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The drill form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeclareDrill {
    csrf: String,
    starts_in_minutes: u32,
    minutes: u32,
    #[serde(default)]
    note: String,
}

/// Declares a fire drill as the signed-in person: refused (403) unless
/// their role may plan (engineer, admin), as on the API and MQTT.
pub(super) async fn declare_drill(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    form: Result<axum::Form<DeclareDrill>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(form) = checked(&ctx, &session, form) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let starts = sitewarden_runtime::clock::now()
        + Duration::from_secs(u64::from(form.starts_in_minutes) * 60);
    let request = crate::alerts::DrillRequest {
        starts,
        ends: starts + Duration::from_secs(u64::from(form.minutes) * 60),
        classes: Vec::new(),
        note: Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    match run(
        &ctx,
        &session,
        crate::control::Command::DeclareDrill(request),
    )
    .await
    {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => {
            ctx.metrics
                .api_rejected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            warn!(person = %session.person, error = %e, "drill from the console refused");
            refused(&ctx, &e.to_string())
        }
    }
}

/// A page saying a step was refused, with the reason the command gave.
pub(super) fn refused(ctx: &ApiContext, reason: &str) -> Response {
    let m = &ctx.catalog.site.messages;
    let markup = html! {
        (DOCTYPE)
        html lang=(m.locale().tag()) {
            head { meta charset="utf-8"; style { (PreEscaped(STYLE)) } }
            body {
                main {
                    p.waiting { (m.text("console-refused", &[])) }
                    p.reason { (reason) }
                    a href="/" { (m.text("nav-alarms", &[])) }
                }
            }
        }
    };
    secured(
        (
            StatusCode::FORBIDDEN,
            axum::response::Html(markup.into_string()),
        )
            .into_response(),
    )
}

/// The open alerts as a list, life-safety first, then newest first; with
/// an acknowledge form on each one nobody took, for a signed-in person.
async fn alarms(ctx: &ApiContext, session: Option<&Session>) -> Markup {
    let m = &ctx.catalog.site.messages;
    let store = ctx.alerts.store.clone();
    let filter = AlertFilter {
        status: Some(AlertStatus::Open),
        limit: SHOWN,
        ..Default::default()
    };
    let found = tokio::task::spawn_blocking(move || {
        let mut open = store.list(&filter)?;
        open.sort_by_key(|a| (!a.class.is_life_safety(), std::cmp::Reverse(a.raised_at)));
        let mut calls = store.last_calls()?;
        let called: Vec<Option<String>> = open.iter().map(|a| calls.remove(&a.id)).collect();
        Ok::<_, rusqlite::Error>((open, called))
    })
    .await;
    let Ok(Ok((open, called))) = found else {
        return html! { p.error { (m.text("board-unavailable", &[])) } };
    };
    if open.is_empty() {
        return html! { p.none { (m.text("board-no-alarms", &[])) } };
    }
    html! {
        @for (alert, called) in open.iter().zip(called) {
            (card(m, ctx, alert, called.as_deref(), session))
        }
    }
}

/// One alert: class, title, place, time, step, who was called, who took it.
fn card(
    m: &Messages,
    ctx: &ApiContext,
    a: &Alert,
    called: Option<&str>,
    session: Option<&Session>,
) -> Markup {
    let place = alert_place(ctx, a);
    let class = if a.drill { "drill" } else { a.class.as_str() };
    html! {
        article.alarm.(class) data-id=(a.id) data-life-safety=(a.class.is_life_safety() && !a.drill) {
            p.tag { (m.text(&format!("alert-class-{class}"), &[])) }
            h2 { (a.title) }
            @if let Some(place) = place {
                p { (m.text("notify-where", &[("place", Arg::Text(&place))])) }
            }
            p { (m.text("board-raised", &[("raised", Arg::Time(a.raised_at))])) }
            p { (m.text("board-step", &[("step", Arg::Number(a.step))])) }
            @if let Some(called) = called {
                p.called { (called) }
            }
            @match &a.acknowledged_by {
                Some(by) => p.taken { (m.text("board-acknowledged", &[("person", Arg::Text(person_name(ctx, by)))])) },
                None => p.waiting { (m.text("board-not-acknowledged", &[])) },
            }
            @if let (Some(s), None) = (session, &a.acknowledged_by) {
                form.ack method="post" action={ "/console/alarms/" (a.id) "/ack" } {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input name="note" maxlength="500" placeholder=(m.text("page-ack-note", &[]));
                    button type="submit" { (m.text("board-acknowledge", &[])) }
                }
            }
        }
    }
}

/// Headers every console page carries: scripts and styles only from
/// here, no framing, no sniffing.
pub(super) fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Readable across a control room and on a phone.
pub(super) const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f4;font-size:1.05rem}\
header{display:flex;justify-content:space-between;align-items:center;padding:.6rem 1rem;background:#263238;color:#fff}\
header h1{font-size:1.2rem;margin:0}\
#sound{font-size:1rem;padding:.4rem .8rem}\
main{padding:.6rem;display:grid;gap:.6rem;grid-template-columns:repeat(auto-fill,minmax(20rem,1fr))}\
.alarm{background:#fff;border-left:.5rem solid #607d8b;border-radius:.3rem;padding:.4rem .8rem}\
.alarm p{margin:.25rem 0}.alarm h2{margin:.2rem 0;font-size:1.2rem}\
.fire,.emergency_button,.guard_safety{border-color:#b00020}.intrusion{border-color:#e65100}.drill{border-color:#1565c0}\
.tag{display:inline-block;background:#263238;color:#fff;padding:0 .5rem;border-radius:.2rem;font-weight:bold}\
.fire .tag,.emergency_button .tag,.guard_safety .tag{background:#b00020}\
.waiting{color:#b00020;font-weight:bold}.taken{color:#1b5e20}.called{color:#555}\
.none,.error{padding:1rem}\
.drills{margin:.6rem;background:#fff;padding:.6rem;border-radius:.3rem}.drills h2{font-size:1.1rem;margin:0}\
.drill{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end}.drill label{display:grid}\
.who{display:flex;gap:.5rem;align-items:center;color:#fff}a.who{color:#fff}\
.ack{display:flex;gap:.4rem;margin:.4rem 0}.ack input{flex:1;font-size:1rem}\
.ack button{background:#1b5e20;color:#fff;border:0;border-radius:.3rem;padding:.4rem .8rem;font-weight:bold}\
.signin{display:grid;gap:.4rem;max-width:22rem;background:#fff;padding:1rem;border-radius:.3rem}\
.signin input{font-size:1.1rem}.signin button{font-size:1.1rem;padding:.5rem}";

/// Redraws the alarms on every `alarms` event and beeps for a life-safety
/// alarm not seen before, once sound is on.
// for engineers: JavaScript source, no text for people in it.
const SCRIPT: &str = r#""use strict";
let sound = null;
const seen = new Set();
function known() {
  return Array.from(document.querySelectorAll("article.alarm")).map((a) => a.dataset);
}
function beep() {
  if (!sound) return;
  const o = sound.createOscillator();
  o.frequency.value = 880;
  o.connect(sound.destination);
  o.start();
  o.stop(sound.currentTime + 0.6);
}
for (const a of known()) seen.add(a.id);
document.getElementById("sound").addEventListener("click", (e) => {
  sound = sound || new AudioContext();
  e.target.disabled = true;
});
new EventSource("/console/events").addEventListener("alarms", async () => {
  const answer = await fetch("/console/alarms", { cache: "no-store" });
  if (!answer.ok) return;
  document.getElementById("alarms").innerHTML = await answer.text();
  let fresh = false;
  for (const a of known()) {
    if (!seen.has(a.id) && a.lifeSafety === "true") fresh = true;
    seen.add(a.id);
  }
  if (fresh) beep();
});
"#;
