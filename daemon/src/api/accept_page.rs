//! `/r/<capability>`: the page a requester's acceptance link opens.
//!
//! The person who phoned in a repair reads what was repaired and when,
//! and either accepts it (with a satisfaction score if they like) or sends
//! it back saying what is still wrong — no account, because the link
//! itself is the proof (see `sitewarden_tickets::accept_link`). The answer
//! is recorded as the requester's, through the link, and the link is used
//! up in the same transaction. A forged, expired, used or outdated link
//! gets a page that says so, and nothing else. Like the acknowledgement
//! page it has no script, sends no referrer and is never cached.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use sitewarden_runtime::clock;
use tracing::warn;

use super::ApiContext;
use super::ack_page::page;
use crate::tickets::accept_link::{AcceptGrant, LinkRefusal};
use crate::tickets::store::{LinkAnswer, LinkAnswerError};
use crate::tickets::{Ticket, TicketError};
use sitewarden_model::locale::{Arg, Messages};

/// The form the page posts back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnswerForm {
    /// `accept` or `reject`: which button was pressed.
    answer: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    note: String,
}

/// The page for a link: the repair and the two answers, or why not.
pub(super) async fn show(
    State(ctx): State<ApiContext>,
    Path(capability): Path<String>,
) -> Response {
    let m = ctx.catalog.site.messages.clone();
    let (_, ticket) = match open(&ctx, &capability).await {
        Ok(opened) => opened,
        Err((status, message)) => return page(status, &m, &message, None),
    };
    let heading = title(&m, &ticket);
    let body = html! {
        h1 { (heading) }
        @if let Some(at) = ticket.resolved_at {
            p { (m.text("page-accept-done-at", &[("resolved", Arg::Time(at))])) }
        }
        form method="post" {
            p { strong { (m.text("page-accept-question", &[])) } }
            label for="score" { (m.text("page-accept-score", &[])) }
            select id="score" name="score" {
                option value="" { (m.text("page-accept-score-none", &[])) }
                @for score in (1..=5).rev() {
                    option value=(score) { (score) }
                }
            }
            label for="note" { (m.text("page-accept-note", &[])) }
            textarea id="note" name="note" rows="3" maxlength="1000" {}
            button id="accept" type="submit" name="answer" value="accept" { (m.text("page-accept-yes", &[])) }
            button id="reject" class="no" type="submit" name="answer" value="reject" { (m.text("page-accept-no", &[])) }
        }
    };
    page(StatusCode::OK, &m, &heading, Some(body))
}

/// Records the requester's answer, once.
pub(super) async fn answer(
    State(ctx): State<ApiContext>,
    Path(capability): Path<String>,
    form: Result<axum::Form<AnswerForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let m = ctx.catalog.site.messages.clone();
    let (grant, ticket) = match open(&ctx, &capability).await {
        Ok(opened) => opened,
        Err((status, message)) => return page(status, &m, &message, None),
    };
    let Some(answer) = form.ok().and_then(|f| parse(f.0)) else {
        return refused(&ctx, StatusCode::BAD_REQUEST, &m, &title(&m, &ticket));
    };
    if !answer.accept && answer.note.is_none() {
        // Nothing is used up: the requester goes back and says what is wrong.
        return refused(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &m,
            &m.text("page-accept-needs-note", &[]),
        );
    }
    let accept = answer.accept;
    match ctx.tickets.answer_by_link(grant, answer).await {
        Ok(ticket) => {
            let done = m.text(
                if accept {
                    "page-accept-accepted"
                } else {
                    "page-accept-rejected"
                },
                &[],
            );
            let body = html! {
                p.done { (done) }
                h1 { (title(&m, &ticket)) }
            };
            page(StatusCode::OK, &m, &done, Some(body))
        }
        Err(e) => {
            let (status, message) = refusal(&m, &e);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                warn!(ticket = ticket.id, error = %e, "a requester's answer could not be recorded; the link still works");
            }
            refused(&ctx, status, &m, &message)
        }
    }
}

/// The link's grant and its ticket, if it may still answer; else the
/// status and text of the refusal.
async fn open(
    ctx: &ApiContext,
    capability: &str,
) -> Result<(AcceptGrant, Ticket), (StatusCode, String)> {
    let m = &ctx.catalog.site.messages;
    let count = || {
        ctx.metrics
            .api_rejected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    };
    let Some(links) = &ctx.tickets.accept_links else {
        count();
        return Err((StatusCode::NOT_FOUND, m.text("page-accept-forged", &[])));
    };
    let grant = links.verify(capability, clock::now()).map_err(|refusal| {
        count();
        match refusal {
            LinkRefusal::Expired => (StatusCode::GONE, m.text("page-accept-expired", &[])),
            LinkRefusal::Forged | LinkRefusal::Malformed => {
                (StatusCode::FORBIDDEN, m.text("page-accept-forged", &[]))
            }
        }
    })?;
    if let Err(e) = ctx.tickets.link_answerable(grant.clone()).await {
        count();
        return Err(refusal(m, &e));
    }
    let store = ctx.tickets.store.clone();
    let id = grant.ticket;
    let found = tokio::task::spawn_blocking(move || store.get(id)).await;
    match found {
        Ok(Ok(Some(detail))) => Ok((grant, detail.ticket)),
        _ => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            m.text("page-accept-try-again", &[]),
        )),
    }
}

/// The status and text for an answer the store refused.
fn refusal(m: &Messages, e: &LinkAnswerError) -> (StatusCode, String) {
    match e {
        LinkAnswerError::Used => (StatusCode::GONE, m.text("page-accept-used", &[])),
        LinkAnswerError::NotWaiting => (StatusCode::GONE, m.text("page-accept-not-waiting", &[])),
        LinkAnswerError::Ticket(TicketError::Invalid(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            m.text("page-accept-needs-note", &[]),
        ),
        LinkAnswerError::Ticket(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            m.text("page-accept-try-again", &[]),
        ),
    }
}

fn refused(ctx: &ApiContext, status: StatusCode, m: &Messages, message: &str) -> Response {
    ctx.metrics
        .api_rejected
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    page(status, m, message, None)
}

fn title(m: &Messages, ticket: &Ticket) -> String {
    m.text(
        "page-accept-title",
        &[
            ("id", Arg::Number(ticket.id)),
            ("title", Arg::Text(&ticket.title)),
        ],
    )
}

/// The answer the form carries; none when it is not one.
fn parse(form: AnswerForm) -> Option<LinkAnswer> {
    let accept = match form.answer.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return None,
    };
    let score = match form.score.trim() {
        "" => None,
        s => Some(s.parse::<u8>().ok().filter(|s| (1..=5).contains(s))?),
    };
    let note = Some(form.note.trim().to_owned()).filter(|n| !n.is_empty());
    Some(LinkAnswer {
        accept,
        note,
        score,
    })
}
