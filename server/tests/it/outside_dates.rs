//! A visit recorded on a day outside its operation's dates is in no default
//! summary; the summary says so, with the days and how many.

use crate::harness::{now_ms, record_visit, World};
use serde_json::json;

#[test]
fn the_summary_names_days_outside_the_operation_with_their_visits() {
    let mut w = World::new();
    let path = format!("/api/v1/operations/{}/summary", w.op1);
    let week = format!("{path}?from=2026-09-21&to=2026-09-27");
    let none = w.srv.get(&week, Some(&w.sup1)).expect(200);
    assert_eq!(none.body["outside_operation_dates"], json!([]));
    // The harness's operation runs 2026-09-21 to 2026-09-27; these visits start now.
    let today = sync_core::summary::london_date(now_ms() as i64).to_string();
    assert!(
        !("2026-09-21".."2026-09-28").contains(&today.as_str()),
        "run on a day inside the operation"
    );
    for _ in 0..2 {
        let (_, ops) = record_visit(&mut w.a, w.op1);
        w.srv.push_ok(&w.a, &ops);
    }
    let r = w.srv.get(&week, Some(&w.sup1)).expect(200);
    assert_eq!(r.body["total"]["visits"], json!(0), "{}", r.text);
    assert_eq!(
        r.body["outside_operation_dates"],
        json!([{ "day": today, "visits": 2 }]),
        "{}",
        r.text
    );
    // Asked for that day, the summary counts them.
    let day = w
        .srv
        .get(&format!("{path}?from={today}&to={today}"), Some(&w.sup1))
        .expect(200);
    assert_eq!(day.body["total"]["visits"], json!(2), "{}", day.text);
}
