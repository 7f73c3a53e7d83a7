//! The HTML pages. Every value from the chain is escaped: titles are attacker-controlled.

use index::{ContentState, ContentSummary};

fn esc(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '&' => "&amp;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

fn title(s: &ContentSummary) -> String {
    esc(s.header.title.as_deref().unwrap_or("(untitled)"))
}

fn state(s: ContentState) -> &'static str {
    match s {
        ContentState::Complete => "complete, confirmed",
        ContentState::Verified => "verified, partly unconfirmed",
        ContentState::Arriving => "still arriving",
        ContentState::Damaged => "damaged",
    }
}

fn cost(sat: Option<u64>) -> String {
    sat.map_or("?".into(), |s| {
        format!("{s} sat ({:.8} BTC)", s as f64 / 1e8)
    })
}

fn duration(ms: Option<u64>) -> String {
    ms.map_or("?".into(), |ms| {
        format!("{}:{:02}", ms / 60_000, (ms / 1000) % 60)
    })
}

fn page(head: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>{head}</title>\
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse}}\
td,th{{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}}.bar{{background:#eee;height:1em;width:100%}}\
.bar div{{background:#f7931a;height:1em}}video{{width:100%;background:#000}}</style></head><body>{body}</body></html>"
    )
}

/// The catalog page.
pub(crate) fn catalog(items: &[ContentSummary]) -> String {
    let mut rows = String::new();
    for s in items {
        let size = s
            .header
            .total_length
            .map_or("?".into(), |b| format!("{:.1} kB", b as f64 / 1000.0));
        rows.push_str(&format!(
            "<tr><td><a class=film href=\"/watch/{id}\">{t}</a></td><td>{d}</td><td>{size}</td><td>{tx}</td><td>{cost}</td><td>{st}</td></tr>",
            id = s.id,
            t = title(s),
            d = duration(s.header.duration_ms),
            tx = s.transactions,
            cost = cost(s.cost_sat),
            st = state(s.state),
        ));
    }
    if items.is_empty() {
        rows = "<tr><td colspan=6>No films found on this chain yet.</td></tr>".into();
    }
    page(
        "BitFlix",
        &format!("<h1>BitFlix</h1><p>Films found on chain, each checked against its publisher's Merkle root and lineage.</p>\
<table><tr><th>title</th><th>duration</th><th>size</th><th>transactions</th><th>cost on chain</th><th>state</th></tr>{rows}</table>"),
    )
}

/// An inline SVG bar chart of the film's bytes per block (the last bar, in grey: the mempool).
fn chart(s: &ContentSummary) -> String {
    let bars = &s.bytes_by_block;
    let max = bars.iter().map(|(_, b)| *b).max().unwrap_or(0);
    if bars.is_empty() || max == 0 {
        return String::new();
    }
    let (w, h) = (600.0_f64, 120.0_f64);
    let bw = w / bars.len() as f64;
    let mut rects = String::new();
    for (i, (height, bytes)) in bars.iter().enumerate() {
        let bh = (*bytes as f64 / max as f64 * (h - 20.0)).max(1.0);
        let (fill, label) = match height {
            Some(hgt) => ("#f7931a", format!("block {hgt}: {bytes} bytes")),
            None => ("#999", format!("mempool: {bytes} bytes")),
        };
        rects.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{fill}\"><title>{label}</title></rect>",
            i as f64 * bw + 1.0,
            h - bh,
            (bw - 2.0).max(1.0)
        ));
    }
    format!(
        "<h2>Bytes per block</h2><svg role=img aria-label=\"bytes of this film per block\" viewBox=\"0 0 {w} {h}\" width=\"100%\" height=\"{h}\">{rects}</svg>\
<p>{n} block(s); the largest holds {max} bytes of the film.</p>",
        n = bars.iter().filter(|(b, _)| b.is_some()).count()
    )
}

/// The watch page.
pub(crate) fn watch(s: &ContentSummary) -> String {
    let total = s.header.segment_count.unwrap_or(0).max(1);
    let pct = 100.0 * f64::from(s.segments_verified) / f64::from(total);
    let flaws = if s.flaws.is_empty() {
        String::new()
    } else {
        format!(
            "<h2>Flaws</h2><ul>{}</ul>",
            s.flaws
                .iter()
                .map(|f| format!("<li>{}</li>", esc(f)))
                .collect::<String>()
        )
    };
    page(
        &title(s),
        &format!(
            "<p><a href=\"/\">&larr; catalog</a></p><h1>{t}</h1>\
<video id=v controls autoplay muted playsinline src=\"/api/content/{id}/file\"></video>\
<p>{v} of {n} segments on chain and verified ({pct:.0} %), in {tx} transactions, blocks {fb}&ndash;{lb}; cost on chain: {cost}; state: {st}.</p>\
<div class=bar><div style=\"width:{pct:.1}%\"></div></div>{chart}{flaws}\
<script>const v=document.getElementById('v');let ttff='';\
function report(){{document.title='w='+v.videoWidth+' t='+v.currentTime.toFixed(2)+ttff;}}\
if(v.requestVideoFrameCallback){{v.requestVideoFrameCallback(()=>{{ttff=' ttff='+performance.now().toFixed(0);report();}});}}\
v.addEventListener('timeupdate',report);v.addEventListener('loadedmetadata',report);</script>",
            t = title(s),
            id = s.id,
            v = s.segments_verified,
            n = total,
            tx = s.transactions,
            cost = cost(s.cost_sat),
            fb = s.first_block.map_or("?".into(), |b| b.to_string()),
            lb = s.last_block.map_or("?".into(), |b| b.to_string()),
            st = state(s.state),
            chart = chart(s),
        ),
    )
}
