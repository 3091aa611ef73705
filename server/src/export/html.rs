//! The printable HTML report: one self-contained page (no scripts, no external
//! files) with the headline figures, four bar charts drawn as inline SVG
//! (visits by kind, potential victims by age group, safeguarding actions,
//! arrests by offence) and the figures by day, team and force area. Print CSS
//! fits it to A4. Every piece of text is HTML-escaped. It lists no rows, so it
//! holds no victim-identifying data whatever was asked.

use super::figures::{self, label};
use super::Plan;
use std::fmt::Write as _;
use std::io::{self, Write};
use sync_core::summary::DaySummary;

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#111;margin:2rem auto;max-width:60rem;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem;border-bottom:2px solid #1d3b6a}
.scope{color:#444;margin:0 0 1rem}
.tiles{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}
.tile{border:1px solid #ccd;border-radius:4px;padding:.4rem .7rem;min-width:7.5rem}
.tile b{display:block;font-size:1.4rem}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
figure{margin:0;border:1px solid #ddd;border-radius:4px;padding:.5rem}
figcaption{font-weight:600;margin-bottom:.25rem}
svg text{font:12px system-ui,sans-serif;fill:#111}
table{border-collapse:collapse;width:100%;margin:.25rem 0 1rem;font-size:12px}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
thead th{background:#eef1f6}
footer{color:#555;font-size:12px;margin-top:2rem}
@page{size:A4;margin:12mm}
@media print{body{margin:0;max-width:none}figure,table,.tiles{break-inside:avoid}h2{break-after:avoid}}
";

/// One horizontal bar chart.
fn bar_chart(out: &mut String, title: &str, items: &[(String, u64)]) {
    let _ = write!(out, "<figure><figcaption>{}</figcaption>", escape(title));
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0);
    if max == 0 {
        out.push_str("<p>None recorded.</p></figure>");
        return;
    }
    let (row_h, label_w, bar_w) = (22u64, 170u64, 190u64);
    let height = row_h * items.len() as u64 + 4;
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100%\" viewBox=\"0 0 {w} {height}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        w = label_w + bar_w + 50,
        t = escape(title),
    );
    for (i, (name, n)) in items.iter().enumerate() {
        let y = i as u64 * row_h + 2;
        let len = (n * bar_w).div_ceil(max).max(u64::from(*n > 0));
        let _ = write!(
            out,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{name}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{len}\" height=\"{bh}\" fill=\"#1d3b6a\"/>\
             <text x=\"{vx}\" y=\"{ty}\">{n}</text>",
            lx = label_w - 6,
            ty = y + 14,
            name = escape(name),
            bh = row_h - 6,
            vx = label_w + len + 4,
        );
    }
    out.push_str("</svg></figure>");
}

fn figures_table(out: &mut String, title: &str, heads: &[String], sums: &[&DaySummary]) {
    let _ = write!(out, "<h2>{}</h2>", escape(title));
    if sums.is_empty() {
        out.push_str("<p>No visits.</p>");
        return;
    }
    out.push_str("<table><thead><tr><th>Figure</th>");
    for h in heads {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for (name, values) in figures::rows(sums) {
        let _ = write!(out, "<tr><td>{}</td>", escape(&name));
        for v in values {
            let _ = write!(out, "<td>{}</td>", escape(&v.to_string()));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// Renders the report.
pub fn render(plan: &Plan) -> String {
    let op = &plan.started.operation;
    let r = &plan.started.request;
    let s = &plan.summary;
    let t = &s.total;
    let days = if r.scope.from == r.scope.to {
        r.scope.from.to_string()
    } else {
        format!("{} to {}", r.scope.from, r.scope.to)
    };
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Aidant day summary: {name}, {days}</title><style>{STYLE}</style></head><body>\
         <header><h1>Aidant day summary</h1>\
         <p class=\"scope\">Operation <strong>{name}</strong> · {area} · {days}</p></header>",
        name = escape(&op.name),
        area = escape(&op.force_area),
        days = escape(&days),
    );
    out.push_str("<section class=\"tiles\">");
    for (k, v) in [
        ("Visits", u64::from(t.visits)),
        ("People spoken to", t.people_spoken_to.into()),
        ("Potential victims", t.potential_victims.total().into()),
        ("Safeguarded", t.safeguarded.into()),
        ("NRM referrals", t.nrm_referrals.into()),
        ("Duty to Notify", t.duty_to_notify.into()),
        ("Arrests", t.arrests().into()),
        ("Vehicles stopped", t.vehicles_stopped.into()),
    ] {
        let _ = write!(out, "<div class=\"tile\"><b>{v}</b>{}</div>", escape(k));
    }
    out.push_str("</section><section class=\"charts\">");
    let kinds: Vec<(String, u64)> = t
        .visits_by_kind
        .iter()
        .map(|(k, n)| (label(k), u64::from(*n)))
        .collect();
    bar_chart(&mut out, "Visits by kind of place", &kinds);
    bar_chart(
        &mut out,
        "Potential victims by age group",
        &[
            ("Adults".to_owned(), t.potential_victims.adult.into()),
            ("Children".to_owned(), t.potential_victims.child.into()),
            ("Age unknown".to_owned(), t.potential_victims.unknown.into()),
        ],
    );
    bar_chart(
        &mut out,
        "Safeguarding actions",
        &[
            ("Victims safeguarded".to_owned(), t.safeguarded.into()),
            ("NRM referrals".to_owned(), t.nrm_referrals.into()),
            ("Duty to Notify".to_owned(), t.duty_to_notify.into()),
        ],
    );
    let offences: Vec<(String, u64)> = t
        .arrests_by_offence
        .iter()
        .map(|(k, n)| (label(k), u64::from(*n)))
        .collect();
    bar_chart(&mut out, "Arrests by offence", &offences);
    out.push_str("</section>");
    let mut heads = vec!["Total".to_owned()];
    heads.extend(s.days.iter().map(|d| d.date.to_string()));
    let mut sums = vec![&s.total];
    sums.extend(s.days.iter());
    figures_table(&mut out, "By day", &heads, &sums);
    let teams: Vec<String> = s.by_team.keys().cloned().collect();
    figures_table(
        &mut out,
        "By team",
        &teams,
        &s.by_team.values().collect::<Vec<_>>(),
    );
    let areas: Vec<String> = s.by_force_area.keys().cloned().collect();
    figures_table(
        &mut out,
        "By force area",
        &areas,
        &s.by_force_area.values().collect::<Vec<_>>(),
    );
    out.push_str(
        "<footer><p>Days are Europe/London calendar days; a visit counts on the day it started. \
         Voided visits and removed persons are left out of every figure; a visit edited on \
         several phones counts once. Figures are the server's merge of every device's records \
         received so far.</p><p>This report holds no victim-identifying data.</p></footer>\
         </body></html>\n",
    );
    out
}

/// Writes the report.
pub fn write(w: &mut impl Write, plan: &Plan) -> io::Result<()> {
    w.write_all(render(plan).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
