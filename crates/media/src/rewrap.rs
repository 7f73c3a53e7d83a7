//! From a CVPM stream back to a file players read: WebM or MP4 (AV1 + Opus). WebM with Opus (or
//! no) audio is written in process by [`crate::webm`]; MP4, and WebM with codec 2 audio (which
//! browsers do not play, so it is transcoded to Opus on the way while the video is copied), by
//! writing IVF and Ogg and letting ffmpeg copy the packets into the container.

use crate::ffmpeg::{run_until, MediaError};
use crate::format::{Audio, AudioCodec, FormatError, Stream};
use crate::{ivf, ogg, opus, webm};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The container written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// WebM (Matroska): what the gateway serves to browsers.
    WebM,
    /// MP4 (ISO BMFF, AV1 and Opus sample entries).
    Mp4,
}

impl Container {
    /// MP4 for a `.mp4`, `.m4v` or `.mov` name, WebM otherwise.
    pub fn for_path(path: &Path) -> Container {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("mp4" | "m4v" | "mov") => Container::Mp4,
            _ => Container::WebM,
        }
    }
}

/// Write `stream` as a WebM file at `out` (written to a temporary name, then renamed, so a failed
/// rewrap never leaves a partial file that looks complete).
pub fn to_webm(stream: &Stream, out: &Path) -> Result<(), MediaError> {
    to_file(stream, out, Container::WebM)
}

/// Write `stream` in `container` at `out` (temporary name, then renamed).
pub fn to_file(stream: &Stream, out: &Path, container: Container) -> Result<(), MediaError> {
    to_file_until(stream, out, container, &AtomicBool::new(false))
}

/// [`to_file`], killing ffmpeg as soon as `cancel` is set ([`MediaError::Cancelled`]).
pub fn to_file_until(
    stream: &Stream,
    out: &Path,
    container: Container,
    cancel: &AtomicBool,
) -> Result<(), MediaError> {
    if container == Container::WebM && !webm::audio_left_out(stream) {
        // In process: no ffmpeg on the gateway's path.
        let bytes = webm::file(stream)?;
        if cancel.load(Ordering::Relaxed) {
            return Err(MediaError::Cancelled);
        }
        let part = out.with_extension("part");
        std::fs::write(&part, bytes)?;
        std::fs::rename(&part, out)?;
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let mut args: Vec<String> = vec!["-y".into(), "-v".into(), "error".into()];
    if stream.video.is_some() {
        let path = dir.path().join("v.ivf");
        std::fs::write(&path, ivf::of_stream(stream, ivf::Start::AsStream)?)?;
        args.extend(["-i".into(), path.display().to_string()]);
    }
    let mut transcode_audio = false;
    if let Some(a) = stream.audio {
        args.extend(audio_input(stream, a, dir.path())?);
        transcode_audio = a.codec != AudioCodec::Opus;
    }
    if stream.video.is_none() && stream.audio.is_none() {
        return Err(MediaError::Input(
            "the stream has neither video nor audio".into(),
        ));
    }
    let (name, format) = match container {
        Container::WebM => ("out.webm", "webm"),
        Container::Mp4 => ("out.mp4", "mp4"),
    };
    let tmp = dir.path().join(name);
    for i in 0..args.iter().filter(|a| *a == "-i").count() {
        args.extend(["-map".into(), i.to_string()]);
    }
    args.extend(["-c".into(), "copy".into()]);
    if transcode_audio {
        // Codec 2 decodes to 8 kHz speech; Opus at 12 kbit/s keeps all of it.
        args.extend(["-c:a", "libopus", "-b:a", "12k", "-application", "voip"].map(String::from));
    }
    args.extend(["-f".into(), format.into(), tmp.display().to_string()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    run_until("ffmpeg", &argv, cancel)?;
    let part = out.with_extension("part");
    std::fs::copy(&tmp, &part)?;
    std::fs::rename(&part, out)?;
    Ok(())
}

/// The audio written for ffmpeg to read: Opus packets in Ogg pages (granules from the checked
/// timestamp sums), codec2 frames as codec2raw. The input arguments for it.
fn audio_input(stream: &Stream, a: Audio, dir: &Path) -> Result<Vec<String>, MediaError> {
    match a.codec {
        AudioCodec::Opus => {
            let head = opus::opus_head(a.channels, a.pre_skip, a.sample_rate);
            let tags = opus::opus_tags();
            let mut pages: Vec<(&[u8], u64)> = vec![(&head, 0), (&tags, 0)];
            for (granule, p) in stream.times(true)? {
                // Ogg's granule position is signed, -1 meaning "no packet ends here".
                if i64::try_from(granule).is_err() {
                    let what = "an Ogg granule position passes i64::MAX";
                    return Err(FormatError::Overflow(what).into());
                }
                pages.push((&p.data, granule));
            }
            let path = dir.join("a.ogg");
            std::fs::write(&path, ogg::write(0x6269_7466, &pages))?;
            Ok(vec!["-i".into(), path.display().to_string()])
        }
        AudioCodec::Codec2_1200 => {
            // The packets are whole frames: concatenated they are a codec2raw file.
            let raw: Vec<u8> = stream
                .packets
                .iter()
                .filter(|p| p.audio)
                .flat_map(|p| p.data.iter().copied())
                .collect();
            let path = dir.join("a.c2");
            std::fs::write(&path, raw)?;
            let args = ["-f", "codec2raw", "-mode", "1200", "-i"].map(String::from);
            Ok(args
                .into_iter()
                .chain([path.display().to_string()])
                .collect())
        }
    }
}
