//! EBML (RFC 8794), the writing half: element IDs as Matroska (RFC 9559) and WebM number them,
//! sizes as minimal variable-length integers, and the element types the muxer writes.

/// The element IDs written (with their marker bits, as they appear in the file).
pub(crate) mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const EBML_VERSION: u32 = 0x4286;
    pub const EBML_READ_VERSION: u32 = 0x42F7;
    pub const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
    pub const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
    pub const DOC_TYPE: u32 = 0x4282;
    pub const DOC_TYPE_VERSION: u32 = 0x4287;
    pub const DOC_TYPE_READ_VERSION: u32 = 0x4285;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const SEEK_HEAD: u32 = 0x114D_9B74;
    pub const SEEK: u32 = 0x4DBB;
    pub const SEEK_ID: u32 = 0x53AB;
    pub const SEEK_POSITION: u32 = 0x53AC;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMECODE_SCALE: u32 = 0x2A_D7B1;
    pub const DURATION: u32 = 0x4489;
    pub const MUXING_APP: u32 = 0x4D80;
    pub const WRITING_APP: u32 = 0x5741;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_UID: u32 = 0x73C5;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const FLAG_LACING: u32 = 0x9C;
    pub const DEFAULT_DURATION: u32 = 0x23_E383;
    pub const CODEC_ID: u32 = 0x86;
    pub const CODEC_PRIVATE: u32 = 0x63A2;
    pub const CODEC_DELAY: u32 = 0x56AA;
    pub const SEEK_PRE_ROLL: u32 = 0x56BB;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXEL_WIDTH: u32 = 0xB0;
    pub const PIXEL_HEIGHT: u32 = 0xBA;
    pub const AUDIO: u32 = 0xE1;
    pub const SAMPLING_FREQUENCY: u32 = 0xB5;
    pub const CHANNELS: u32 = 0x9F;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const TIMECODE: u32 = 0xE7;
    pub const SIMPLE_BLOCK: u32 = 0xA3;
    pub const CUES: u32 = 0x1C53_BB6B;
    pub const CUE_POINT: u32 = 0xBB;
    pub const CUE_TIME: u32 = 0xB3;
    pub const CUE_TRACK_POSITIONS: u32 = 0xB7;
    pub const CUE_TRACK: u32 = 0xF7;
    pub const CUE_CLUSTER_POSITION: u32 = 0xF1;
}

/// The size of an element still being written (a Segment streamed to a player): the reserved
/// all-ones value in 8 bytes.
pub(crate) const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// An element ID: its bytes, big-endian, without leading zero bytes (the marker bit is part of it).
pub(crate) fn write_id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = (id.leading_zeros() / 8) as usize;
    out.extend_from_slice(&bytes[skip.min(3)..]);
}

/// A size as the shortest variable-length integer that holds it: `len` bytes carry 7 × `len`
/// bits, the all-ones value of each length being reserved (unknown size). Sizes past 2^56 - 2
/// cannot occur (no buffer is that large).
pub(crate) fn write_size(out: &mut Vec<u8>, n: u64) {
    let len = (1..=8u32).find(|&l| n < (1u64 << (7 * l)) - 1).unwrap_or(8);
    let marked = n | (1u64 << (7 * len));
    out.extend_from_slice(&marked.to_be_bytes()[(8 - len) as usize..]);
}

/// The bytes [`write_size`] takes for `n`.
pub(crate) fn size_len(n: u64) -> usize {
    (1..=8u32).find(|&l| n < (1u64 << (7 * l)) - 1).unwrap_or(8) as usize
}

/// The header of an element whose body of `len` bytes follows.
pub(crate) fn header(out: &mut Vec<u8>, id: u32, len: usize) {
    write_id(out, id);
    write_size(out, len as u64);
}

/// An element with its body.
pub(crate) fn element(out: &mut Vec<u8>, id: u32, body: &[u8]) {
    header(out, id, body.len());
    out.extend_from_slice(body);
}

/// An unsigned integer element, in as few bytes as hold the value (at least one).
pub(crate) fn uint(out: &mut Vec<u8>, id: u32, v: u64) {
    let skip = ((v.leading_zeros() / 8) as usize).min(7);
    element(out, id, &v.to_be_bytes()[skip..]);
}

/// A float element (8 bytes).
pub(crate) fn float(out: &mut Vec<u8>, id: u32, v: f64) {
    element(out, id, &v.to_be_bytes());
}

/// A string element (ASCII or UTF-8).
pub(crate) fn string(out: &mut Vec<u8>, id: u32, s: &str) {
    element(out, id, s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(n: u64) -> Vec<u8> {
        let mut v = Vec::new();
        write_size(&mut v, n);
        assert_eq!(v.len(), size_len(n));
        v
    }

    #[test]
    fn sizes_are_minimal_and_avoid_the_reserved_value() {
        assert_eq!(size(0), [0x80]);
        assert_eq!(size(126), [0xFE]);
        // 127 in one byte would be 0xFF, "unknown": two bytes.
        assert_eq!(size(127), [0x40, 0x7F]);
        assert_eq!(size(200_000), [0x23, 0x0D, 0x40]);
        assert_eq!(
            size((1 << 56) - 2),
            [1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE]
        );
    }

    #[test]
    fn ids_and_uints() {
        let mut v = Vec::new();
        write_id(&mut v, id::SEGMENT);
        write_id(&mut v, id::TIMECODE);
        assert_eq!(v, [0x18, 0x53, 0x80, 0x67, 0xE7]);
        let mut v = Vec::new();
        uint(&mut v, id::TIMECODE, 0);
        uint(&mut v, id::TIMECODE, 0x1234);
        assert_eq!(v, [0xE7, 0x81, 0, 0xE7, 0x82, 0x12, 0x34]);
    }
}
