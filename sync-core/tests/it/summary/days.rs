//! Europe/London dates and day boundaries.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;

#[test]
fn local_date_parse_and_display() {
    for (s, ok) in [
        ("2026-03-29", true),
        ("2024-02-29", true),
        ("2025-02-29", false),
        ("2026-13-01", false),
        ("2026-00-10", false),
        ("2026-3-29", false),
        ("2026-03-29T00", false),
        ("+202-03-29", false),
        ("2026-+3-29", false),
        ("2026-03-+9", false),
        (" 202-03-29", false),
        ("", false),
    ] {
        let parsed = LocalDate::parse(s);
        assert_eq!(parsed.is_some(), ok, "{s:?} → {parsed:?}");
        if let Some(d) = parsed {
            assert_eq!(d.to_string(), s);
        }
    }
    let json = serde_json::to_string(&date("2026-10-25")).unwrap();
    assert_eq!(json, "\"2026-10-25\"");
    assert_eq!(
        serde_json::from_str::<LocalDate>(&json).unwrap(),
        date("2026-10-25")
    );
    assert!(serde_json::from_str::<LocalDate>("\"2026-10-32\"").is_err());
}

// ---------------------------------------------------------------------------
// Day boundaries

/// A visit started at `when` (UTC) belongs to the London day `day`: both by
/// `london_date` and by `day_summary`, which counts it on that day only.
fn check(when: &str, day: &str) {
    let (t, d) = (utc(when), date(day));
    assert_eq!(london_date(t), d, "london_date({when} UTC)");
    let (start, end) = london_day_bounds(d);
    assert!(start <= t && t < end, "{when} UTC outside bounds of {day}");

    let op = OperationId::from_u128(1);
    let mut r = Replica::new(ReplicaId::from_u128(1));
    r.create_visit(at(when), VisitId::from_u128(1), op, LocationKind::Hotel)
        .unwrap();
    let count = |d| day_summary(r.visits(), Some(op), d).visits;
    assert_eq!(count(d), 1, "{when} UTC not counted on {day}");
    assert_eq!(
        count(prev_day(d)),
        0,
        "{when} UTC counted the day before {day}"
    );
    assert_eq!(
        count(next_day(d)),
        0,
        "{when} UTC counted the day after {day}"
    );
}

#[test]
fn day_boundaries() {
    // Summer (BST, UTC+1): 00:30 BST on the 29th is 23:30 UTC on the 28th.
    check("2026-07-28 23:30", "2026-07-29");
    check("2026-07-28 22:59:59.999", "2026-07-28"); // 23:59:59.999 BST
    check("2026-07-28 23:00", "2026-07-29"); // 00:00 BST
    check("2026-07-29 22:59:59.999", "2026-07-29");
    check("2026-07-29 23:00", "2026-07-30");

    // Winter (GMT): UTC = local.
    check("2026-01-15 23:59:59.999", "2026-01-15");
    check("2026-01-16 00:00", "2026-01-16");
    check("2025-12-31 23:59:59.999", "2025-12-31");
    check("2026-01-01 00:00", "2026-01-01");

    // 29 March 2026, clocks go forward at 01:00 GMT to 02:00 BST: 23 hours.
    check("2026-03-28 23:59:59.999", "2026-03-28"); // 23:59:59.999 GMT
    check("2026-03-29 00:00", "2026-03-29"); // 00:00 GMT
    check("2026-03-29 00:59:59.999", "2026-03-29"); // 00:59:59.999 GMT
    check("2026-03-29 01:00", "2026-03-29"); // 02:00 BST
    check("2026-03-29 22:59:59.999", "2026-03-29"); // 23:59:59.999 BST
    check("2026-03-29 23:00", "2026-03-30"); // 00:00 BST

    // 25 October 2026, clocks go back at 02:00 BST to 01:00 GMT: 25 hours, and
    // 01:00–02:00 local happens twice, both times on the 25th.
    check("2026-10-24 22:59:59.999", "2026-10-24"); // 23:59:59.999 BST
    check("2026-10-24 23:00", "2026-10-25"); // 00:00 BST
    check("2026-10-25 00:00", "2026-10-25"); // 01:00 BST, first time
    check("2026-10-25 00:30", "2026-10-25"); // 01:30 BST
    check("2026-10-25 00:59:59.999", "2026-10-25"); // 01:59:59.999 BST
    check("2026-10-25 01:00", "2026-10-25"); // 01:00 GMT, second time
    check("2026-10-25 01:30", "2026-10-25"); // 01:30 GMT
    check("2026-10-25 23:59:59.999", "2026-10-25"); // 23:59:59.999 GMT
    check("2026-10-26 00:00", "2026-10-26"); // 00:00 GMT
}

#[test]
fn day_bounds_around_the_2026_clock_changes() {
    for (day, start, end, hours) in [
        ("2026-03-28", "2026-03-28 00:00", "2026-03-29 00:00", 24),
        ("2026-03-29", "2026-03-29 00:00", "2026-03-29 23:00", 23),
        ("2026-03-30", "2026-03-29 23:00", "2026-03-30 23:00", 24),
        ("2026-07-14", "2026-07-13 23:00", "2026-07-14 23:00", 24),
        ("2026-10-24", "2026-10-23 23:00", "2026-10-24 23:00", 24),
        ("2026-10-25", "2026-10-24 23:00", "2026-10-26 00:00", 25),
        ("2026-10-26", "2026-10-26 00:00", "2026-10-27 00:00", 24),
        ("2026-12-31", "2026-12-31 00:00", "2027-01-01 00:00", 24),
    ] {
        let (s, e) = london_day_bounds(date(day));
        assert_eq!((s, e), (utc(start), utc(end)), "{day}");
        assert_eq!(e - s, hours * HOUR, "{day}");
    }
    // The offsets either side of each change.
    assert_eq!(london_offset_ms(utc("2026-03-29 00:59:59.999")), 0);
    assert_eq!(london_offset_ms(utc("2026-03-29 01:00")), HOUR);
    assert_eq!(london_offset_ms(utc("2026-10-25 00:59:59.999")), HOUR);
    assert_eq!(london_offset_ms(utc("2026-10-25 01:00")), 0);
}
