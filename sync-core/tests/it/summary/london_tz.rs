//! Europe/London checked against chrono-tz every hour and day 1996–2100,
//! and around every clock change.

use super::*;
use chrono::{Datelike, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Europe::London;
use proptest::prelude::*;
use std::sync::OnceLock;

fn start() -> i64 {
    utc("1996-01-01 00:00")
}
fn end() -> i64 {
    utc("2100-01-01 00:00")
}

/// chrono-tz's offset and local date at a UTC instant.
fn reference(ms: i64) -> (i64, LocalDate) {
    let local = Utc.timestamp_millis_opt(ms).unwrap().with_timezone(&London);
    let offset = i64::from(local.offset().fix().local_minus_utc()) * 1_000;
    let d = local.date_naive();
    (
        offset,
        LocalDate::new(d.year(), d.month(), d.day()).unwrap(),
    )
}

fn ours(ms: i64) -> (i64, LocalDate) {
    (london_offset_ms(ms), london_date(ms))
}

/// Every change of offset 1996–2100 per chrono-tz, found by a daily scan
/// refined to the hour (changes are on the hour).
fn transitions() -> &'static [i64] {
    static T: OnceLock<Vec<i64>> = OnceLock::new();
    T.get_or_init(|| {
        let mut out = Vec::new();
        let mut t = start();
        while t < end() {
            if reference(t).0 != reference(t + DAY).0 {
                let mut h = t;
                while reference(h + HOUR).0 == reference(t).0 {
                    h += HOUR;
                }
                out.push(h + HOUR);
            }
            t += DAY;
        }
        out
    })
}

#[test]
fn london_offset_and_date_match_chrono_tz_every_hour_1996_to_2100() {
    let mut t = start();
    let mut n = 0;
    while t < end() {
        assert_eq!(ours(t), reference(t), "at {t} ms");
        t += HOUR;
        n += 1;
    }
    assert_eq!(n, 37_986 * 24); // 104 years, 26 of them leap
                                // Two changes a year, each at 01:00 UTC on a Sunday.
    let ts = transitions();
    assert_eq!(ts.len(), 2 * 104);
    for &t in ts {
        let u = Utc.timestamp_millis_opt(t).unwrap();
        assert_eq!(u.format("%a %H:%M:%S%.3f").to_string(), "Sun 01:00:00.000");
    }
}

#[test]
fn london_day_bounds_match_chrono_tz_every_day_1996_to_2100() {
    let midnight = |d: NaiveDate| {
        London
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .single()
            .expect("London midnight is never skipped or repeated")
            .timestamp_millis()
    };
    let mut d = NaiveDate::from_ymd_opt(1996, 1, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2100, 1, 1).unwrap();
    let (mut short, mut long) = (0, 0);
    while d < last {
        let ld = LocalDate::new(d.year(), d.month(), d.day()).unwrap();
        let next = d.succ_opt().unwrap();
        let (s, e) = london_day_bounds(ld);
        assert_eq!((s, e), (midnight(d), midnight(next)), "{ld}");
        assert_eq!(london_date(s), ld);
        assert_eq!(london_date(e - 1), ld);
        short += usize::from(e - s == 23 * HOUR);
        long += usize::from(e - s == 25 * HOUR);
        d = next;
    }
    assert_eq!((short, long), (104, 104));
}

#[test]
fn before_1996_the_rule_is_not_history() {
    // Documented in summary.rs: in 1995 summer time ended on 22 October,
    // not on the last Sunday (the 29th); the rule applied here says BST.
    let t = utc("1995-10-24 23:30");
    assert_eq!(reference(t), (0, date("1995-10-24")));
    assert_eq!(ours(t), (HOUR, date("1995-10-25")));
    // Years whose changes fell on the same Sundays agree.
    let t = utc("1992-10-25 00:30");
    assert_eq!(ours(t), reference(t));
}

proptest! {
    #[test]
    fn london_time_matches_chrono_tz_at_any_instant(t in start()..end()) {
        prop_assert_eq!(ours(t), reference(t));
    }

    #[test]
    fn london_time_matches_chrono_tz_around_transitions(
        t in proptest::sample::select(transitions()),
        delta in prop_oneof![
            Just(-HOUR), Just(-1), Just(0), Just(1), Just(HOUR),
            -2 * HOUR..2 * HOUR,
        ],
    ) {
        prop_assert_eq!(ours(t + delta), reference(t + delta));
    }

    #[test]
    fn any_day_bounds_hold_exactly_that_day(days in 9_496i64..47_482) {
        // 1996-01-01 ..= 2099-12-31
        let d = LocalDate::from_days_since_epoch(days);
        let (s, e) = london_day_bounds(d);
        prop_assert!([23 * HOUR, 24 * HOUR, 25 * HOUR].contains(&(e - s)));
        prop_assert_eq!(london_date(s), d);
        prop_assert_eq!(london_date(e - 1), d);
        prop_assert_eq!(london_date(s - 1), LocalDate::from_days_since_epoch(days - 1));
        prop_assert_eq!(london_date(e), LocalDate::from_days_since_epoch(days + 1));
    }
}
