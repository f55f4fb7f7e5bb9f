//! The frame every duty-console page shares: the document head (language,
//! viewport, style, the board's script when asked for), a header with the
//! page's title, the navigation and who is signed in, and the security
//! headers ([`secured`]). A page supplies its title and body; a refused
//! step gets [`refused`], a page that says why.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::ApiContext;
use super::session::Session;
use sitewarden_model::locale::Arg;

/// The console's pages, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tab {
    /// `/`.
    Alarms,
    /// `/repairs`.
    Repairs,
    /// `/patrols`.
    Patrols,
    /// `/equipment`.
    Equipment,
    /// A page outside the navigation (sign-in, a refusal).
    None,
}

const TABS: [(Tab, &str, &str); 4] = [
    (Tab::Alarms, "/", "nav-alarms"),
    (Tab::Repairs, "/repairs", "nav-repairs"),
    (Tab::Patrols, "/patrols", "nav-patrols"),
    (Tab::Equipment, "/equipment", "nav-equipment"),
];

/// What a page puts in the frame besides its body.
pub(super) struct Frame<'a> {
    /// The page's message id for its title; the title gets the site's name as `$site`.
    pub title: &'static str,
    /// Where it sits in the navigation.
    pub tab: Tab,
    /// The signed-in person, if any.
    pub session: Option<&'a Session>,
    /// The page's own style, after the shared one.
    pub style: &'static str,
    /// Whether the page loads `/console.js` (the board's live updates).
    pub script: bool,
    /// Controls at the header's end (the board's sound switch).
    pub tools: Markup,
    /// Seconds after which the page reloads itself, for pages without a
    /// live stream.
    pub reload_after_s: Option<u32>,
}

impl<'a> Frame<'a> {
    /// A page with the shared style only, no script, nothing in the
    /// header's end, no reloading; pages change what they need with
    /// `Frame { style: …, ..Frame::new(…) }`.
    pub fn new(title: &'static str, tab: Tab, session: Option<&'a Session>) -> Self {
        Self {
            title,
            tab,
            session,
            style: "",
            script: false,
            tools: html! {},
            reload_after_s: None,
        }
    }
}

/// The whole page, secured, with status 200.
pub(super) fn page(ctx: &ApiContext, frame: Frame<'_>, body: Markup) -> Response {
    page_with(ctx, StatusCode::OK, frame, body)
}

/// The whole page with `status`.
pub(super) fn page_with(
    ctx: &ApiContext,
    status: StatusCode,
    frame: Frame<'_>,
    body: Markup,
) -> Response {
    let m = &ctx.catalog.site.messages;
    let title = m.text(frame.title, &[("site", Arg::Text(&ctx.catalog.site.name))]);
    let markup = html! {
        (DOCTYPE)
        html lang=(m.locale().tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) (PreEscaped(frame.style)) }
                @if let Some(seconds) = frame.reload_after_s {
                    meta http-equiv="refresh" content=(seconds);
                }
                @if frame.script {
                    script src="/console.js" defer {}
                }
            }
            body {
                header {
                    h1 { (title) }
                    @if frame.tab != Tab::None {
                        nav {
                            @for (tab, href, label) in TABS {
                                a href=(href) aria-current=[(tab == frame.tab).then_some("page")] { (m.text(label, &[])) }
                            }
                        }
                        (super::signin::who(m, ctx, frame.session))
                    }
                    (frame.tools)
                }
                (body)
            }
        }
    };
    secured((status, Html(markup.into_string())).into_response())
}

/// A page saying a step was refused (403), with the reason the command
/// gave and a way back to `back`; the refusal is counted.
pub(super) fn refused(ctx: &ApiContext, reason: &str, back: Tab) -> Response {
    refused_with(ctx, StatusCode::FORBIDDEN, reason, back)
}

/// [`refused`] with another status (404 for what does not exist, 503 for
/// a store that cannot be read).
pub(super) fn refused_with(
    ctx: &ApiContext,
    status: StatusCode,
    reason: &str,
    back: Tab,
) -> Response {
    ctx.metrics
        .api_rejected
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let m = &ctx.catalog.site.messages;
    let (href, label) = TABS
        .iter()
        .find(|(tab, _, _)| *tab == back)
        .map_or(("/", "nav-alarms"), |(_, href, label)| (*href, *label));
    let frame = Frame::new("console-refused-title", Tab::None, None);
    let body = html! {
        main.refusal {
            p.waiting { (m.text("console-refused", &[])) }
            p.reason { (reason) }
            a href=(href) { (m.text(label, &[])) }
        }
    };
    page_with(ctx, status, frame, body)
}

/// Headers every console page carries: scripts and styles only from
/// here, no framing, no sniffing, no caching.
pub(super) fn secured(response: Response) -> Response {
    harden(
        response,
        "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        "same-origin",
    )
}

/// Sets the page's Content-Security-Policy and Referrer-Policy, and
/// forbids sniffing and caching (pages carry people's data and CSRF tokens).
pub(super) fn harden(
    mut response: Response,
    csp: &'static str,
    referrer: &'static str,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    response
}

/// Readable across a control room and on a phone.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f4;font-size:1.05rem}\
header{display:flex;flex-wrap:wrap;gap:.4rem;justify-content:space-between;align-items:center;padding:.6rem 1rem;background:#263238;color:#fff}\
header h1{font-size:1.2rem;margin:0}\
nav a{color:#fff;margin-right:.8rem}nav a[aria-current]{font-weight:bold;text-decoration:none;border-bottom:.15rem solid #fff}\
#sound{font-size:1rem;padding:.4rem .8rem}\
main{padding:.6rem;display:grid;gap:.6rem;grid-template-columns:repeat(auto-fill,minmax(20rem,1fr))}\
.tag{display:inline-block;background:#263238;color:#fff;padding:0 .5rem;border-radius:.2rem;font-weight:bold}\
.waiting{color:#b00020;font-weight:bold}.taken{color:#1b5e20}.called{color:#555}\
.none,.error{padding:1rem}\
.panel{margin:.6rem;background:#fff;padding:.6rem;border-radius:.3rem}.panel h2{font-size:1.1rem;margin:0 0 .3rem}\
.who{display:flex;gap:.5rem;align-items:center;color:#fff}a.who{color:#fff}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .4rem;border-bottom:1px solid #ddd;vertical-align:top}\
.signin{display:grid;gap:.4rem;max-width:22rem;background:#fff;padding:1rem;border-radius:.3rem}\
.signin input{font-size:1.1rem}.signin button{font-size:1.1rem;padding:.5rem}\
.refusal{display:block;background:#fff;margin:.6rem;border-radius:.3rem}";
