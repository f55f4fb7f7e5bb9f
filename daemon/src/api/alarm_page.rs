//! `/console/alarms/{id}`: one alert on the duty console — what, where,
//! since when, its escalation step and who took it, the acknowledge form
//! while nobody has, and its timeline (raised, each notification and to
//! whom, escalations, acknowledgement, clearing) in the site's language.
//! Signed-in people only: the timeline names who was called.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::shell::{self, Frame, Tab};
use super::{ApiContext, alert_place, person_name};
use sitewarden_model::locale::Arg;

/// The page.
pub(super) async fn page(
    State(ctx): State<ApiContext>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let m = &ctx.catalog.site.messages;
    let store = ctx.alerts.store.clone();
    let found = tokio::task::spawn_blocking(move || store.get(id)).await;
    let detail = match found {
        Ok(Ok(Some(detail))) => detail,
        Ok(Ok(None)) => {
            return shell::refused_with(
                &ctx,
                StatusCode::NOT_FOUND,
                &m.text("alarm-page-unknown", &[("id", Arg::Number(id))]),
                Tab::Alarms,
            );
        }
        _ => {
            return shell::refused_with(
                &ctx,
                StatusCode::SERVICE_UNAVAILABLE,
                &m.text("board-unavailable", &[]),
                Tab::Alarms,
            );
        }
    };
    let (store, catalog) = (ctx.alerts.store.clone(), ctx.catalog.clone());
    let plan = tokio::task::spawn_blocking(move || store.plan(&catalog, id))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .unwrap_or_default();
    let a = &detail.alert;
    let class = if a.drill { "drill" } else { a.class.as_str() };
    let frame = Frame {
        style: ALARM_STYLE,
        ..Frame::new("alarm-page-title", Tab::Alarms, Some(&session))
    };
    let body = html! {
        section.panel.alarm-detail.(class) data-id=(a.id) {
            p { span.tag { (m.text(&format!("alert-class-{class}"), &[])) } }
            h2 { (a.title) }
            @if let Some(place) = alert_place(&ctx, a) {
                p { (m.text("notify-where", &[("place", Arg::Text(&place))])) }
            }
            p { (m.text("board-raised", &[("raised", Arg::Time(a.raised_at))])) }
            p { (m.text("board-step", &[("step", Arg::Number(a.step))])) }
            @match &a.acknowledged_by {
                Some(by) => p.taken { (m.text("board-acknowledged", &[("person", Arg::Text(person_name(&ctx, by)))])) },
                None => p.waiting { (m.text("board-not-acknowledged", &[])) },
            }
            @if a.acknowledged_by.is_none() && a.status == crate::alerts::AlertStatus::Open {
                form.ack method="post" action={ "/console/alarms/" (a.id) "/ack" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input name="note" maxlength="500" placeholder=(m.text("page-ack-note", &[]));
                    button type="submit" { (m.text("board-acknowledge", &[])) }
                }
            }
        }
        @if !plan.is_empty() {
            section.panel.plan {
                h2 { (m.text("alarm-page-plan", &[])) }
                ol {
                    @for step in &plan {
                        li data-step=(step.step) {
                            span.what { (step.text) }
                            @if let (Some(at), Some(by)) = (step.done_at, &step.done_by) {
                                " " span.done { (m.text("alarm-page-plan-done", &[("at", Arg::Time(at)), ("person", Arg::Text(person_name(&ctx, by)))])) }
                                @if let Some(note) = &step.note { " — " (note) }
                            } @else {
                                @if let Some(due) = step.due_at {
                                    " " span.(if step.overdue_at.is_some() { "overdue" } else { "due" }) {
                                        (m.text("alarm-page-plan-due", &[("due", Arg::Time(due))]))
                                    }
                                }
                                form.ack method="post" action={ "/console/alarms/" (a.id) "/plan/" (step.step) } {
                                    input type="hidden" name="csrf" value=(session.csrf);
                                    input name="note" maxlength="500" placeholder=(m.text("page-ack-note", &[]));
                                    button type="submit" { (m.text("alarm-page-plan-mark", &[])) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.panel.timeline {
            h2 { (m.text("alarm-page-timeline", &[])) }
            table {
                @for e in &detail.timeline {
                    tr data-kind=(e.kind) {
                        td { (m.text("patrols-time", &[("at", Arg::Time(e.at))])) }
                        td { (kind(m, &e.kind)) }
                        td { (person_name(&ctx, &e.actor)) }
                        td { (e.detail.as_deref().unwrap_or_default()) }
                    }
                }
            }
        }
    };
    shell::page(&ctx, frame, body)
}

/// The plan step form: the note, with the session's CSRF token.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StepForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

impl super::session::HasCsrf for StepForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Marks a plan step done as the signed-in person.
pub(super) async fn plan_step(
    State(ctx): State<ApiContext>,
    Path((id, step)): Path<(i64, usize)>,
    headers: HeaderMap,
    form: Result<axum::Form<StepForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(form) = super::session::checked(&ctx, &session, form) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let command = crate::control::Command::PlanStepDone {
        alert: id,
        step,
        note: Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    match super::session::run(&ctx, &session, command).await {
        Ok(()) => Redirect::to(&format!("/console/alarms/{id}")).into_response(),
        Err(e) => {
            tracing::warn!(alert = id, step, person = %session.person, error = %e, "plan step from the console refused");
            shell::refused(&ctx, &e, Tab::Alarms)
        }
    }
}

/// A timeline entry's kind in the site's words (the kind itself for one
/// the messages do not know).
fn kind(m: &sitewarden_model::locale::Messages, kind: &str) -> String {
    let id = format!("timeline-{kind}");
    if m.has(&id) {
        m.text(&id, &[])
    } else {
        kind.to_owned()
    }
}

/// The acknowledge form as on the board.
const ALARM_STYLE: &str = ".alarm-detail p{margin:.25rem 0}.alarm-detail h2{margin:.2rem 0;font-size:1.3rem}\
.ack{display:flex;gap:.4rem;margin:.4rem 0}.ack input{flex:1;font-size:1rem}\
.ack button{background:#1b5e20;color:#fff;border:0;border-radius:.3rem;padding:.4rem .8rem;font-weight:bold}\
.timeline td:first-child{white-space:nowrap}\
.plan li{margin:.3rem 0}.plan .done{color:#1b5e20;font-weight:bold}.plan .overdue{color:#b00020;font-weight:bold}\
.fire .tag,.emergency_button .tag,.guard_safety .tag{background:#b00020}.drill .tag{background:#1565c0}";
