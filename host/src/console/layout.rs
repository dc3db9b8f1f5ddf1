//! The frame of every console page — header, navigation, one stylesheet —
//! and the small pieces pages share: times, CSRF fields, diffs, error
//! pages. Every string goes through maud's escaping; nothing here emits
//! markup from text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::Viewer;

/// The one stylesheet, vendored: no build step, no inline styles (which
/// the Content-Security-Policy forbids).
const STYLESHEET: &str = include_str!("console.css");

/// `GET /ui/static/console.css`.
pub async fn stylesheet() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

/// Which part of a tenant's pages is shown, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The admin's tenant list.
    Tenants,
    /// Entries.
    Memory,
    /// Jobs and snapshots.
    Activity,
    /// Held changes.
    Reviews,
    /// The rule pack.
    Policy,
}

/// The navigation of a logged-in page.
pub struct Nav<'a> {
    /// Who is logged in.
    pub viewer: &'a Viewer,
    /// The tenant the page is about, if any.
    pub tenant: Option<&'a str>,
    /// Where we are.
    pub section: Section,
}

/// A whole page.
pub fn page(title: &str, nav: Option<Nav<'_>>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · memwarden" }
                link rel="stylesheet" href="/ui/static/console.css";
            }
            body {
                header.top {
                    a.brand href="/ui" { "memwarden" }
                    @if let Some(nav) = &nav { (navigation(nav)) }
                }
                main { (content) }
            }
        }
    }
}

fn navigation(nav: &Nav<'_>) -> Markup {
    let link = |section: Section, href: String, label: &str| {
        html! {
            @if nav.section == section { a href=(href) aria-current="page" { (label) } }
            @else { a href=(href) { (label) } }
        }
    };
    html! {
        nav aria-label="Sections" {
            @if nav.viewer.caller.tenant().is_none() { (link(Section::Tenants, "/ui/tenants".to_string(), "Tenants")) }
            @if let Some(tenant) = nav.tenant {
                span.tenant { (tenant) }
                (link(Section::Memory, format!("/ui/tenants/{tenant}/memory"), "Memory"))
                (link(Section::Activity, format!("/ui/tenants/{tenant}/activity"), "Activity"))
                (link(Section::Reviews, format!("/ui/tenants/{tenant}/reviews"), "Reviews"))
                (link(Section::Policy, format!("/ui/tenants/{tenant}/policy"), "Policy"))
            }
        }
        form.logout method="post" action="/ui/logout" {
            span.who { (nav.viewer.label()) }
            (csrf_field(nav.viewer))
            button type="submit" { "Log out" }
        }
    }
}

/// An HTML response of `markup`.
pub fn respond(markup: Markup) -> Response {
    Html(markup.into_string()).into_response()
}

/// The hidden field every state-changing form carries.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf); }
}

/// A page for a failed request, with the API's code.
pub fn error_page(status: StatusCode, code: &str, message: &str) -> Markup {
    let content = html! {
        h1 { (status.canonical_reason().unwrap_or("Error")) }
        p.problem role="alert" { (message) " " code { "(" (code) ")" } }
        p { a href="/ui" { "Back to the console" } }
    };
    page(status.canonical_reason().unwrap_or("Error"), None, content)
}

/// A unified diff, each line classed by its sign.
pub fn diff(text: &str) -> Markup {
    html! {
        pre.diff {
            @for line in text.lines() {
                @let class = match line.as_bytes().first() {
                    Some(b'+') if !line.starts_with("+++") => "add",
                    Some(b'-') if !line.starts_with("---") => "del",
                    Some(b'@') => "hunk",
                    _ => "ctx",
                };
                span class=(class) { (line) "\n" }
            }
        }
    }
}

/// `ms` since the Unix epoch as `YYYY-MM-DD HH:MM UTC`.
pub fn utc(ms: u64) -> String {
    let crate::store::UtcTime { year, month, day, hour, minute, .. } = crate::store::utc_time(ms);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_795_000_000_000), "2026-11-18 11:06 UTC");
    }

    #[test]
    fn diff_lines_are_escaped_text() {
        let markup = diff("+<script>alert(1)</script>\n-old").into_string();
        assert!(markup.contains("&lt;script&gt;") && !markup.contains("<script>"), "{markup}");
        assert!(markup.contains(r#"class="add""#) && markup.contains(r#"class="del""#));
    }
}
