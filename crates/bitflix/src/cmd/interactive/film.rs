//! An interactive film made from its manifest: each clip cut from its input, all encoded at one
//! size and frame rate, each to its share of one byte budget (in proportion to its duration),
//! joined into one stream (`media::interactive::join`), with the clip table and the branch
//! records its lineage carries.

use super::manifest::{Branch, Manifest, ManifestError};
use anyhow::{bail, Context};
use cvp::{BranchOption, ClipEntry, Clips, Record};
use media::EncodeConfig;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// The encoder's settings shared by every clip (the budget aside).
#[derive(Debug, Clone)]
pub struct Encoding {
    /// Forced width, height and frame rate; what is not forced is chosen on the longest clip.
    pub width: Option<u32>,
    /// Height.
    pub height: Option<u32>,
    /// Frame rate.
    pub fps: Option<u32>,
    /// libaom speed.
    pub cpu_used: u8,
    /// Opus kbit/s; `None`: no audio.
    pub audio_kbps: Option<f64>,
    /// At most this many seconds between keyframes within a clip.
    pub keyframe_seconds: f64,
}

/// What the inputs hold: each clip's seconds (in stream order) and whether it has sound.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Seconds of each clip.
    pub seconds: Vec<f64>,
    /// Whether each clip's input has audio.
    pub audio: Vec<bool>,
}

impl Timing {
    /// Every clip's seconds, all of them.
    pub fn total(&self) -> f64 {
        self.seconds.iter().sum()
    }

    /// Where each clip would start if each lasted its seconds exactly, in ms (for the clip
    /// table's size before anything is encoded).
    pub fn estimated_starts(&self) -> Vec<u64> {
        let mut at = 0.0;
        self.seconds
            .iter()
            .map(|s| {
                let start = (at * 1000.0) as u64;
                at += s;
                start
            })
            .collect()
    }
}

/// Probe each clip's input: its seconds from `from`, up to `duration`. An input shorter than
/// `from`, or without video, is an error at the clip's line.
pub fn timing(m: &Manifest) -> anyhow::Result<Timing> {
    let mut t = Timing {
        seconds: Vec::new(),
        audio: Vec::new(),
    };
    for c in &m.clips {
        let at = |message: String| ManifestError {
            file: m.path.clone(),
            line: c.line,
            message,
        };
        let p = media::probe(&c.input).map_err(|e| {
            at(format!(
                "clip \"{}\": {} is not a media file ffmpeg reads ({e})",
                c.name,
                c.input.display()
            ))
        })?;
        if p.video.is_none() {
            return Err(at(format!(
                "clip \"{}\": {} has no video",
                c.name,
                c.input.display()
            ))
            .into());
        }
        let left = p.duration - c.from;
        if left <= 0.05 {
            return Err(at(format!(
                "clip \"{}\" starts at {} s but {} lasts {:.2} s",
                c.name,
                c.from,
                c.input.display(),
                p.duration
            ))
            .into());
        }
        t.seconds.push(c.duration.map_or(left, |d| d.min(left)));
        t.audio.push(p.audio);
    }
    Ok(t)
}

/// One clip of the film, as encoded.
#[derive(Debug, Clone, Serialize)]
pub struct ClipOut {
    /// Its number in the stream (0: where playback starts).
    pub number: u32,
    /// Its name.
    pub name: String,
    /// Where it starts in the stream's timeline, ms.
    pub start_ms: u64,
    /// Seconds encoded.
    pub seconds: f64,
    /// Its share of the budget, bytes.
    pub target_bytes: u64,
    /// Its bytes as encoded alone (header included).
    pub bytes: u64,
    /// Encoder passes.
    pub attempts: u32,
}

/// One option of a branch point.
#[derive(Debug, Clone, Serialize)]
pub struct OptionOut {
    /// What the viewer sees (empty for a continuation).
    pub label: String,
    /// The clip it plays.
    pub next: String,
    /// That clip's number.
    pub next_segment: u32,
}

/// One branch point (a decision, or a continuation: one option, no timeout).
#[derive(Debug, Clone, Serialize)]
pub struct BranchOut {
    /// Its id.
    pub id: u32,
    /// The clip after which it comes.
    pub after: String,
    /// That clip's number.
    pub at_segment: u32,
    /// The question (empty for a continuation).
    pub prompt: String,
    /// Milliseconds to choose (0: a continuation).
    pub timeout_ms: u32,
    /// The option taken without a choice.
    pub default_option: u32,
    /// The options.
    pub options: Vec<OptionOut>,
}

/// The branch points as the report shows them.
pub fn branches_out(m: &Manifest) -> Vec<BranchOut> {
    m.branches
        .iter()
        .zip(1..)
        .map(|(b, id)| BranchOut {
            id,
            after: m.clips[b.after as usize].name.clone(),
            at_segment: b.after,
            prompt: b.prompt.clone(),
            timeout_ms: b.timeout_ms,
            default_option: b.default_option,
            options: b
                .options
                .iter()
                .map(|(n, l)| OptionOut {
                    label: l.clone(),
                    next: m.clips[*n as usize].name.clone(),
                    next_segment: *n,
                })
                .collect(),
        })
        .collect()
}

/// The `branch` records, ids from 1, in the order of their clips.
pub fn branch_records(branches: &[Branch]) -> Vec<Record> {
    branches
        .iter()
        .zip(1..)
        .map(|(b, id)| {
            Record::Branch(cvp::Branch {
                id,
                at_segment: b.after,
                timeout_ms: b.timeout_ms,
                default_option: b.default_option,
                prompt: b.prompt.clone(),
                options: b
                    .options
                    .iter()
                    .map(|(n, l)| BranchOption {
                        next_segment: *n,
                        label: l.clone(),
                    })
                    .collect(),
            })
        })
        .collect()
}

/// The clip table in as few `clips` records as fit units of `max_unit` bytes; `Err(k)`: clip
/// `k` alone does not fit.
pub fn clip_records(
    names: &[String],
    starts: &[u64],
    max_unit: usize,
) -> Result<Vec<Record>, usize> {
    let count = names.len() as u32;
    let record = |first: usize, end: usize| {
        Record::Clips(Clips {
            clip_count: count,
            first_clip: first as u32,
            clips: (first..end)
                .map(|k| ClipEntry {
                    start_ms: starts[k],
                    name: names[k].clone(),
                })
                .collect(),
        })
    };
    let mut out = Vec::new();
    let mut first = 0;
    while first < names.len() {
        let mut end = first + 1;
        if record(first, end).encode().len() > max_unit {
            return Err(first);
        }
        while end < names.len() && record(first, end + 1).encode().len() <= max_unit {
            end += 1;
        }
        out.push(record(first, end));
        first = end;
    }
    Ok(out)
}

/// The lineage records of `m` with clip starts `starts`, checked against `max_unit`: an error
/// names the line of the clip or decision that does not fit.
pub fn records(
    m: &Manifest,
    starts: &[u64],
    max_unit: usize,
    carrier: cvp::Carrier,
) -> Result<Vec<Record>, ManifestError> {
    let names: Vec<String> = m.clips.iter().map(|c| c.name.clone()).collect();
    let mut out = clip_records(&names, starts, max_unit).map_err(|k| ManifestError {
        file: m.path.clone(),
        line: m.clips[k].line,
        message: format!(
            "clip \"{}\": its entry in the clip table does not fit the {carrier} carrier's {max_unit} bytes: shorten its name, or use another carrier",
            m.clips[k].name
        ),
    })?;
    for (b, r) in m.branches.iter().zip(branch_records(&m.branches)) {
        let len = r.encode().len();
        if len > max_unit {
            return Err(ManifestError {
                file: m.path.clone(),
                line: b.line,
                message: format!(
                    "this branch point's record is {len} bytes but the {carrier} carrier holds {max_unit}: shorten its prompt and labels, or use another carrier"
                ),
            });
        }
        out.push(r);
    }
    Ok(out)
}

/// The film as encoded.
#[derive(Debug)]
pub struct Film {
    /// The joined CVPM stream.
    pub stream: Vec<u8>,
    /// Its clips.
    pub clips: Vec<ClipOut>,
    /// Its duration, ms.
    pub duration_ms: u64,
    /// The size and frame rate every clip has.
    pub shape: (u32, u32, u32),
    /// Wall-clock seconds of the cuts and encodes.
    pub encode_seconds: f64,
    /// The start clip's input as encoded (cut from its source, or the source itself): where a
    /// poster comes from. Lives as long as the film.
    pub start_input: PathBuf,
    /// The scratch folder holding the cut clips.
    _scratch: tempfile::TempDir,
}

/// Encode `m`'s clips (seconds in `t`) to `total_bytes` together and join them; `say` tells
/// what is being done.
pub fn encode(
    m: &Manifest,
    t: &Timing,
    total_bytes: u64,
    enc: &Encoding,
    say: &dyn Fn(String),
) -> anyhow::Result<Film> {
    let started = Instant::now();
    let with_audio = enc.audio_kbps.is_some() && t.audio.iter().any(|&a| a);
    if with_audio {
        if let Some(k) = t.audio.iter().position(|&a| !a) {
            bail!(
                "{}:{}: clip \"{}\" has no sound but others do: every clip of a film with sound needs it (or publish with --no-audio)",
                m.path.display(),
                m.clips[k].line,
                m.clips[k].name
            );
        }
    }
    let total = t.total();
    let shares: Vec<u64> = t
        .seconds
        .iter()
        .map(|s| (total_bytes as f64 * s / total) as u64)
        .collect();
    if let Some(k) = shares.iter().position(|&b| b < 200) {
        bail!(
            "clip \"{}\" would get {} bytes of the {total_bytes}-byte budget (its {:.2} s of {total:.2}): give a larger budget (at least 200 bytes a clip)",
            m.clips[k].name, shares[k], t.seconds[k]
        );
    }
    let dir = tempfile::tempdir().context("a scratch folder for the clips")?;
    // The longest clip first: the size and frame rate chosen for it (unless forced) hold for all.
    let mut order: Vec<usize> = (0..m.clips.len()).collect();
    order.sort_by(|&a, &b| t.seconds[b].total_cmp(&t.seconds[a]).then(a.cmp(&b)));
    let mut shape = None;
    let mut encoded: Vec<Option<(Vec<u8>, media::Report)>> = vec![None; m.clips.len()];
    let mut start_input = m.clips[0].input.clone();
    for &k in &order {
        let c = &m.clips[k];
        let input = if c.from == 0.0 && c.duration.is_none() {
            c.input.clone()
        } else {
            let cut = dir.path().join(format!("clip{k}.mkv"));
            media::interactive::cut(&c.input, c.from, Some(t.seconds[k]), &cut).with_context(
                || format!("cutting clip \"{}\" from {}", c.name, c.input.display()),
            )?;
            cut
        };
        if k == 0 {
            start_input = input.clone();
        }
        let (width, height, fps) = match shape {
            Some((w, h, f)) => (Some(w), Some(h), Some(f)),
            None => (enc.width, enc.height, enc.fps),
        };
        say(format!(
            "encoding clip {k} \"{}\" ({:.1} s) to {} bytes",
            c.name, t.seconds[k], shares[k]
        ));
        let cfg = EncodeConfig {
            stream_kbps: None,
            budget_bytes: Some(shares[k]),
            audio_kbps: if with_audio { enc.audio_kbps } else { None },
            width,
            height,
            fps,
            cpu_used: enc.cpu_used,
            max_seconds: Some(t.seconds[k]),
            keyframe_seconds: enc.keyframe_seconds,
            measure: false,
            ..EncodeConfig::default()
        };
        let (stream, report) = media::encode(&input, &cfg)
            .with_context(|| format!("encoding clip \"{}\" ({})", c.name, c.input.display()))?;
        shape.get_or_insert((report.width, report.height, report.fps));
        encoded[k] = Some((stream.encode(), report));
    }
    let encoded: Vec<(Vec<u8>, media::Report)> = encoded.into_iter().flatten().collect();
    let streams: Vec<Vec<u8>> = encoded.iter().map(|(s, _)| s.clone()).collect();
    let joined = media::interactive::join(&streams).context("joining the clips")?;
    let duration_ms = media::format::Stream::decode(&joined.stream)?.duration_ms()?;
    let clips = m
        .clips
        .iter()
        .zip(&encoded)
        .zip(&joined.starts_ms)
        .enumerate()
        .map(|(k, ((c, (bytes, r)), &start_ms))| ClipOut {
            number: k as u32,
            name: c.name.clone(),
            start_ms,
            seconds: r.seconds,
            target_bytes: shares[k],
            bytes: bytes.len() as u64,
            attempts: r.attempts,
        })
        .collect();
    Ok(Film {
        stream: joined.stream,
        clips,
        duration_ms,
        shape: shape.unwrap_or_default(),
        encode_seconds: started.elapsed().as_secs_f64(),
        start_input,
        _scratch: dir,
    })
}

/// Where `film`'s stream is kept: `DATADIR/interactive/<manifest stem>.cvpm`.
pub fn stream_path(datadir: &std::path::Path, m: &Manifest) -> PathBuf {
    let stem = m
        .path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("film");
    datadir.join("interactive").join(format!("{stem}.cvpm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clip_table_is_split_to_fit_the_unit() {
        let names: Vec<String> = (0..12).map(|k| format!("scene number {k}")).collect();
        let starts: Vec<u64> = (0..12).map(|k| k * 20_000).collect();
        let records = clip_records(&names, &starts, 80).unwrap();
        assert!(records.len() > 1, "{records:?}");
        let mut next = 0;
        for r in &records {
            let unit = r.encode();
            assert!(unit.len() <= 80, "{} bytes", unit.len());
            let Record::Clips(t) = Record::decode(&unit).unwrap() else {
                panic!("not a clip table: {r:?}")
            };
            assert_eq!((t.clip_count, t.first_clip), (12, next));
            for e in &t.clips {
                assert_eq!(e.name, names[next as usize]);
                assert_eq!(e.start_ms, starts[next as usize]);
                next += 1;
            }
        }
        assert_eq!(next, 12);
        // As many clips per record as fit: one unit holds them all when it is large enough.
        assert_eq!(clip_records(&names, &starts, 100_000).unwrap().len(), 1);
        let mut long = names.clone();
        long[5] = "x".repeat(80);
        assert_eq!(clip_records(&long, &starts, 80), Err(5));
    }
}
