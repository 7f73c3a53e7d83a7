//! A fragment's bytes: its packets in time order (video first at equal times) as SimpleBlocks in
//! Clusters of known size. A block's timecode is an i16 relative to its cluster's, so a new
//! cluster starts whenever a block would be more than 32,767 ms past its cluster's start.

use super::av1;
use super::ebml::{self, id};
use super::timeline::{Item, Span, Timeline};
use super::tracks::Tracks;
use super::MuxError;
use crate::format::Stream;
use std::borrow::Cow;

/// SimpleBlock flag: the block is a random access point.
const KEYFRAME: u8 = 0x80;

/// A fragment's Clusters, and where its cue point is: (time, track, byte offset of the cluster
/// that holds the fragment's first keyframe).
#[derive(Debug)]
pub(crate) struct Built {
    pub bytes: Vec<u8>,
    pub cue: Option<(u64, u64, usize)>,
}

struct Block<'a> {
    track: u64,
    rel: i16,
    keyframe: bool,
    payload: Cow<'a, [u8]>,
}

/// The clusters of `span`.
pub(crate) fn build(
    stream: &Stream,
    tracks: &Tracks,
    timeline: &Timeline,
    span: &Span,
) -> Result<Built, MuxError> {
    let video = timeline.video.get(span.video.clone()).unwrap_or(&[]);
    let audio = timeline.audio.get(span.audio.clone()).unwrap_or(&[]);
    let (mut vi, mut ai) = (video.iter().peekable(), audio.iter().peekable());
    let mut out = Built {
        bytes: Vec::new(),
        cue: None,
    };
    let mut cluster: Option<(u64, Vec<Block<'_>>)> = None;
    loop {
        let is_video = match (vi.peek(), ai.peek()) {
            (Some(v), Some(a)) => v.ms <= a.ms,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next: Option<&Item> = if is_video { vi.next() } else { ai.next() };
        let Some(item) = next else { break };
        let packet = stream
            .packets
            .get(item.index)
            .ok_or(MuxError::Internal("a timeline item past the packets"))?;
        let (track, payload) = if is_video {
            (
                1,
                Cow::Owned(video_payload(
                    tracks,
                    item.index,
                    &packet.data,
                    item.keyframe,
                )?),
            )
        } else {
            (tracks.audio_track(), Cow::Borrowed(packet.data.as_slice()))
        };
        let rel = match &cluster {
            Some((start, _)) => item
                .ms
                .checked_sub(*start)
                .and_then(|d| i16::try_from(d).ok()),
            None => None,
        };
        let rel = match rel {
            Some(r) => r,
            None => {
                if let Some((start, blocks)) = cluster.take() {
                    write_cluster(&mut out.bytes, start, &blocks);
                }
                cluster = Some((item.ms, Vec::new()));
                0
            }
        };
        if out.cue.is_none() && item.keyframe && (is_video || !timeline.has_video) {
            out.cue = Some((item.ms, track, out.bytes.len()));
        }
        if let Some((_, blocks)) = cluster.as_mut() {
            blocks.push(Block {
                track,
                rel,
                keyframe: item.keyframe,
                payload,
            });
        }
    }
    if let Some((start, blocks)) = cluster {
        write_cluster(&mut out.bytes, start, &blocks);
    }
    Ok(out)
}

/// A video packet as a block holds it; a keyframe's sequence header must be the track's.
fn video_payload(
    tracks: &Tracks,
    index: usize,
    tu: &[u8],
    keyframe: bool,
) -> Result<Vec<u8>, MuxError> {
    let obu = |what| MuxError::Obu {
        packet: index,
        what,
    };
    if keyframe {
        let seq = av1::sequence_header_payload(tu).map_err(obu)?;
        let first = tracks.video.as_ref().map(|s| s.payload.as_slice());
        if seq.is_some() && seq != first {
            return Err(MuxError::SequenceHeaderChanged(index));
        }
    }
    av1::block_payload(tu).map_err(obu)
}

/// One Cluster: its timecode, then the blocks (track, relative time, flags, payload).
fn write_cluster(out: &mut Vec<u8>, start: u64, blocks: &[Block<'_>]) {
    let mut timecode = Vec::with_capacity(10);
    ebml::uint(&mut timecode, id::TIMECODE, start);
    let block_len = |b: &Block<'_>| ebml::size_len(b.track) + 3 + b.payload.len();
    let body: usize = timecode.len()
        + blocks
            .iter()
            .map(|b| {
                let n = block_len(b);
                1 + ebml::size_len(n as u64) + n
            })
            .sum::<usize>();
    out.reserve(body + 12);
    ebml::header(out, id::CLUSTER, body);
    out.extend_from_slice(&timecode);
    for b in blocks {
        ebml::header(out, id::SIMPLE_BLOCK, block_len(b));
        ebml::write_size(out, b.track);
        out.extend_from_slice(&b.rel.to_be_bytes());
        out.push(if b.keyframe { KEYFRAME } else { 0 });
        out.extend_from_slice(&b.payload);
    }
}
