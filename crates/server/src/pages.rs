//! The HTML pages, from askama templates (`templates/`) with auto-escaping: every value from the
//! chain (titles, names, media types, flaws) is attacker-controlled and reaches the page only
//! through the templates' HTML escaping. No inline script or style (the page CSP allows `/static`
//! only).

use crate::content::{classify, Kind};
use askama::Template;
use index::{ContentState, ContentSummary, LineageTx, Publisher};

/// Films per catalog page.
pub(crate) const PER_PAGE: usize = 24;
/// Lineage transactions listed on a watch page (the rest are counted).
const TXS_SHOWN: usize = 200;

fn title(s: &ContentSummary) -> String {
    s.header
        .title
        .clone()
        .unwrap_or_else(|| "(untitled)".into())
}

fn state(s: &ContentSummary) -> String {
    match s.state {
        ContentState::Complete => "complete, confirmed".into(),
        ContentState::Verified => "verified, partly unconfirmed".into(),
        ContentState::Arriving => "still arriving".into(),
        ContentState::Damaged => "damaged".into(),
        ContentState::Live => "live".into(),
        ContentState::Committed => format!(
            "on chain: {}-byte commitment; bytes: BitTorrent",
            s.commitment.as_ref().map_or(0, |m| m.unit_bytes)
        ),
    }
}

fn cost(sat: Option<u64>) -> String {
    sat.map_or("not known yet".into(), |s| {
        format!("{s} sat ({:.8} BTC)", s as f64 / 1e8)
    })
}

/// `h:mm:ss` or `m:ss`.
pub(crate) fn duration(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn size(bytes: Option<u64>) -> String {
    match bytes {
        None => "size unknown".into(),
        Some(b) if b < 10_000 => format!("{b} bytes"),
        Some(b) if b < 10_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        Some(b) => format!("{:.1} MB", b as f64 / 1e6),
    }
}

fn blocks(s: &ContentSummary) -> String {
    let pending = s.lineage.iter().any(|t| t.height.is_none());
    let mined = match (s.first_block, s.last_block) {
        (Some(a), Some(b)) if a == b => format!("block {a}"),
        (Some(a), Some(b)) => format!("blocks {a} to {b}"),
        _ => "not mined yet".into(),
    };
    if pending && s.first_block.is_some() {
        format!("{mined}, and the mempool")
    } else {
        mined
    }
}

/// What kind of thing a content without a poster is, for its placeholder.
fn kind_label(declared: &str) -> &'static str {
    match classify(declared) {
        Kind::Cvpm => "film",
        Kind::Media(t) if t.starts_with("audio/") => "audio",
        Kind::Media(_) => "video",
        Kind::Document(t) if t.starts_with("image/") => "image",
        Kind::Document(_) => "document",
        Kind::Bundle => "app",
        Kind::Download => "file",
    }
}

/// One film in the catalog.
pub(crate) struct Card {
    id: String,
    title: String,
    poster: bool,
    kind: &'static str,
    duration: String,
    size: String,
    when: String,
    state: String,
    lookalike: bool,
    publisher: Option<Publisher>,
    trusted: bool,
    live: bool,
}

impl Card {
    pub(crate) fn new(s: &ContentSummary, trusted: bool, duration_ms: Option<u64>) -> Card {
        Card {
            id: s.id.to_string(),
            title: title(s),
            poster: crate::poster::of(s).is_some(),
            kind: kind_label(&s.header.media_type),
            duration: duration_ms.map_or("duration unknown".into(), duration),
            size: size(s.header.total_length),
            when: match s.last_block {
                Some(h) => format!("block {h}"),
                None => "in the mempool".into(),
            },
            state: state(s),
            lookalike: s.lookalike_of.is_some(),
            publisher: s.publisher.clone(),
            trusted,
            live: s.state == ContentState::Live,
        }
    }
}

/// The catalog page.
#[derive(Template)]
#[template(path = "catalog.html")]
pub(crate) struct CatalogPage {
    pub cards: Vec<Card>,
    pub query: String,
    pub trusted_only: bool,
    pub all_link: String,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// How a watch page plays its content.
pub(crate) enum Player {
    /// CVPM through Media Source Extensions (`/static/player.js`).
    Stream,
    /// A video file the browser plays itself.
    Video,
    /// An audio file.
    Audio,
    /// Not audio or video: a link to the sandbox, with the declared type.
    Sandbox(String),
    /// A bundle (an app): a link to its entry page in the sandbox.
    App,
    /// A content behind a commitment: what the chain pins, and where the bytes are.
    Swarm(SwarmView),
}

/// What a watch page says of a content behind a commitment.
pub(crate) struct SwarmView {
    unit_bytes: usize,
    size: String,
    root: String,
    infohash: String,
    seed: Option<String>,
    fetch: FetchView,
    /// A CVPM film this gateway fetches: the player is on the page (it starts once bytes are
    /// checked).
    play: bool,
}

/// Where this gateway's fetch of a committed content stands, as the page says it.
pub(crate) enum FetchView {
    /// The gateway does not fetch from BitTorrent.
    Off,
    /// No peer has answered yet.
    Waiting(String),
    /// So many bytes checked, and why no more will be.
    Fetching(String, Option<String>),
    /// The swarm holds other bytes.
    Refused(String),
}

/// One bar of the bytes-per-block chart.
pub(crate) struct Bar {
    x: String,
    y: String,
    w: String,
    h: String,
    class: &'static str,
    label: String,
}

fn bars(s: &ContentSummary) -> Vec<Bar> {
    let data = &s.bytes_by_block;
    let max = data.iter().map(|(_, b)| *b).max().unwrap_or(0);
    if data.is_empty() || max == 0 {
        return Vec::new();
    }
    let (w, h) = (600.0_f64, 120.0_f64);
    let bw = w / data.len() as f64;
    data.iter()
        .enumerate()
        .map(|(i, (height, bytes))| {
            let bh = (*bytes as f64 / max as f64 * (h - 20.0)).max(1.0);
            let (class, label) = match height {
                Some(hgt) => ("mined", format!("block {hgt}: {bytes} bytes")),
                None => ("mempool", format!("mempool: {bytes} bytes")),
            };
            Bar {
                x: format!("{:.1}", i as f64 * bw + 1.0),
                y: format!("{:.1}", h - bh),
                w: format!("{:.1}", (bw - 2.0).max(1.0)),
                h: format!("{bh:.1}"),
                class,
                label,
            }
        })
        .collect()
}

/// The watch page of one content.
#[derive(Template)]
#[template(path = "watch.html")]
pub(crate) struct WatchPage {
    id: String,
    title: String,
    player: Player,
    poster: bool,
    publisher: Option<Publisher>,
    trusted: bool,
    lookalike_of: Option<String>,
    lookalikes: Vec<String>,
    forged_segments: u32,
    state: String,
    verified: u32,
    segments: u32,
    pct: String,
    media_type: String,
    size: String,
    duration: Option<String>,
    blocks: String,
    cost: String,
    bars: Vec<Bar>,
    txs: Vec<LineageTx>,
    txs_more: usize,
    flaws: Vec<String>,
    /// A live stream the player follows at its live edge (not its recording yet).
    live: bool,
    forged_chunks: u32,
    /// An interactive film's decisions and the chain's tally (`/static/story.js` plays it).
    story: Option<StoryView>,
}

/// An interactive film on its watch page.
pub(crate) struct StoryView {
    clips: usize,
    decisions: usize,
    branches: Vec<BranchView>,
    /// Flaws of the clip table, the branches and the choices (not counted).
    flaws: Vec<String>,
}

/// A decision point and what viewers chose there.
pub(crate) struct BranchView {
    prompt: String,
    after: String,
    options: Vec<OptionView>,
}

/// One option and its tally.
pub(crate) struct OptionView {
    label: String,
    count: u64,
    pending: u64,
}

/// Flaws listed on a page, at most.
const FLAWS_SHOWN: usize = 200;

impl StoryView {
    pub(crate) fn new(s: &index::Story) -> StoryView {
        let name = |i: u32| {
            s.clips
                .iter()
                .find(|c| c.index == i)
                .map_or_else(|| format!("clip {i}"), |c| c.name.clone())
        };
        // Plain continuations (one option, no time to choose) are no decisions.
        let branches: Vec<BranchView> = s
            .branches
            .iter()
            .filter(|b| b.options.len() > 1 || b.timeout_ms > 0)
            .map(|b| BranchView {
                prompt: b.prompt.clone(),
                after: name(b.at_clip),
                options: b
                    .options
                    .iter()
                    .map(|o| OptionView {
                        label: o.label.clone(),
                        count: o.count,
                        pending: o.pending,
                    })
                    .collect(),
            })
            .collect();
        StoryView {
            clips: s.clips.len(),
            decisions: branches.len(),
            branches,
            flaws: s
                .flaws
                .iter()
                .cloned()
                .chain(s.choices.iter().filter_map(|c| c.flaw.clone()))
                .take(FLAWS_SHOWN)
                .collect(),
        }
    }
}

impl WatchPage {
    /// The page with where this gateway's fetch of its committed bytes stands (`None`: it does
    /// not fetch from BitTorrent).
    pub(crate) fn with_swarm(mut self, state: Option<crate::SwarmState>) -> WatchPage {
        use crate::SwarmState;
        let film = self.media_type == "video/x-cvpm";
        if let (Player::Swarm(sw), Some(state)) = (&mut self.player, state) {
            sw.play = film && !matches!(state, SwarmState::Refused(_));
            sw.fetch = match state {
                SwarmState::Waiting(why) => FetchView::Waiting(why),
                SwarmState::Fetching { checked, stopped } => {
                    FetchView::Fetching(size(Some(checked)), stopped)
                }
                SwarmState::Refused(why) => FetchView::Refused(why),
            };
        }
        self
    }

    /// The page of `s`, with the duration known for it.
    pub(crate) fn new(s: &ContentSummary, trusted: bool, duration_ms: Option<u64>) -> WatchPage {
        let segments = s.header.segment_count.unwrap_or(0);
        let pct = 100.0 * f64::from(s.segments_verified) / f64::from(segments.max(1));
        let player = match (&s.commitment, classify(&s.header.media_type)) {
            (Some(m), _) => Player::Swarm(SwarmView {
                unit_bytes: m.unit_bytes,
                size: size(Some(m.record.length)),
                root: hex::encode(m.record.root),
                infohash: hex::encode(m.record.infohash),
                seed: m.record.seed.map(|a| a.to_string()),
                fetch: FetchView::Off,
                play: false,
            }),
            (None, kind) => match kind {
                Kind::Cvpm => Player::Stream,
                Kind::Media(t) if t.starts_with("audio/") => Player::Audio,
                Kind::Media(_) => Player::Video,
                Kind::Document(_) | Kind::Download => Player::Sandbox(s.header.media_type.clone()),
                Kind::Bundle => Player::App,
            },
        };
        WatchPage {
            id: s.id.to_string(),
            title: title(s),
            player,
            poster: crate::poster::of(s).is_some(),
            publisher: s.publisher.clone(),
            trusted,
            lookalike_of: s.lookalike_of.map(|t| t.to_string()),
            lookalikes: s.lookalikes.iter().map(ToString::to_string).collect(),
            forged_segments: s.forged_segments,
            state: state(s),
            verified: s.segments_verified,
            segments,
            pct: format!("{pct:.0}"),
            media_type: s.header.media_type.clone(),
            size: size(s.header.total_length),
            duration: duration_ms.map(duration),
            blocks: blocks(s),
            cost: cost(s.cost_sat),
            bars: bars(s),
            txs: s.lineage.iter().take(TXS_SHOWN).cloned().collect(),
            txs_more: s.lineage.len().saturating_sub(TXS_SHOWN),
            flaws: s.flaws.clone(),
            live: s.live.is_some()
                && !matches!(s.state, ContentState::Complete | ContentState::Verified),
            forged_chunks: s.live.as_ref().map_or(0, |l| l.forged_chunks),
            story: None,
        }
    }

    /// This page for an interactive film.
    pub(crate) fn with_story(mut self, story: Option<&index::Story>) -> WatchPage {
        self.story = story.map(StoryView::new);
        self
    }
}

/// The HTML page of a 404.
#[derive(Template)]
#[template(path = "not_found.html")]
pub(crate) struct NotFoundPage {
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_as_clocks() {
        assert_eq!(duration(0), "0:00");
        assert_eq!(duration(59_999), "0:59");
        assert_eq!(duration(61_000), "1:01");
        assert_eq!(duration(3_600_000 + 62_000), "1:01:02");
    }
}
