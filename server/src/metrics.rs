//! Prometheus metrics kept in memory: requests and latency per route, plus
//! gauges read from the database at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
struct Route {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Request counters and latency histograms per route pattern.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, Route>>,
}

/// Figures read from the database for a scrape.
pub struct Gauges {
    /// Ops stored.
    pub ops_stored: i64,
    /// Ops rejected (quarantined).
    pub ops_rejected: i64,
    /// Devices that made at least one request.
    pub devices_seen: i64,
    /// Rows in the audit chain.
    pub audit_chain_length: i64,
    /// 1 while writes fail for want of space (they resume by themselves).
    pub storage_full: i64,
    /// 1 once a sync of the SQLite WAL has failed: no write is taken until
    /// the server is restarted.
    pub restart_needed: i64,
}

impl Metrics {
    /// Records one request.
    pub fn observe(&self, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let r = routes.entry(route.to_owned()).or_default();
        *r.by_status.entry(status).or_default() += 1;
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                r.buckets[i] += 1;
            }
        }
        r.sum += seconds;
        r.count += 1;
    }

    /// The text exposition format.
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        out.push_str("# HELP aidant_http_requests_total HTTP requests by route and status.\n# TYPE aidant_http_requests_total counter\n");
        for (route, r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "aidant_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    esc(route)
                );
            }
        }
        out.push_str("# HELP aidant_http_request_seconds Request latency by route.\n# TYPE aidant_http_request_seconds histogram\n");
        for (route, r) in routes.iter() {
            let route = esc(route);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "aidant_http_request_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                    r.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "aidant_http_request_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(
                out,
                "aidant_http_request_seconds_sum{{route=\"{route}\"}} {}",
                r.sum
            );
            let _ = writeln!(
                out,
                "aidant_http_request_seconds_count{{route=\"{route}\"}} {}",
                r.count
            );
        }
        for (name, help, v) in [
            ("aidant_ops_stored", "Ops stored.", g.ops_stored),
            (
                "aidant_ops_rejected",
                "Ops rejected and quarantined.",
                g.ops_rejected,
            ),
            (
                "aidant_devices_seen",
                "Devices that have made a request.",
                g.devices_seen,
            ),
            (
                "aidant_audit_chain_length",
                "Rows in the audit hash chain.",
                g.audit_chain_length,
            ),
            (
                "aidant_storage_full",
                "1 while writes fail for want of space; they resume by themselves.",
                g.storage_full,
            ),
            (
                "aidant_restart_needed",
                "1 once a sync of the database's disk failed: no write is taken until the server is restarted.",
                g.restart_needed,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}
