//! RelayState: where the browser goes after signing in. Followed only when it is a path on this
//! site (one leading `/`, no `//`, no backslash, no control characters, no scheme) or an
//! absolute http(s) URL whose origin is in `web_relay_state_allowed_origins`. Anything else is
//! ignored (the console is shown) and the refusal is logged: never an open redirect.

/// The redirect target a RelayState stands for, or `None` to go to the console.
pub fn safe_target(relay: &str, allowed_origins: &[String]) -> Option<String> {
    if relay.is_empty() || relay.len() > 2048 {
        return None;
    }
    if relay.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    if relay.starts_with('/') {
        let ok = !relay.starts_with("//") && !relay.contains("/../") && !relay.ends_with("/..");
        return ok.then(|| relay.to_string());
    }
    let url = reqwest::Url::parse(relay).ok()?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && allowed_origins
            .iter()
            .any(|o| *o == url.origin().ascii_serialization());
    ok.then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_site_paths_are_followed() {
        assert_eq!(safe_target("/console", &[]).as_deref(), Some("/console"));
        assert_eq!(
            safe_target("/console?tab=keys#x", &[]).as_deref(),
            Some("/console?tab=keys#x")
        );
    }

    #[test]
    fn open_redirects_are_refused() {
        let allowed = vec!["https://portal.example.com".to_string()];
        for bad in [
            "",
            "//evil.example/x",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "https://portal.example.com.evil.example/",
            "https://user@portal.example.com/",
            "http://portal.example.com/",
            "https://portal.example.com:8443/",
            "javascript:alert(1)",
            "data:text/html,x",
            "evil.example",
            "/a/../..//evil",
            "/x\n/y",
            "/x\t",
        ] {
            assert_eq!(safe_target(bad, &allowed), None, "{bad:?}");
        }
    }

    #[test]
    fn allow_listed_origins_are_followed() {
        let allowed = vec!["https://portal.example.com".to_string()];
        assert_eq!(
            safe_target("https://portal.example.com/apps?x=1", &allowed).as_deref(),
            Some("https://portal.example.com/apps?x=1")
        );
        assert_eq!(
            safe_target("HTTPS://PORTAL.example.com/", &allowed).as_deref(),
            Some("https://portal.example.com/")
        );
    }
}
