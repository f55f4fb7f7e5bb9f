//! `/equipment`: every device with its state and since when, its points
//! with live value, unit and quality, and the conditions raised on it; a
//! link to the device's Grafana dashboard when `[grafana] url` is set.
//! Read from the live table and the rules' view (no store query), so it
//! costs a lock and a render; the page reloads itself every few seconds.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, PreEscaped, html};

use super::ApiContext;
use super::shell::{self, Frame, Tab};
use crate::readings::{DeviceState, Quality, Value};
use crate::rules::ConditionState;
use crate::state::Tables;
use sitewarden_model::catalog::{Catalog, Device};
use sitewarden_model::locale::{Arg, Messages};

/// Seconds between reloads: live enough for a person watching a value.
const RELOAD_S: u32 = 10;

/// The shipped dashboard for each device profile (`dashboards/*.json`).
const DASHBOARDS: [(&str, &str); 4] = [
    ("ahu", "sitewarden-hvac"),
    ("lighting-panel", "sitewarden-lighting"),
    ("fire-panel", "sitewarden-fire-security"),
    ("access-control", "sitewarden-fire-security"),
];

/// The page.
pub(super) async fn page(State(ctx): State<ApiContext>, headers: HeaderMap) -> Response {
    let m = &ctx.catalog.site.messages;
    let session = ctx.sessions.of(&headers);
    let devices = {
        let tables = ctx.state.read();
        let conditions = ctx.rules.view.read();
        let raised: Vec<(usize, ConditionState)> = conditions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state != ConditionState::Normal)
            .map(|(i, s)| (i, s.state))
            .collect();
        html! {
            @for device in &ctx.catalog.devices {
                (card(m, &ctx, &tables, &raised, device))
            }
        }
    };
    let frame = Frame {
        style: EQUIPMENT_STYLE,
        reload_after_s: Some(RELOAD_S),
        ..Frame::new("equipment-title", Tab::Equipment, session.as_ref())
    };
    shell::page(&ctx, frame, html! { main.devices { (devices) } })
}

/// One device: state, dashboard link, points, raised conditions.
fn card(
    m: &Messages,
    ctx: &ApiContext,
    tables: &Tables,
    raised: &[(usize, ConditionState)],
    device: &Device,
) -> Markup {
    let catalog = &ctx.catalog;
    let slot = &tables.devices[device.id.0 as usize];
    let state = match (slot.state, slot.since) {
        (DeviceState::Online, Some(since)) => html! {
            p.taken { (m.text("equipment-online", &[("since", Arg::Time(since))])) }
        },
        (DeviceState::Offline, Some(since)) => {
            let reason = slot
                .reason
                .map(|r| m.text(&format!("bad-reason-{}", r.label()), &[]))
                .unwrap_or_default();
            html! { p.waiting { (m.text("equipment-offline", &[("since", Arg::Time(since)), ("reason", Arg::Text(&reason))])) } }
        }
        _ => html! { p { (m.text("equipment-waiting", &[])) } },
    };
    html! {
        article.device data-device=(device.name) data-state=(slot.state.as_str()) {
            h2 { (device.display_name) }
            @if let Some(location) = &device.location {
                p { (m.text("ticket-where", &[("place", Arg::Text(location))])) }
            }
            (state)
            @if let Some(url) = dashboard(catalog, device) {
                p { a href=(url) target="_blank" rel="noopener" { (m.text("equipment-dashboard", &[])) } }
            }
            (conditions(m, catalog, raised, device))
            table.points {
                @for point in catalog.points_of(device.id) {
                    @let p = &tables.points[point.id.0 as usize];
                    tr data-point=(point.name) {
                        td { (point.name) }
                        td.value { (value(m, p.value, point.unit.as_deref())) }
                        td { (quality(m, p.quality)) }
                    }
                }
            }
        }
    }
}

/// The rules raised on `device`, in the site's language.
fn conditions(
    m: &Messages,
    catalog: &Catalog,
    raised: &[(usize, ConditionState)],
    device: &Device,
) -> Markup {
    let on_device = raised
        .iter()
        .filter(|(i, _)| catalog.rule_instances[*i].device == device.id);
    html! {
        ul.conditions {
            @for (i, state) in on_device {
                @let instance = &catalog.rule_instances[*i];
                li.(state.as_str()) {
                    (m.text(&format!("condition-state-{}", state.as_str()), &[])) " · "
                    (m.text(&format!("severity-{}", instance.severity.as_str()), &[])) " · "
                    (catalog.rule(instance.rule).description)
                }
            }
        }
    }
}

fn value(m: &Messages, value: Option<Value>, unit: Option<&str>) -> Markup {
    match value {
        Some(Value::Number(n)) => html! {
            (m.text("equipment-number", &[("value", Arg::Decimal(n)), ("unit", Arg::Text(unit.unwrap_or_default()))]))
        },
        Some(Value::Bool(on)) => {
            html! { (m.text(if on { "equipment-on" } else { "equipment-off" }, &[])) }
        }
        None => html! { (PreEscaped("&ndash;")) },
    }
}

fn quality(m: &Messages, quality: Option<Quality>) -> Markup {
    match quality {
        Some(Quality::Good) => html! { span.taken { (m.text("equipment-good", &[])) } },
        Some(Quality::Bad(reason)) => html! {
            span.waiting { (m.text(&format!("bad-reason-{}", reason.label()), &[])) }
        },
        None => html! { span { (m.text("equipment-no-reading", &[])) } },
    }
}

/// The device's dashboard in the site's Grafana, scoped to it.
fn dashboard(catalog: &Catalog, device: &Device) -> Option<String> {
    let grafana = catalog.api.grafana_url.as_deref()?;
    let uid = DASHBOARDS
        .iter()
        .find(|(profile, _)| device.profile.as_deref() == Some(*profile))
        .map_or("sitewarden-overview", |(_, uid)| *uid);
    let mut url = url::Url::parse(&format!("{grafana}/d/{uid}")).ok()?;
    url.query_pairs_mut()
        .append_pair("var-site", &catalog.site.id)
        .append_pair("var-device", &device.name);
    Some(url.into())
}

/// Device cards in a grid; points as a compact table.
const EQUIPMENT_STYLE: &str = ".device{background:#fff;border-left:.5rem solid #1b5e20;border-radius:.3rem;padding:.4rem .8rem}\
.device[data-state=offline]{border-color:#b00020}.device[data-state=unknown]{border-color:#607d8b}\
.device h2{margin:.2rem 0;font-size:1.15rem}.device p{margin:.2rem 0}\
.points td{font-size:.95rem}.value{font-variant-numeric:tabular-nums}\
.conditions{padding-left:1.1rem;margin:.3rem 0}.conditions .active{color:#b00020;font-weight:bold}";
