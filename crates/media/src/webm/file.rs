//! A whole, seekable WebM file: a Segment of known size holding a SeekHead, Info with the
//! duration, Tracks, Cues (one cue point per fragment, at its first keyframe) and the Clusters.
//! The Cues come before the Clusters so that a player seeks without reading to the end; their
//! positions and the SeekHead's depend on each other's sizes, so both are laid out again until
//! no size changes (sizes only grow from one pass to the next, so this ends).

use super::cluster;
use super::ebml::{self, id};
use super::timeline::Timeline;
use super::tracks::Tracks;
use super::MuxError;
use crate::format::Stream;

/// Passes of the layout before giving up (two or three are needed in practice).
const MAX_PASSES: usize = 16;

/// The file.
pub(crate) fn write(stream: &Stream) -> Result<Vec<u8>, MuxError> {
    let timeline = Timeline::of(stream)?;
    let tracks = Tracks::of(stream)?;
    let mut clusters = Vec::new();
    let mut cues = Vec::new();
    for span in timeline.spans(true) {
        let mut built = cluster::build(stream, &tracks, &timeline, &span)?;
        if let Some((ms, track, at)) = built.cue {
            cues.push((ms, track, (clusters.len() + at) as u64));
        }
        clusters.append(&mut built.bytes);
    }
    let info = Tracks::info(Some(timeline.end_ms));
    let track_list = tracks.element();
    let (mut seek_len, mut cues_len) = (0usize, 0usize);
    for _ in 0..MAX_PASSES {
        let info_at = seek_len as u64;
        let tracks_at = info_at + info.len() as u64;
        let cues_at = tracks_at + track_list.len() as u64;
        let clusters_at = cues_at + cues_len as u64;
        let mut targets = vec![(id::INFO, info_at), (id::TRACKS, tracks_at)];
        if !cues.is_empty() {
            targets.push((id::CUES, cues_at));
        }
        let seek = seek_head(&targets);
        let cue_list = cue_element(&cues, clusters_at);
        if seek.len() == seek_len && cue_list.len() == cues_len {
            let body = seek.len() + info.len() + track_list.len() + cue_list.len() + clusters.len();
            let mut out = Vec::with_capacity(body + 64);
            Tracks::ebml_header(&mut out);
            ebml::header(&mut out, id::SEGMENT, body);
            for part in [seek, info, track_list, cue_list, clusters] {
                out.extend_from_slice(&part);
            }
            return Ok(out);
        }
        (seek_len, cues_len) = (seek.len(), cue_list.len());
    }
    Err(MuxError::Internal("the file's layout did not settle"))
}

/// A SeekHead pointing at each (element ID, position in the Segment's body).
fn seek_head(targets: &[(u32, u64)]) -> Vec<u8> {
    let mut body = Vec::new();
    for &(target, at) in targets {
        let mut idb = Vec::new();
        ebml::write_id(&mut idb, target);
        let mut seek = Vec::new();
        ebml::element(&mut seek, id::SEEK_ID, &idb);
        ebml::uint(&mut seek, id::SEEK_POSITION, at);
        ebml::element(&mut body, id::SEEK, &seek);
    }
    let mut out = Vec::new();
    ebml::element(&mut out, id::SEEK_HEAD, &body);
    out
}

/// Cues: (time, track, cluster offset among the clusters), the clusters starting at `base` in
/// the Segment's body. Nothing when there is no cue point (Cues must hold one).
fn cue_element(cues: &[(u64, u64, u64)], base: u64) -> Vec<u8> {
    if cues.is_empty() {
        return Vec::new();
    }
    let mut body = Vec::new();
    for &(ms, track, at) in cues {
        let mut pos = Vec::new();
        ebml::uint(&mut pos, id::CUE_TRACK, track);
        ebml::uint(&mut pos, id::CUE_CLUSTER_POSITION, base + at);
        let mut point = Vec::new();
        ebml::uint(&mut point, id::CUE_TIME, ms);
        ebml::element(&mut point, id::CUE_TRACK_POSITIONS, &pos);
        ebml::element(&mut body, id::CUE_POINT, &point);
    }
    let mut out = Vec::new();
    ebml::element(&mut out, id::CUES, &body);
    out
}
