#[cfg(not(target_arch = "wasm32"))]
mod native {
    use chrono::{Offset, TimeZone, Utc};
    use chrono_tz::Europe::London;
    use sync_core::summary::*;

    #[test]
    fn scratch_before_1996() {
        let h = 3_600_000i64;
        let start = Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).unwrap().timestamp_millis();
        let end = Utc.with_ymd_and_hms(1996, 1, 1, 0, 0, 0).unwrap().timestamp_millis();
        let mut t = start;
        let mut prev_bad = false;
        let mut years = std::collections::BTreeMap::<i32, u32>::new();
        while t < end {
            let u = Utc.timestamp_millis_opt(t).unwrap();
            let off = i64::from(u.with_timezone(&London).offset().fix().local_minus_utc()) * 1000;
            let bad = off != london_offset_ms(t);
            if bad { *years.entry(london_date(t).year).or_default() += 1; }
            if bad != prev_bad { println!("{} {} ours={} tz={}", u, if bad {"start"} else {"end"}, london_offset_ms(t), off); }
            prev_bad = bad;
            t += h;
        }
        println!("{years:?}");
    }
}
