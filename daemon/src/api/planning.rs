//! The alarms page's planning panels, for a signed-in person: the drills
//! and silences in force or ahead, and for engineers (and admins) the
//! forms to declare a drill, silence a device for maintenance, and end
//! either early — the same commands and checks as the API and MQTT
//! (`control`), refused with a page that says why.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tracing::warn;

use super::session::{HasCsrf, Session, checked, run};
use super::shell::{self, Tab};
use super::{ApiContext, person_name};
use crate::alerts::store::{Drill, Silence};
use crate::alerts::{DrillRequest, SilenceRequest};
use crate::control::Command;
use sitewarden_model::locale::{Arg, Messages};
use sitewarden_model::vocab::{AlertClass, ApiRole};
use sitewarden_runtime::clock;

/// The drills and silences panels.
pub(super) async fn panels(ctx: &ApiContext, session: &Session) -> Markup {
    let m = &ctx.catalog.site.messages;
    let store = ctx.alerts.store.clone();
    let windows = tokio::task::spawn_blocking(move || {
        let now = clock::now();
        Ok::<_, rusqlite::Error>((store.drills(now)?, store.silences(now)?))
    })
    .await;
    let Ok(Ok((drills, silences))) = windows else {
        return html! { p.error { (m.text("board-unavailable", &[])) } };
    };
    let plans = matches!(session.role, ApiRole::Engineer | ApiRole::Admin);
    let reports =
        session.role == ApiRole::Admin || ctx.catalog.alerts.report_roles.contains(&session.role);
    html! {
        @if reports {
            (report_panel(m, session))
        }
        @if !ctx.catalog.alerts.check_in_roles.is_empty() {
            (check_in_panel(m, session))
        }
        (drill_panel(m, ctx, session, &drills, plans))
        (silence_panel(m, ctx, session, &silences, plans))
    }
}

/// The classes a person may report from the hotline.
const REPORTABLE: [AlertClass; 8] = [
    AlertClass::Fire,
    AlertClass::Intrusion,
    AlertClass::Medical,
    AlertClass::EmergencyButton,
    AlertClass::WaterLeak,
    AlertClass::PowerFailure,
    AlertClass::LiftEntrapment,
    AlertClass::Other,
];

/// The hotline's form: what, where, who called, what they said.
fn report_panel(m: &Messages, session: &Session) -> Markup {
    html! {
        section.panel.report {
            h2 { (m.text("report-emergency-title", &[])) }
            form.plan method="post" action="/console/emergencies" {
                input type="hidden" name="csrf" value=(session.csrf);
                label { (m.text("report-emergency-class", &[]))
                    select name="class" {
                        @for c in REPORTABLE {
                            option value=(c.as_str()) { (m.text(&format!("alert-class-{}", c.as_str()), &[])) }
                        }
                    }
                }
                label { (m.text("report-emergency-location", &[])) input name="location" required maxlength="200"; }
                label { (m.text("report-emergency-reporter", &[])) input name="reporter" maxlength="200"; }
                label { (m.text("report-emergency-note", &[])) input name="note" maxlength="500"; }
                button id="report-emergency" type="submit" { (m.text("report-emergency-button", &[])) }
            }
        }
    }
}

/// The shift check-in with the handover note.
fn check_in_panel(m: &Messages, session: &Session) -> Markup {
    html! {
        section.panel.check-in {
            h2 { (m.text("check-in-title", &[])) }
            form.plan method="post" action="/console/check-in" {
                input type="hidden" name="csrf" value=(session.csrf);
                label { (m.text("check-in-note", &[])) input name="note" maxlength="500"; }
                button id="check-in" type="submit" { (m.text("check-in-button", &[])) }
            }
        }
    }
}

/// The hotline form, posted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportForm {
    csrf: String,
    class: AlertClass,
    location: String,
    #[serde(default)]
    reporter: String,
    #[serde(default)]
    note: String,
}

impl HasCsrf for ReportForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Raises a reported emergency as the signed-in person; to its page.
pub(super) async fn report_emergency(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    form: Result<axum::Form<ReportForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(form) = checked(&ctx, &session, form) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let text = |t: String| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    let report = crate::alerts::EmergencyReport {
        class: form.class,
        location: form.location,
        reporter: text(form.reporter),
        note: text(form.note),
        device: None,
    };
    let caller = crate::control::Caller {
        name: session.person.clone(),
        role: session.role,
    };
    match ctx
        .control
        .execute(&caller, crate::control::Command::ReportEmergency(report))
        .await
    {
        Ok(crate::control::Outcome::Alert(alert)) => {
            Redirect::to(&format!("/console/alarms/{}", alert.id)).into_response()
        }
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => {
            warn!(person = %session.person, error = %e, "emergency report from the console refused");
            shell::refused(&ctx, &e.to_string(), Tab::Alarms)
        }
    }
}

/// The check-in form, posted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckInForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

impl HasCsrf for CheckInForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Checks the signed-in person in for their shift; back to the board.
pub(super) async fn check_in(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    form: Result<axum::Form<CheckInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(form) = checked(&ctx, &session, form) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let command = crate::control::Command::CheckIn {
        person: None,
        note: Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    match run(&ctx, &session, command).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => {
            warn!(person = %session.person, error = %e, "check-in from the console refused");
            shell::refused(&ctx, &e, Tab::Alarms)
        }
    }
}

fn drill_panel(
    m: &Messages,
    ctx: &ApiContext,
    session: &Session,
    drills: &[Drill],
    plans: bool,
) -> Markup {
    html! {
        section.panel.drills {
            h2 { (m.text("drills-title", &[])) }
            @for d in drills {
                div.window data-drill=(d.id) {
                    span { (m.text("drills-declared", &[("from", Arg::Time(d.starts_at)), ("to", Arg::Time(d.ends_at)), ("person", Arg::Text(person_name(ctx, &d.declared_by)))])) }
                    @if plans {
                        (end_form(session, &format!("/console/drills/{}/end", d.id), m.text("drills-end", &[])))
                    }
                }
            }
            @if plans {
                form.plan method="post" action="/console/drills" {
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

fn silence_panel(
    m: &Messages,
    ctx: &ApiContext,
    session: &Session,
    silences: &[Silence],
    plans: bool,
) -> Markup {
    html! {
        section.panel.silences {
            h2 { (m.text("silences-title", &[])) }
            @if silences.is_empty() {
                p { (m.text("silences-none", &[])) }
            }
            @for s in silences {
                div.window data-silence=(s.id) {
                    span { (m.text("silences-one", &[
                        ("device", Arg::Text(s.device.as_deref().map_or("*", |d| device_name(ctx, d)))),
                        ("rule", Arg::Text(s.rule.as_deref().unwrap_or("*"))),
                        ("to", Arg::Time(s.ends_at)),
                        ("reason", Arg::Text(&s.reason)),
                        ("person", Arg::Text(person_name(ctx, &s.created_by))),
                    ])) }
                    @if plans {
                        (end_form(session, &format!("/console/silences/{}/end", s.id), m.text("silences-end", &[])))
                    }
                }
            }
            @if plans {
                form.plan method="post" action="/console/silences" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { (m.text("silences-device", &[]))
                        select name="device" {
                            @for d in &ctx.catalog.devices {
                                option value=(d.name) { (d.display_name) }
                            }
                        }
                    }
                    label { (m.text("drills-lasts", &[])) input name="minutes" type="number" min="1" value="60" required; }
                    label { (m.text("silences-reason", &[])) input name="reason" required; }
                    button id="add-silence" type="submit" { (m.text("silences-add", &[])) }
                }
            }
        }
    }
}

/// A one-button form that ends a drill or a silence.
fn end_form(session: &Session, action: &str, label: String) -> Markup {
    html! {
        form.end method="post" action=(action) {
            input type="hidden" name="csrf" value=(session.csrf);
            button type="submit" { (label) }
        }
    }
}

fn device_name<'a>(ctx: &'a ApiContext, name: &'a str) -> &'a str {
    ctx.catalog
        .devices
        .iter()
        .find(|d| d.name == name)
        .map_or(name, |d| d.display_name.as_str())
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

/// The silence form: one device, for some minutes from now, and why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AddSilence {
    csrf: String,
    device: String,
    minutes: u32,
    reason: String,
}

/// A form that only carries the session's CSRF token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct End {
    csrf: String,
}

impl HasCsrf for DeclareDrill {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl HasCsrf for AddSilence {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl HasCsrf for End {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn minutes(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 60)
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
    let starts = clock::now() + minutes(form.starts_in_minutes);
    let request = DrillRequest {
        starts,
        ends: starts + minutes(form.minutes),
        classes: Vec::new(),
        note: Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    execute(&ctx, &session, Command::DeclareDrill(request)).await
}

/// Silences one device from now on, as the signed-in person; a silence
/// over a life-safety rule is refused here as on the API (admins use the
/// API's explicit `life_safety`).
pub(super) async fn add_silence(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    form: Result<axum::Form<AddSilence>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(form) = checked(&ctx, &session, form) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let request = SilenceRequest {
        device: Some(form.device),
        rule: None,
        starts: None,
        ends: clock::now() + minutes(form.minutes),
        reason: form.reason.trim().to_owned(),
        life_safety: false,
    };
    execute(&ctx, &session, Command::AddSilence(request)).await
}

/// Ends drill `id` early.
pub(super) async fn end_drill(
    State(ctx): State<ApiContext>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    form: Result<axum::Form<End>, axum::extract::rejection::FormRejection>,
) -> Response {
    end(ctx, headers, form, Command::EndDrill { drill: id }).await
}

/// Ends silence `id` early.
pub(super) async fn end_silence(
    State(ctx): State<ApiContext>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    form: Result<axum::Form<End>, axum::extract::rejection::FormRejection>,
) -> Response {
    end(ctx, headers, form, Command::EndSilence { silence: id }).await
}

async fn end(
    ctx: ApiContext,
    headers: HeaderMap,
    form: Result<axum::Form<End>, axum::extract::rejection::FormRejection>,
    command: Command,
) -> Response {
    let Some(session) = ctx.sessions.of(&headers) else {
        return Redirect::to("/login").into_response();
    };
    if checked(&ctx, &session, form).is_none() {
        return StatusCode::FORBIDDEN.into_response();
    }
    execute(&ctx, &session, command).await
}

/// Runs `command` as the signed-in person: back to the board, or a page
/// that says why not.
async fn execute(ctx: &ApiContext, session: &Session, command: Command) -> Response {
    match run(ctx, session, command).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => {
            warn!(person = %session.person, error = %e, "plan from the console refused");
            shell::refused(ctx, &e.to_string(), Tab::Alarms)
        }
    }
}
