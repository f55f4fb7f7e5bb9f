//! `/`: the duty console's alarms board, for the control-room screen and
//! a phone. Open alerts, life-safety ones on top, each with its place,
//! local time, class, escalation step and who has been called; it redraws
//! itself when alerts change (Server-Sent Events at `/console/events`,
//! the list from `/console/alarms`) and sounds a tone for a new
//! life-safety alarm once someone has pressed "Sound on" (browsers play
//! audio only after a gesture). Server-rendered in the site's language;
//! one small script, served from the binary; nothing to build.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::http::{HeaderValue, header};
use axum::response::Redirect;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use maud::{Markup, html};
use serde::Deserialize;
use tracing::{info, warn};

use super::session::{HasCsrf, Session, checked, run};
use super::shell::{self, Frame, Tab};
use super::{ApiContext, alert_place, person_name};
use crate::alerts::store::AlertFilter;
use crate::alerts::{Alert, AlertStatus};
use sitewarden_model::locale::{Arg, Messages};

/// Open alerts shown at most (a site has a handful; a storm is one incident).
const SHOWN: usize = 100;

/// The whole page: heading, who is signed in, sound switch, the alarms,
/// and for a signed-in person the drills and silences.
pub(super) async fn page(State(ctx): State<ApiContext>, headers: HeaderMap) -> Response {
    let m = &ctx.catalog.site.messages;
    let session = ctx.sessions.of(&headers);
    let alarms = alarms(&ctx, session.as_ref()).await;
    let planning = match &session {
        Some(s) => super::planning::panels(&ctx, s).await,
        None => html! {},
    };
    let frame = Frame {
        style: BOARD_STYLE,
        script: true,
        tools: html! { button id="sound" type="button" { (m.text("board-sound-on", &[])) } },
        ..Frame::new("board-title", Tab::Alarms, session.as_ref())
    };
    shell::page(
        &ctx,
        frame,
        html! { main id="alarms" { (alarms) } (planning) },
    )
}

/// Just the alarms, for the page to swap in when they change.
pub(super) async fn list(State(ctx): State<ApiContext>, headers: HeaderMap) -> Response {
    let session = ctx.sessions.of(&headers);
    shell::secured(
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
    let command = crate::control::Command::AckAlert { alert: id, note };
    match run(&ctx, &session, command).await {
        Ok(_) => {
            info!(alert = id, person = %session.person, "alert acknowledged on the board");
            Redirect::to("/").into_response()
        }
        Err(e) => {
            warn!(alert = id, person = %session.person, error = %e, "acknowledgement on the board refused");
            shell::refused(&ctx, &e.to_string(), Tab::Alarms)
        }
    }
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

impl HasCsrf for AckOnBoard {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The open alerts, life-safety first then newest first, and who each
/// one's last round called: read once per change of the alerts however
/// many boards ask (every open board fetches the list on every event).
#[derive(Default)]
pub struct BoardCache {
    latest: std::sync::Mutex<Option<(u64, Arc<OpenAlarms>)>>,
}

/// One read of the open alarms.
struct OpenAlarms {
    open: Vec<Alert>,
    called: Vec<Option<String>>,
}

impl std::fmt::Debug for BoardCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoardCache").finish_non_exhaustive()
    }
}

impl BoardCache {
    fn get(&self, generation: u64) -> Option<Arc<OpenAlarms>> {
        let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        latest
            .as_ref()
            .filter(|(at, _)| *at == generation)
            .map(|(_, alarms)| alarms.clone())
    }

    fn put(&self, generation: u64, alarms: Arc<OpenAlarms>) {
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some((generation, alarms));
    }
}

/// The open alarms as of now, from the cache when nothing changed since.
async fn open_alarms(ctx: &ApiContext) -> Option<Arc<OpenAlarms>> {
    // The count is read before the store: a change during the read makes
    // the next request read again.
    let generation = *ctx.alerts.changes().borrow();
    if let Some(alarms) = ctx.board.get(generation) {
        return Some(alarms);
    }
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
        let called = open.iter().map(|a| calls.remove(&a.id)).collect();
        Ok::<_, rusqlite::Error>(OpenAlarms { open, called })
    })
    .await;
    let alarms = Arc::new(found.ok()?.ok()?);
    ctx.board.put(generation, alarms.clone());
    Some(alarms)
}

/// The open alerts as a list, with an acknowledge form on each one nobody
/// took, for a signed-in person.
async fn alarms(ctx: &ApiContext, session: Option<&Session>) -> Markup {
    let m = &ctx.catalog.site.messages;
    // Who was called is personal: a wallboard beyond loopback leaves it out.
    let show_calls = session.is_some() || !ctx.catalog.api.personal_data_needs_sign_in;
    let Some(alarms) = open_alarms(ctx).await else {
        return html! { p.error { (m.text("board-unavailable", &[])) } };
    };
    if alarms.open.is_empty() {
        return html! { p.none { (m.text("board-no-alarms", &[])) } };
    }
    html! {
        @for (alert, called) in alarms.open.iter().zip(&alarms.called) {
            (card(m, ctx, alert, called.as_deref().filter(|_| show_calls), session))
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
            h2 { a href={ "/console/alarms/" (a.id) } { (a.title) } }
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

/// The alarm cards and the planning panels.
const BOARD_STYLE: &str = ".alarm{background:#fff;border-left:.5rem solid #607d8b;border-radius:.3rem;padding:.4rem .8rem}\
.alarm p{margin:.25rem 0}.alarm h2{margin:.2rem 0;font-size:1.2rem}\
.fire,.emergency_button,.guard_safety{border-color:#b00020}.intrusion{border-color:#e65100}.drill{border-color:#1565c0}\
.fire .tag,.emergency_button .tag,.guard_safety .tag{background:#b00020}\
.plan{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end}.plan label{display:grid}\
.ack{display:flex;gap:.4rem;margin:.4rem 0}.ack input{flex:1;font-size:1rem}\
.ack button{background:#1b5e20;color:#fff;border:0;border-radius:.3rem;padding:.4rem .8rem;font-weight:bold}";

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
