//! What tells one run's report from another's: how the run ended, a random id, when it
//! started.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// How a run ended: the `status` of `report.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every problem finished.
    #[default]
    Complete,
    /// A signal stopped the run; the report covers the problems that finished before it.
    Interrupted,
    /// The run produced nothing to vote on (e.g. every live request failed); `failure` says why.
    Failed,
}

/// A new run id: 16 random hex digits.
pub fn new_run_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// `t` as an RFC 3339 timestamp in UTC, to the second: `2026-05-01T12:34:56Z`. A time before
/// 1970 shows as the epoch.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The proleptic Gregorian date of day `days` after 1970-01-01: Howard Hinnant's
/// `civil_from_days` (<https://howardhinnant.github.io/date_algorithms.html>), for days ≥ 0.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shifted to start on 0000-03-01, so that the leap day ends each 400-year era's year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        // (seconds since the epoch, as `date -u -d @secs +%FT%TZ` prints them)
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_799, "2000-02-29T23:59:59Z"),
            (951_868_800, "2000-03-01T00:00:00Z"),
            (1_709_251_199, "2024-02-29T23:59:59Z"),
            (1_735_689_600, "2025-01-01T00:00:00Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(rfc3339_utc(UNIX_EPOCH + Duration::from_secs(secs)), want, "{secs}");
        }
        assert_eq!(rfc3339_utc(UNIX_EPOCH - Duration::from_secs(5)), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn run_ids_are_16_hex_digits_and_differ() {
        let (a, b) = (new_run_id(), new_run_id());
        assert!(a.len() == 16 && a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn statuses_serialise_as_their_names() {
        let names: Vec<String> = [RunStatus::Complete, RunStatus::Interrupted, RunStatus::Failed]
            .iter()
            .map(|s| serde_json::to_string(s).unwrap())
            .collect();
        assert_eq!(names, ["\"complete\"", "\"interrupted\"", "\"failed\""]);
    }
}
