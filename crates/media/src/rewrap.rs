//! From a CVPM stream back to a file players read: WebM (AV1 + Opus), by writing IVF and Ogg
//! and letting ffmpeg copy the packets into Matroska (no re-encoding).

use crate::ffmpeg::{run, MediaError};
use crate::format::Stream;
use crate::{ivf, ogg, opus};
use std::path::Path;

/// Write `stream` as a WebM file at `out` (written to a temporary name, then renamed, so a failed
/// rewrap never leaves a partial file that looks complete).
pub fn to_webm(stream: &Stream, out: &Path) -> Result<(), MediaError> {
    let dir = tempfile::tempdir()?;
    let mut args: Vec<String> = vec!["-y".into(), "-v".into(), "error".into()];
    if let Some(v) = stream.video {
        let mut pts = 0u64;
        let frames: Vec<(u64, &[u8])> = stream
            .packets
            .iter()
            .filter(|p| !p.audio)
            .map(|p| {
                pts += p.ts_delta;
                (pts, p.data.as_slice())
            })
            .collect();
        let w = u16::try_from(v.width).map_err(|_| MediaError::Input("width too large".into()))?;
        let h =
            u16::try_from(v.height).map_err(|_| MediaError::Input("height too large".into()))?;
        let path = dir.path().join("v.ivf");
        std::fs::write(&path, ivf::write(w, h, v.fps_num, v.fps_den, &frames))?;
        args.extend(["-i".into(), path.display().to_string()]);
    }
    if let Some(a) = stream.audio {
        let head = opus::opus_head(a.channels, a.pre_skip, a.sample_rate);
        let tags = opus::opus_tags();
        let mut pages: Vec<(&[u8], u64)> = vec![(&head, 0), (&tags, 0)];
        let mut granule = 0u64;
        for p in stream.packets.iter().filter(|p| p.audio) {
            granule += p.ts_delta;
            pages.push((&p.data, granule));
        }
        let path = dir.path().join("a.ogg");
        std::fs::write(&path, ogg::write(0x6269_7466, &pages))?;
        args.extend(["-i".into(), path.display().to_string()]);
    }
    if stream.video.is_none() && stream.audio.is_none() {
        return Err(MediaError::Input(
            "the stream has neither video nor audio".into(),
        ));
    }
    let tmp = dir.path().join("out.webm");
    args.extend([
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "webm".into(),
        tmp.display().to_string(),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    run("ffmpeg", &argv)?;
    let part = out.with_extension("part");
    std::fs::copy(&tmp, &part)?;
    std::fs::rename(&part, out)?;
    Ok(())
}
