//! Time. Every "now" in rambridge comes from a [`Clock`], so validation logic is testable with a
//! fixed time and no module reads the wall clock directly (enforced by clippy
//! `disallowed-methods` in `clippy.toml`; this file is the one exception).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// A source of the current time (UTC).
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// The current time as epoch milliseconds (the store's time unit).
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// Shared clock handle carried in the application state.
pub type SharedClock = Arc<dyn Clock>;

/// The real wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned wall-clock read
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn new(at: DateTime<Utc>) -> FixedClock {
        FixedClock(Mutex::new(at))
    }

    /// Moves the clock by `by` (may be negative).
    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|t| *t).unwrap_or_default()
    }
}

/// Formats a time the way every Alibaba response body does: `yyyy-MM-ddTHH:mm:ssZ`, UTC, no
/// fractional seconds (spec §1.2; the credentials library parses `Expiration` strictly).
pub fn format_iso8601(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses the request timestamp form `yyyy-MM-ddTHH:mm:ssZ` (strict: UTC `Z`, no fraction).
pub fn parse_iso8601(s: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .map(|t| t.and_utc())
}
