//! The `demo-sync` narrative.

#[test]
fn demo_sync_converges_and_shows_the_conflict() {
    let mut out = Vec::new();
    server::demo::run(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("Both phones hold the same record: true"),
        "{text}"
    );
    assert!(text.contains("conflict on postcode"), "{text}");
    assert!(
        text.contains("1 potential victim(s), 1 NRM referral(s)"),
        "{text}"
    );
}
