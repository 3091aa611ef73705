//! wasm-bindgen tests of the bindings (run on wasm32 under Node).
#![cfg(target_arch = "wasm32")]

use client_wasm::Store;
use wasm_bindgen_test::wasm_bindgen_test;

const R: &str = "00000000-0000-0000-0000-0000000000a1";
const V: &str = "00000000-0000-0000-0000-000000000042";
const O: &str = "00000000-0000-0000-0000-000000000007";

#[wasm_bindgen_test]
fn a_store_records_a_visit_and_round_trips() {
    let mut s = Store::new(R).unwrap();
    s.create_visit(1_790_000_000_000.0, V, O, "car_wash")
        .unwrap();
    s.set_field(
        1_790_000_001_000.0,
        V,
        r#"{"visit":"postcode"}"#,
        r#"{"text":"OX4 1AA"}"#,
    )
    .unwrap();
    s.add(
        1_790_000_002_000.0,
        V,
        r#"{"visit":"indicators"}"#,
        "cw_cash_only_no_receipts",
    )
    .unwrap();
    let json = s.visit_json(V).unwrap();
    assert!(
        json.contains("OX4 1AA") && json.contains("cw_cash_only_no_receipts"),
        "{json}"
    );
    let restored = Store::load(&s.save()).unwrap();
    assert_eq!(restored.visit_json(V).unwrap(), json);
    assert_eq!(s.own_seq(), 5.0);
    let ops = s.ops_after_wire(0.0, 1_000);
    let first_two = s.ops_after_wire(0.0, 2);
    let mut partial = Store::new("00000000-0000-0000-0000-0000000000c3").unwrap();
    partial.apply_wire(1.0, &first_two).unwrap();
    assert!(partial.visit_json(V).unwrap().contains("car_wash"));
    assert!(!partial.visit_json(V).unwrap().contains("OX4 1AA"));
    assert!(s.ops_after_wire(5.0, 1_000).len() < ops.len());
    let mut other = Store::new("00000000-0000-0000-0000-0000000000b2").unwrap();
    let report = other.apply_wire(1_790_000_003_000.0, &ops).unwrap();
    assert!(report.contains("accepted"), "{report}");
    assert_eq!(other.visit_json(V).unwrap(), json);
}

#[wasm_bindgen_test]
fn errors_carry_a_code() {
    let mut s = Store::new(R).unwrap();
    s.create_visit(1.0, V, O, "hotel").unwrap();
    let err = s
        .set_field(2.0, V, r#"{"visit":"occupants"}"#, r#"{"int":-3}"#)
        .unwrap_err();
    let code = js_sys::Reflect::get(&err, &"code".into()).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("invalid_edit"));
    let err = Store::new("not-a-uuid").err().unwrap();
    let code = js_sys::Reflect::get(&err, &"code".into()).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("bad_id"));
}

#[wasm_bindgen_test]
fn vocabularies_and_indicators_follow_sync_core() {
    let v = client_wasm::vocabulary_json();
    assert!(v.starts_with("{\"location_kind\":[\"hotel\""), "{v}");
    assert!(v.contains("\"nrm_referral\"") && v.contains("\"duty_to_notify\""));
    let car_wash = client_wasm::indicators_for("car_wash");
    assert!(car_wash.contains("\"cw_cash_only_no_receipts\""));
    assert!(car_wash.contains("\"untreated_injuries\""));
    assert!(!car_wash.contains("\"nb_cash_only\""));
    assert!(!car_wash.contains("\"ht_many_phones\""));
    assert!(client_wasm::indicators_for("hotel").contains("\"ht_many_phones\""));
}

#[wasm_bindgen_test]
fn the_provisional_summary_counts_this_devices_visits() {
    let mut s = Store::new(R).unwrap();
    // 12:00 UTC on 28 November 2026 (GMT).
    let t = 1_795_867_200_000.0;
    s.create_visit(t, V, O, "car_wash").unwrap();
    let p = "00000000-0000-0000-0000-000000000101";
    s.add_person(t + 1.0, V, p).unwrap();
    let person = |f: &str| format!(r#"{{"person":["{p}","{f}"]}}"#);
    s.set_field(t + 2.0, V, &person("potential_victim"), r#"{"bool":true}"#)
        .unwrap();
    s.set_field(t + 3.0, V, &person("age_group"), r#"{"text":"child"}"#)
        .unwrap();
    s.add(
        t + 4.0,
        V,
        &format!(r#"{{"person":["{p}","safeguarding_actions"]}}"#),
        "nrm_referral",
    )
    .unwrap();
    let sum = s.day_summary_json(O, "2026-11-28").unwrap();
    for part in [
        r#""visits":1"#,
        r#""people_spoken_to":1"#,
        r#""child":1"#,
        r#""nrm_referrals":1"#,
        r#""safeguarded":1"#,
    ] {
        assert!(sum.contains(part), "{part} in {sum}");
    }
    let other_day = s.day_summary_json(O, "2026-11-27").unwrap();
    assert!(other_day.contains(r#""visits":0"#), "{other_day}");
    let err = s.day_summary_json(O, "28/11/2026").unwrap_err();
    let code = js_sys::Reflect::get(&err, &"code".into()).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("bad_date"));
}

#[wasm_bindgen_test]
fn a_malformed_batch_is_refused_and_changes_nothing() {
    let mut s = Store::new(R).unwrap();
    s.create_visit(1.0, V, O, "hotel").unwrap();
    let before = s.visits_json().unwrap();
    let err = s.apply_wire(2.0, &[0xff, 0x00, 0x13]).unwrap_err();
    let code = js_sys::Reflect::get(&err, &"code".into()).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("malformed_batch"));
    assert_eq!(s.visits_json().unwrap(), before);
    assert!(Store::load(&[1, 2, 3]).is_err());
}

#[wasm_bindgen_test]
fn submit_runs_the_checks_and_void_is_explicit() {
    let mut s = Store::new(R).unwrap();
    s.create_visit(1_790_000_000_000.0, V, O, "car_wash")
        .unwrap();
    let checks = s.checks_json(V, None, None).unwrap();
    assert!(checks.contains("no_place"), "{checks}");
    let err = s.submit(2.0e12, V, None, None).unwrap_err();
    let code = js_sys::Reflect::get(&err, &"code".into()).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("blocking_problems"));
    assert!(s.visit_json(V).unwrap().contains(r#""status":"draft""#));
    s.set_field(
        2.0e12,
        V,
        r#"{"visit":"postcode"}"#,
        r#"{"text":"OX4 1AA"}"#,
    )
    .unwrap();
    // The visit's day (2026-09-21) is outside these dates: a warning only.
    let found = s
        .submit(
            2.0e12,
            V,
            Some("2026-10-01".into()),
            Some("2026-10-07".into()),
        )
        .unwrap();
    assert!(found.contains("outside_operation_dates"), "{found}");
    assert!(s.visit_json(V).unwrap().contains(r#""status":"submitted""#));
    s.void(2.0e12, V, "entered twice").unwrap();
    let json = s.visit_json(V).unwrap();
    assert!(json.contains(r#""void_reason":"entered twice""#), "{json}");
    s.unvoid(2.0e12, V).unwrap();
    assert!(s.visit_json(V).unwrap().contains(r#""voided":false"#));
}
