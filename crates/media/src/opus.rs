//! Opus packet durations (RFC 6716, section 3.1), for timing without a container.

/// Samples at 48 kHz in one Opus packet; `None` for a malformed packet.
pub fn packet_samples(p: &[u8]) -> Option<u64> {
    let toc = *p.first()?;
    let config = toc >> 3;
    let frame: u64 = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u64::from(*p.get(1)? & 0x3f),
    };
    (frames > 0 && frame * frames <= 5760).then_some(frame * frames)
}

/// An OpusHead for `channels` and `pre_skip` (mapping family 0).
pub fn opus_head(channels: u8, pre_skip: u16, sample_rate: u32) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.push(1);
    h.push(channels);
    h.extend_from_slice(&pre_skip.to_le_bytes());
    h.extend_from_slice(&sample_rate.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes());
    h.push(0);
    h
}

/// A minimal OpusTags.
pub fn opus_tags() -> Vec<u8> {
    let mut t = b"OpusTags".to_vec();
    let vendor = b"bitflix";
    t.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    t.extend_from_slice(vendor);
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        // config 3 (SILK NB 60 ms), code 0: one 60 ms frame.
        assert_eq!(super::packet_samples(&[3 << 3]), Some(2880));
        // config 19 (CELT NB 20 ms), code 1: two equal frames.
        assert_eq!(super::packet_samples(&[(19 << 3) | 1]), Some(1920));
        assert_eq!(super::packet_samples(&[]), None);
        assert_eq!(
            super::packet_samples(&[3]),
            None,
            "code 3 without a count byte"
        );
    }
}
