//! Content negotiation for the few routes a browser opens directly (`GET /`, a share link):
//! HTML when the `Accept` header prefers it, JSON otherwise (also on a tie, e.g. `*/*`, so
//! curl and API clients keep getting JSON).

use axum::http::HeaderMap;
use axum::http::header::ACCEPT;

/// True when `Accept` ranks `text/html` above `application/json` (wildcards count for both).
pub(crate) fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = headers.get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    quality(&accept, "text", "html") > quality(&accept, "application", "json")
}

/// The weight `accept` gives `kind/sub`: its most specific matching range decides (RFC 9110
/// §12.5.1); 0 when none matches.
fn quality(accept: &str, kind: &str, sub: &str) -> f32 {
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f32>().ok()))
            .next()
            .unwrap_or(1.0);
        let Some((k, s)) = media.split_once('/') else { continue };
        let specificity = match (k, s) {
            _ if k == kind && s == sub => 2,
            _ if k == kind && s == "*" => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        if best.is_none_or(|(b, _)| specificity > b) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn html(accept: Option<&str>) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        prefers_html(&headers)
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        assert!(html(Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")), "Firefox/Chrome");
        assert!(html(Some("text/html")));
        assert!(!html(None), "no Accept: JSON");
        assert!(!html(Some("*/*")), "curl: JSON on a tie");
        assert!(!html(Some("application/json")));
        assert!(!html(Some("text/html;q=0.5, application/json")));
        assert!(html(Some("text/*, application/json;q=0.4")));
    }
}
