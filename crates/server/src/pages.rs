//! The HTML pages. Every value from the chain is escaped: titles are attacker-controlled.

use crate::content::{classify, Kind};
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

/// A page: no inline script or style (the CSP allows only `/static`).
fn page(head: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>{head}</title>\
<link rel=stylesheet href=\"/static/bitflix.css\"></head><body>{body}</body></html>"
    )
}

/// The player for a content, or, for what is not audio or video, a link to its sandbox.
fn player(s: &ContentSummary) -> String {
    let id = s.id;
    let kind = classify(&s.header.media_type);
    let video =
        matches!(kind, Kind::Cvpm) || matches!(kind, Kind::Media(t) if t.starts_with("video/"));
    if video {
        return format!(
            "<video id=v controls autoplay muted playsinline src=\"/api/content/{id}/file\"></video>"
        );
    }
    match kind {
        Kind::Cvpm | Kind::Media(_) => {
            format!("<audio controls src=\"/api/content/{id}/file\"></audio>")
        }
        Kind::Document(_) | Kind::Download => format!(
            "<p>This content is declared <code>{t}</code>: it is not audio or video, so it is not \
shown on this site. <a href=\"/sandbox/{id}\" rel=noopener>Open it in a sandbox</a> (a separate, \
opaque origin) or <a href=\"/api/content/{id}/stream\">download its bytes</a>.</p>",
            t = esc(&s.header.media_type)
        ),
    }
}

/// Who published it: the key's fingerprint (what can be trusted), the self-declared name beside
/// it, and whether this viewer trusts the key.
fn publisher(s: &ContentSummary, trusted: bool) -> String {
    let Some(p) = &s.publisher else {
        return "<span class=warn>publisher not known yet</span>".into();
    };
    let name = p
        .name
        .as_deref()
        .map(|n| format!(" &ldquo;{}&rdquo; (self-declared)", esc(n)))
        .unwrap_or_default();
    let mark = if trusted {
        " <span class=trusted>trusted</span>"
    } else {
        ""
    };
    format!(
        "<code class=publisher title=\"{key}\">{fp}</code>{name}{mark}",
        key = esc(&p.key),
        fp = esc(&p.fingerprint)
    )
}

/// The watch page's button that pins (or unpins) the publisher, wired by /static/watch.js (no
/// inline script under the page's CSP).
fn pin_button(s: &ContentSummary, trusted: bool) -> String {
    let Some(p) = &s.publisher else {
        return String::new();
    };
    let (label, action) = if trusted {
        ("Stop trusting this publisher", "untrust")
    } else {
        ("Trust this publisher", "trust")
    };
    format!(
        " <button class=pin data-key=\"{}\" data-action={action}>{label}</button>",
        esc(&p.key)
    )
}

/// Warnings: a look-alike of another publisher's content, copies of this one, forged segments.
fn warnings(s: &ContentSummary) -> String {
    let mut out = String::new();
    if let Some(orig) = s.lookalike_of {
        out.push_str(&format!(
            "<p class=warn>Look-alike: an earlier content by another publisher has the same title \
(<a href=\"/watch/{orig}\">the original</a>). Check the publisher key.</p>"
        ));
    }
    if !s.lookalikes.is_empty() {
        let links: Vec<String> = s
            .lookalikes
            .iter()
            .map(|id| format!("<a href=\"/watch/{id}\">{}</a>", &id.to_string()[..16]))
            .collect();
        out.push_str(&format!(
            "<p class=warn>Other publishers use this title: {}.</p>",
            links.join(", ")
        ));
    }
    if s.forged_segments > 0 {
        out.push_str(&format!(
            "<p class=warn>{} forged segment(s) shaped like this content's, published outside its \
lineage, were ignored.</p>",
            s.forged_segments
        ));
    }
    out
}

/// The catalog page: `items` with whether each publisher is trusted; `trusted_only` when the
/// list is limited to trusted publishers.
pub(crate) fn catalog(items: &[(&ContentSummary, bool)], trusted_only: bool) -> String {
    let mut rows = String::new();
    for &(s, trusted) in items {
        let size = s
            .header
            .total_length
            .map_or("?".into(), |b| format!("{:.1} kB", b as f64 / 1000.0));
        rows.push_str(&format!(
            "<tr><td><a class=film href=\"/watch/{id}\">{t}</a>{look}</td><td>{p}</td><td>{d}</td><td>{size}</td><td>{tx}</td><td>{cost}</td><td>{st}</td></tr>",
            id = s.id,
            t = title(s),
            look = if s.lookalike_of.is_some() {
                " <span class=warn>look-alike</span>"
            } else {
                ""
            },
            p = publisher(s, trusted),
            d = duration(s.header.duration_ms),
            tx = s.transactions,
            cost = cost(s.cost_sat),
            st = state(s.state),
        ));
    }
    if items.is_empty() {
        rows = "<tr><td colspan=7>No films found on this chain yet.</td></tr>".into();
    }
    let scope = if trusted_only {
        "Only contents of the publishers you trust are listed (<a href=\"/?all=1\">show all</a>)."
    } else {
        "Anyone can publish any title: compare the publisher key, not the title."
    };
    page(
        "BitFlix",
        &format!("<h1>BitFlix</h1><p>Films found on chain, each checked against its publisher's Merkle root and lineage. {scope}</p>\
<table><tr><th>title</th><th>publisher</th><th>duration</th><th>size</th><th>transactions</th><th>cost on chain</th><th>state</th></tr>{rows}</table>"),
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
pub(crate) fn watch(s: &ContentSummary, trusted: bool) -> String {
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
<p>Published by {publisher}{pin}; content id <code>{id}</code>.</p>{warn}\
{player}\
<p>{v} of {n} segments on chain and verified ({pct:.0} %), in {tx} transactions, blocks {fb}&ndash;{lb}; cost on chain: {cost}; state: {st}.</p>\
<progress max=100 value=\"{pct:.1}\"></progress>{chart}{flaws}<script src=\"/static/watch.js\"></script>",
            t = title(s),
            publisher = publisher(s, trusted),
            pin = pin_button(s, trusted),
            id = s.id,
            warn = warnings(s),
            player = player(s),
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
