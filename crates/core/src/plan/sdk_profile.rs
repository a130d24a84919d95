//! What the official Amplitude SDKs send on their own, so a plan written for
//! an app's events does not drown in the SDK's: `[Amplitude] …` events and
//! properties (page views, sessions, attribution, autocapture), identify and
//! group identify with `$set`/`$setOnce`/`initial_*`, the revenue event and
//! its fields, session markers and campaign parameters. None of it is
//! flagged unless the plan lists it (then the plan rules); the plan's
//! `sdk_profile = false` turns the profile off.

/// Event types the SDKs send without the app asking.
pub fn is_sdk_event(event_type: &str) -> bool {
    event_type.starts_with("[Amplitude] ")
        || matches!(
            event_type,
            "$identify" | "$groupidentify" | "revenue_amount" | "session_start" | "session_end"
        )
}

/// Property names the SDKs add (event or user properties).
pub fn is_sdk_property(name: &str) -> bool {
    name.starts_with("[Amplitude] ")
        || name.starts_with("initial_")
        || name.starts_with('$')
        || name.starts_with("utm_")
        || matches!(
            name,
            "referrer"
                | "referring_domain"
                | "gclid"
                | "fbclid"
                | "dclid"
                | "gbraid"
                | "wbraid"
                | "ko_click_id"
                | "li_fat_id"
                | "msclkid"
                | "rtd_cid"
                | "ttclid"
                | "twclid"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_own_names() {
        for t in [
            "[Amplitude] Page Viewed",
            "$identify",
            "revenue_amount",
            "session_start",
        ] {
            assert!(is_sdk_event(t), "{t}");
        }
        assert!(!is_sdk_event("Page Viewed"));
        for p in [
            "[Amplitude] Page URL",
            "initial_utm_source",
            "utm_campaign",
            "gclid",
            "$revenue",
        ] {
            assert!(is_sdk_property(p), "{p}");
        }
        assert!(!is_sdk_property("query_text"));
    }
}
