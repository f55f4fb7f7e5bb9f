//! `/patrols`: today's rounds per route, planned against actual at each
//! checkpoint with its verdict; today's patrol alerts (missed checkpoints,
//! a guard who stopped moving, forged or replayed records); and the taps
//! refused as forged, replayed or of an unknown badge. Signed-in people
//! only: it names guards and where they were. The page reloads itself
//! every few seconds.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{Markup, html};

use super::ApiContext;
use super::shell::{self, Frame, Tab};
use crate::alerts::Alert;
use crate::alerts::store::AlertFilter;
use crate::patrol::rounds::{CheckpointView, RoundView, rounds};
use crate::patrol::store::StoredTap;
use sitewarden_model::locale::{Arg, Messages};
use sitewarden_runtime::clock;

/// Seconds between reloads.
const RELOAD_S: u32 = 15;
/// Rounds looked at per route (a round every half hour is 48 a day).
const ROUNDS_PER_ROUTE: usize = 48;
/// Refused taps and patrol alerts shown at most.
const SHOWN: usize = 100;

/// What the page shows, read in one go off the async workers.
struct Today {
    rounds: Vec<RoundView>,
    alerts: Vec<Alert>,
    refused: Vec<StoredTap>,
}

/// The page.
pub(super) async fn page(State(ctx): State<ApiContext>, headers: HeaderMap) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let m = &ctx.catalog.site.messages;
    let frame = Frame {
        style: PATROLS_STYLE,
        reload_after_s: Some(RELOAD_S),
        ..Frame::new("patrols-title", Tab::Patrols, Some(&session))
    };
    let body = match today(&ctx).await {
        Some(today) => html! {
            section.panel.routes {
                h2 { (m.text("patrols-rounds", &[])) }
                @if today.rounds.is_empty() {
                    p { (m.text("patrols-no-rounds", &[])) }
                }
                @for round in &today.rounds {
                    (round_card(m, &ctx, round))
                }
            }
            (alerts(m, &today.alerts))
            (refused(m, &ctx, &today.refused))
        },
        None => html! { p.error { (m.text("board-unavailable", &[])) } },
    };
    shell::page(&ctx, frame, body)
}

/// Midnight today in the site's zone.
fn midnight(ctx: &ApiContext) -> Timestamp {
    let zone = ctx.catalog.site.hours.time_zone.clone();
    let now = clock::now().to_zoned(zone);
    now.start_of_day()
        .map_or(now.timestamp(), |start| start.timestamp())
}

async fn today(ctx: &ApiContext) -> Option<Today> {
    let since = midnight(ctx);
    let routes: Vec<String> = ctx
        .catalog
        .patrol
        .routes
        .iter()
        .map(|r| r.id.clone())
        .collect();
    let stations: Vec<String> = ctx
        .catalog
        .patrol
        .stations
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let (patrol, alerts) = (ctx.patrol.clone(), ctx.alerts.store.clone());
    let read = tokio::task::spawn_blocking(move || {
        let mut today = Vec::new();
        for route in &routes {
            let walked = patrol.with(|c| rounds(c, Some(route), ROUNDS_PER_ROUTE))?;
            today.extend(walked.into_iter().filter(|r| r.start >= since));
        }
        let raised = alerts.list(&AlertFilter {
            since: Some(since),
            limit: 1000,
            ..Default::default()
        })?;
        let on_patrol = raised
            .into_iter()
            .filter(|a| a.device.as_ref().is_some_and(|d| stations.contains(d)))
            .take(SHOWN)
            .collect();
        Ok::<_, rusqlite::Error>(Today {
            rounds: today,
            alerts: on_patrol,
            refused: patrol.refused_taps(since, SHOWN)?,
        })
    })
    .await;
    read.ok()?.ok()
}

/// One round: route, start, guard, completion, and its checkpoints.
fn round_card(m: &Messages, ctx: &ApiContext, round: &RoundView) -> Markup {
    let guard = round.guard.as_deref().map(|g| guard_name(ctx, g));
    html! {
        article.round data-round=(round.id) data-route=(round.route) {
            h3 { (m.text("patrols-round", &[("route", Arg::Text(&round.route)), ("start", Arg::Time(round.start))])) }
            p {
                @match guard {
                    Some(name) => (m.text("patrols-guard", &[("guard", Arg::Text(name))])),
                    None => (m.text("patrols-no-guard", &[])),
                }
                @if let Some(done) = round.completion {
                    " · " (m.text("patrols-completion", &[("percent", Arg::Number((done * 100.0).round() as i64))]))
                }
            }
            table {
                tr {
                    th { (m.text("patrols-checkpoint", &[])) }
                    th { (m.text("patrols-planned", &[])) }
                    th { (m.text("patrols-tapped", &[])) }
                    th { (m.text("patrols-verdict", &[])) }
                }
                @for c in &round.checkpoints {
                    (checkpoint_row(m, ctx, c))
                }
            }
        }
    }
}

fn checkpoint_row(m: &Messages, ctx: &ApiContext, c: &CheckpointView) -> Markup {
    let verdict = c.verdict.as_deref();
    html! {
        tr.checkpoint data-verdict=(verdict.unwrap_or("waiting")) {
            td { (station_place(m, ctx, &c.station)) }
            td { (m.text("patrols-time", &[("at", Arg::Time(c.planned_at))])) }
            td {
                @if let Some(at) = c.tapped_at {
                    (m.text("patrols-time", &[("at", Arg::Time(at))]))
                }
            }
            td.verdict { (m.text(&format!("patrols-verdict-{}", verdict.unwrap_or("waiting")), &[])) }
        }
    }
}

/// Today's alerts raised at checkpoint stations.
fn alerts(m: &Messages, alerts: &[Alert]) -> Markup {
    html! {
        section.panel.patrol-alerts {
            h2 { (m.text("patrols-alerts", &[])) }
            @if alerts.is_empty() {
                p { (m.text("patrols-no-alerts", &[])) }
            }
            @for a in alerts {
                p.(a.class.as_str()) data-alert=(a.id) {
                    span.tag { (m.text(&format!("alert-class-{}", a.class.as_str()), &[])) } " "
                    (m.text("patrols-alert", &[("raised", Arg::Time(a.raised_at)), ("title", Arg::Text(&a.title))]))
                }
            }
        }
    }
}

/// Today's taps refused as forged, replayed or of an unknown badge.
fn refused(m: &Messages, ctx: &ApiContext, taps: &[StoredTap]) -> Markup {
    html! {
        section.panel.refused-taps {
            h2 { (m.text("patrols-refused", &[])) }
            @if taps.is_empty() {
                p { (m.text("patrols-no-refused", &[])) }
            }
            @for t in taps {
                p.waiting data-verdict=(t.verdict) {
                    (m.text("patrols-refused-tap", &[
                        ("at", Arg::Time(t.received_at)),
                        ("station", Arg::Text(&station_place(m, ctx, &t.station))),
                        ("verdict", Arg::Text(&m.text(&format!("patrols-tap-{}", t.verdict), &[]))),
                    ]))
                }
            }
        }
    }
}

fn guard_name<'a>(ctx: &'a ApiContext, id: &'a str) -> &'a str {
    ctx.catalog
        .patrol
        .guards
        .iter()
        .find(|g| g.id == id)
        .map_or(id, |g| g.name.as_str())
}

/// A station as people know it: its id and where it hangs.
fn station_place(m: &Messages, ctx: &ApiContext, id: &str) -> String {
    let location = ctx
        .catalog
        .patrol
        .stations
        .iter()
        .find(|s| s.id == id)
        .and_then(|s| s.location.as_deref());
    m.place(id, location, &[])
}

/// Rounds as cards; a missed checkpoint stands out.
const PATROLS_STYLE: &str = ".round{border-top:1px solid #ddd;padding:.3rem 0}.round h3{margin:.2rem 0;font-size:1.05rem}\
.checkpoint[data-verdict=missed] .verdict,.checkpoint[data-verdict=out_of_order] .verdict{color:#b00020;font-weight:bold}\
.checkpoint[data-verdict=late] .verdict,.checkpoint[data-verdict=early] .verdict,.checkpoint[data-verdict=too_fast] .verdict{color:#e65100}\
.checkpoint[data-verdict=on_time] .verdict{color:#1b5e20}\
.guard_safety .tag{background:#b00020}.intrusion .tag{background:#e65100}";
