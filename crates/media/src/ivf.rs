//! IVF, the minimal container ffmpeg writes raw AV1 into: a 32-byte header, then per frame a
//! 12-byte header (size u32 LE, pts u64 LE) and the temporal unit.

use crate::ffmpeg::MediaError;
use crate::format::{FormatError, Stream};

/// An IVF file's frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ivf {
    /// Width.
    pub width: u16,
    /// Height.
    pub height: u16,
    /// Timebase numerator/denominator as the file states it (frame rate = den/num).
    pub timebase: (u32, u32),
    /// (pts, temporal unit).
    pub frames: Vec<(u64, Vec<u8>)>,
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parse an IVF file.
pub fn parse(b: &[u8]) -> Result<Ivf, FormatError> {
    if b.len() < 32 || &b[..4] != b"DKIF" {
        return Err(FormatError::BadMagic);
    }
    let header_len = usize::from(u16le(b, 6));
    if header_len < 32 || header_len > b.len() {
        return Err(FormatError::Truncated("ivf header"));
    }
    let (width, height) = (u16le(b, 12), u16le(b, 14));
    let timebase = (u32le(b, 20), u32le(b, 16));
    let mut at = header_len;
    let mut frames = Vec::new();
    while at < b.len() {
        if b.len() - at < 12 {
            return Err(FormatError::Truncated("ivf frame header"));
        }
        let size = u32le(b, at) as usize;
        let pts = u64::from_le_bytes(
            b[at + 4..at + 12]
                .try_into()
                .map_err(|_| FormatError::Truncated("pts"))?,
        );
        at += 12;
        if size > b.len() - at {
            return Err(FormatError::Truncated("ivf frame"));
        }
        frames.push((pts, b[at..at + size].to_vec()));
        at += size;
    }
    Ok(Ivf {
        width,
        height,
        timebase,
        frames,
    })
}

/// Write an IVF file for AV1 with frame rate `num/den`.
pub fn write(
    width: u16,
    height: u16,
    fps_num: u32,
    fps_den: u32,
    frames: &[(u64, &[u8])],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + frames.iter().map(|f| f.1.len() + 12).sum::<usize>());
    out.extend_from_slice(b"DKIF");
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&32u16.to_le_bytes());
    out.extend_from_slice(b"AV01");
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&fps_num.to_le_bytes()); // timebase denominator = rate
    out.extend_from_slice(&fps_den.to_le_bytes()); // timebase numerator = scale
    out.extend_from_slice(&(frames.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for (pts, data) in frames {
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&pts.to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

/// Where the IVF of a stream starts its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At the first frame's time in the stream (its first delta kept: a rewrap keeps any delay).
    AsStream,
    /// At zero (the first frame's time subtracted: a comparison lines up with the source).
    Zero,
}

/// The video of `stream` as an IVF file: each frame at the running sum of the deltas (checked,
/// since the deltas come from the chain), counted from `start`.
pub fn of_stream(stream: &Stream, start: Start) -> Result<Vec<u8>, MediaError> {
    let v = stream
        .video
        .ok_or_else(|| MediaError::Input("the stream has no video".into()))?;
    let times = stream.times(false)?;
    let first = match start {
        Start::AsStream => 0,
        Start::Zero => times.first().map_or(0, |f| f.0),
    };
    let frames: Vec<(u64, &[u8])> = times
        .into_iter()
        .map(|(t, p)| (t - first, p.data.as_slice()))
        .collect();
    let w = u16::try_from(v.width).map_err(|_| MediaError::Input("width too large".into()))?;
    let h = u16::try_from(v.height).map_err(|_| MediaError::Input("height too large".into()))?;
    Ok(write(w, h, v.fps_num, v.fps_den, &frames))
}
