//! The interactive film's manifest (TOML): its clips, where each comes from, and the decisions
//! and continuations that join them. Everything is checked here, before any encode, and every
//! error names the file and the line.
//!
//! ```toml
//! title = "The door"          # optional; --title overrides
//! start = "hall"              # optional: the first clip (default the first listed)
//! [[clip]]
//! name = "hall"
//! input = "hall.mp4"          # any input ffmpeg reads, relative to the manifest
//! from = 0.0                  # optional, seconds into the input
//! duration = 8.0              # optional, seconds
//! next = "stairs"             # optional: a plain continuation (no choice)
//! loop = false                # optional: this clip may be part of a cycle without exit
//! [[decision]]
//! after = "hall"
//! prompt = "Open the door?"
//! timeout = 10                # seconds, 1..=60, default 10
//! default = "No"              # an option's label; default the first option
//! options = [ { label = "Yes", next = "door" }, { label = "No", next = "stairs" } ]
//! ```

use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// At most this many clips (each a separate encode).
pub const MAX_CLIPS: usize = 256;
/// Options of a decision.
pub const OPTIONS: std::ops::RangeInclusive<usize> = 2..=8;
/// A decision's timeout, in seconds.
pub const TIMEOUT_SECONDS: std::ops::RangeInclusive<f64> = 1.0..=60.0;
/// The timeout when none is given, in seconds.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 10.0;

/// A flaw of the manifest, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// The manifest.
    pub file: PathBuf,
    /// Its line, from 1 (0: the file as a whole, e.g. unreadable).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.message),
            line => write!(f, "{}:{line}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ManifestError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    title: Option<Spanned<String>>,
    start: Option<Spanned<String>>,
    #[serde(default)]
    clip: Vec<Spanned<RawClip>>,
    #[serde(default)]
    decision: Vec<Spanned<RawDecision>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClip {
    name: Spanned<String>,
    input: Spanned<String>,
    from: Option<Spanned<f64>>,
    duration: Option<Spanned<f64>>,
    next: Option<Spanned<String>>,
    #[serde(rename = "loop", default)]
    looping: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecision {
    after: Spanned<String>,
    prompt: Spanned<String>,
    timeout: Option<Spanned<f64>>,
    default: Option<Spanned<String>>,
    options: Spanned<Vec<Spanned<RawOption>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    label: Spanned<String>,
    next: Spanned<String>,
}

/// One clip, as the stream will hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Its name (the clip table's).
    pub name: String,
    /// The input (a path resolved against the manifest's folder, or a URL as given).
    pub input: PathBuf,
    /// Seconds into the input where it starts.
    pub from: f64,
    /// Seconds it lasts (`None`: to the input's end).
    pub duration: Option<f64>,
    /// May be part of a cycle without exit.
    pub looping: bool,
    /// The line of its name.
    pub line: usize,
}

/// What comes after a clip: a plain continuation (one option, no timeout) or a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// The clip (its number in the stream) after which it comes.
    pub after: u32,
    /// The question (empty for a continuation).
    pub prompt: String,
    /// Milliseconds to choose (0 for a continuation).
    pub timeout_ms: u32,
    /// The option taken when nobody chooses.
    pub default_option: u32,
    /// (the clip it plays, its label); a continuation's label is empty.
    pub options: Vec<(u32, String)>,
    /// The line of the decision's `after` or of the clip's `next`.
    pub line: usize,
}

/// A checked manifest: clips in stream order (the start clip first, then the others in the
/// manifest's order), and the branches in the order of their clips.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The manifest's path.
    pub path: PathBuf,
    /// Its title, if it gives one.
    pub title: Option<String>,
    /// The clips, clip 0 first.
    pub clips: Vec<Clip>,
    /// The branch points.
    pub branches: Vec<Branch>,
}

/// Line numbers of byte offsets in a text.
struct Lines<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Lines<'_> {
    fn line(&self, at: usize) -> usize {
        let at = at.min(self.text.len());
        1 + self.text.as_bytes()[..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ManifestError {
        ManifestError {
            file: self.file.to_path_buf(),
            line: self.line(span.start),
            message: message.into(),
        }
    }
}

impl Manifest {
    /// Read and check the manifest at `path`.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            file: path.to_path_buf(),
            line: 0,
            message: format!("cannot read the manifest: {e}"),
        })?;
        Manifest::parse(path, &text)
    }

    /// Check the manifest `text` read from `path` (relative inputs are relative to its folder).
    pub fn parse(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
        let at = Lines { text, file: path };
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| at.line(s.start));
            ManifestError {
                file: path.to_path_buf(),
                line,
                message: e.message().trim().to_string(),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        check(&at, raw, base)
    }
}

fn nonempty(at: &Lines<'_>, s: &Spanned<String>, what: &str) -> Result<String, ManifestError> {
    let v = s.get_ref().trim();
    if v.is_empty() {
        return Err(at.err(s.span(), format!("{what} is empty")));
    }
    Ok(v.to_string())
}

/// Resolve a clip's input: a URL (`scheme://`) as given, a path against the manifest's folder;
/// a path must exist.
fn input(at: &Lines<'_>, s: &Spanned<String>, base: &Path) -> Result<PathBuf, ManifestError> {
    let v = nonempty(at, s, "the input")?;
    if v.contains("://") {
        return Ok(PathBuf::from(v));
    }
    let p = base.join(&v);
    if !p.exists() {
        return Err(at.err(
            s.span(),
            format!("the input {} does not exist", p.display()),
        ));
    }
    Ok(p)
}

fn seconds(
    at: &Lines<'_>,
    s: &Option<Spanned<f64>>,
    what: &str,
    positive: bool,
) -> Result<Option<f64>, ManifestError> {
    let Some(s) = s else { return Ok(None) };
    let v = *s.get_ref();
    let ok = v.is_finite() && if positive { v > 0.0 } else { v >= 0.0 };
    if !ok || v > 86_400.0 {
        let want = if positive { "above 0" } else { "0 or more" };
        return Err(at.err(
            s.span(),
            format!("{what} is {v}: seconds, {want}, at most a day"),
        ));
    }
    Ok(Some(v))
}

fn check(at: &Lines<'_>, raw: RawManifest, base: &Path) -> Result<Manifest, ManifestError> {
    if raw.clip.is_empty() {
        return Err(at.err(0..0, "the manifest has no [[clip]]"));
    }
    if raw.clip.len() > MAX_CLIPS {
        return Err(at.err(
            raw.clip[MAX_CLIPS].span(),
            format!("more than {MAX_CLIPS} clips"),
        ));
    }
    // Names, in the manifest's order.
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut lines = Vec::new();
    for (i, c) in raw.clip.iter().enumerate() {
        let name = nonempty(at, &c.get_ref().name, "the clip's name")?;
        let line = at.line(c.get_ref().name.span().start);
        if let Some(&j) = by_name.get(&name) {
            return Err(at.err(
                c.get_ref().name.span(),
                format!("clip \"{name}\" is already defined at line {}", lines[j]),
            ));
        }
        by_name.insert(name, i);
        lines.push(line);
    }
    let find = |s: &Spanned<String>, what: &str| -> Result<usize, ManifestError> {
        by_name.get(s.get_ref().trim()).copied().ok_or_else(|| {
            at.err(
                s.span(),
                format!(
                    "{what} names clip \"{}\", which the manifest does not define",
                    s.get_ref()
                ),
            )
        })
    };
    let start = match &raw.start {
        Some(s) => find(s, "start")?,
        None => 0,
    };
    // Stream order: the start clip, then the others as listed.
    let order: Vec<usize> = std::iter::once(start)
        .chain((0..raw.clip.len()).filter(|&i| i != start))
        .collect();
    let mut number = vec![0u32; raw.clip.len()];
    for (n, &i) in order.iter().enumerate() {
        number[i] = n as u32;
    }
    // What follows each clip (manifest index): continuations, then decisions.
    let mut after: Vec<Option<Branch>> = vec![None; raw.clip.len()];
    for (i, c) in raw.clip.iter().enumerate() {
        if let Some(next) = &c.get_ref().next {
            let to = find(next, "next")?;
            after[i] = Some(Branch {
                after: number[i],
                prompt: String::new(),
                timeout_ms: 0,
                default_option: 0,
                options: vec![(number[to], String::new())],
                line: at.line(next.span().start),
            });
        }
    }
    for d in &raw.decision {
        let d = d.get_ref();
        let i = find(&d.after, "after")?;
        if let Some(b) = &after[i] {
            let what = if b.timeout_ms == 0 {
                "a `next`"
            } else {
                "a decision"
            };
            return Err(at.err(
                d.after.span(),
                format!(
                    "clip \"{}\" already has {what} (line {}): a clip has one decision or one next",
                    d.after.get_ref(),
                    b.line
                ),
            ));
        }
        after[i] = Some(decision(at, d, number[i], &find, &number)?);
    }
    let mut clips = Vec::with_capacity(order.len());
    for &i in &order {
        let c = raw.clip[i].get_ref();
        clips.push(Clip {
            name: c.name.get_ref().trim().to_string(),
            input: input(at, &c.input, base)?,
            from: seconds(at, &c.from, "from", false)?.unwrap_or(0.0),
            duration: seconds(at, &c.duration, "duration", true)?,
            looping: c.looping,
            line: lines[i],
        });
    }
    let mut branches: Vec<Branch> = order.iter().filter_map(|&i| after[i].clone()).collect();
    branches.sort_by_key(|b| b.after);
    super::graph::check(&clips, &branches).map_err(|(clip, message)| ManifestError {
        file: at.file.to_path_buf(),
        line: clips[clip].line,
        message,
    })?;
    Ok(Manifest {
        path: at.file.to_path_buf(),
        title: match &raw.title {
            Some(t) => Some(nonempty(at, t, "the title")?),
            None => None,
        },
        clips,
        branches,
    })
}

/// A clip's index in the manifest by the name at a span, or the error at that span.
type Find<'a> = dyn Fn(&Spanned<String>, &str) -> Result<usize, ManifestError> + 'a;

fn decision(
    at: &Lines<'_>,
    d: &RawDecision,
    clip: u32,
    find: &Find<'_>,
    number: &[u32],
) -> Result<Branch, ManifestError> {
    let prompt = nonempty(at, &d.prompt, "the prompt")?;
    let timeout = match &d.timeout {
        Some(t) if !TIMEOUT_SECONDS.contains(t.get_ref()) => {
            return Err(at.err(
                t.span(),
                format!("timeout is {} s: give 1 to 60 seconds", t.get_ref()),
            ))
        }
        Some(t) => *t.get_ref(),
        None => DEFAULT_TIMEOUT_SECONDS,
    };
    let opts = d.options.get_ref();
    if !OPTIONS.contains(&opts.len()) {
        return Err(at.err(
            d.options.span(),
            format!(
                "a decision has {} to {} options; this one has {}",
                OPTIONS.start(),
                OPTIONS.end(),
                opts.len()
            ),
        ));
    }
    let mut options: Vec<(u32, String)> = Vec::with_capacity(opts.len());
    for o in opts {
        let o = o.get_ref();
        let label = nonempty(at, &o.label, "an option's label")?;
        if options.iter().any(|(_, l)| *l == label) {
            return Err(at.err(
                o.label.span(),
                format!("the label \"{label}\" repeats within this decision"),
            ));
        }
        options.push((number[find(&o.next, "the option's next")?], label));
    }
    let default_option = match &d.default {
        None => 0,
        Some(l) => options
            .iter()
            .position(|(_, x)| x == l.get_ref().trim())
            .ok_or_else(|| {
                let labels: Vec<&str> = options.iter().map(|(_, l)| l.as_str()).collect();
                at.err(
                    l.span(),
                    format!(
                        "default \"{}\" is not an option's label (the labels: {})",
                        l.get_ref(),
                        labels.join(", ")
                    ),
                )
            })? as u32,
    };
    Ok(Branch {
        after: clip,
        prompt,
        timeout_ms: (timeout * 1000.0).round() as u32,
        default_option,
        options,
        line: at.line(d.after.span().start),
    })
}
