//! Ogg Opus, as ffmpeg's libopus writes it and reads it back: just enough to take packets out
//! (with their granule positions) and to put them back in pages with valid CRCs.

use crate::format::FormatError;

/// A packet and the granule position of the page it ends, if it ends the page.
pub type OggPacket = (Vec<u8>, Option<u64>);

/// The packets of an Ogg Opus file, with the granule position of the page each packet ends on
/// (`None` when the page does not end with that packet).
pub fn packets(b: &[u8]) -> Result<Vec<OggPacket>, FormatError> {
    let mut out = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    let mut at = 0;
    while at < b.len() {
        if b.len() - at < 27 || &b[at..at + 4] != b"OggS" {
            return Err(FormatError::BadMagic);
        }
        let granule = u64::from_le_bytes(
            b[at + 6..at + 14]
                .try_into()
                .map_err(|_| FormatError::Truncated("granule"))?,
        );
        let nseg = usize::from(b[at + 26]);
        let table_end = at + 27 + nseg;
        if table_end > b.len() {
            return Err(FormatError::Truncated("ogg segment table"));
        }
        let lacing = &b[at + 27..table_end];
        let mut data_at = table_end;
        let mut ends = Vec::new();
        for &l in lacing {
            let l = usize::from(l);
            if data_at + l > b.len() {
                return Err(FormatError::Truncated("ogg page"));
            }
            partial.extend_from_slice(&b[data_at..data_at + l]);
            data_at += l;
            if l < 255 {
                ends.push(std::mem::take(&mut partial));
            }
        }
        let last = ends.len().saturating_sub(1);
        for (i, p) in ends.into_iter().enumerate() {
            out.push((p, (i == last && granule != u64::MAX).then_some(granule)));
        }
        at = data_at;
    }
    Ok(out)
}

fn crc(data: &[u8]) -> u32 {
    let mut c: u32 = 0;
    for &byte in data {
        c ^= u32::from(byte) << 24;
        for _ in 0..8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04c1_1db7
            } else {
                c << 1
            };
        }
    }
    c
}

/// Lacing values one page holds (its segment count is a byte).
const MAX_SEGMENTS: usize = 255;
/// Header type flags (RFC 3533, section 6).
const CONTINUED: u8 = 1;
const FIRST_PAGE: u8 = 2;
const LAST_PAGE: u8 = 4;
/// The granule position of a page on which no packet ends (-1 as the signed field it is).
pub const NO_GRANULE: u64 = u64::MAX;

/// Write packets as Ogg pages: (packet, granule position, at most `i64::MAX`). Each packet starts
/// a page. A packet of N bytes takes N/255 + 1 lacing values; one that needs more than a page
/// holds (255 values: 65,025 bytes or more) continues on the next pages (RFC 3533), which carry
/// the continued-packet flag; every page but the one the packet ends on has granule -1.
pub fn write(serial: u32, packets: &[(&[u8], u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(packets.iter().map(|p| p.0.len() + 28).sum());
    let mut seq = 0u32;
    for (i, &(packet, granule)) in packets.iter().enumerate() {
        let mut lacing = vec![255u8; packet.len() / 255];
        lacing.push((packet.len() % 255) as u8);
        let pages = lacing.len().div_ceil(MAX_SEGMENTS);
        let mut rest = packet;
        for (j, segments) in lacing.chunks(MAX_SEGMENTS).enumerate() {
            let ends = j + 1 == pages;
            let len = segments.iter().map(|&l| usize::from(l)).sum::<usize>();
            let (body, tail) = rest.split_at(len.min(rest.len()));
            rest = tail;
            let mut flags = 0;
            if j > 0 {
                flags |= CONTINUED;
            }
            if seq == 0 {
                flags |= FIRST_PAGE;
            }
            if ends && i + 1 == packets.len() {
                flags |= LAST_PAGE;
            }
            let granule = if ends { granule } else { NO_GRANULE };
            page(&mut out, (serial, seq, flags, granule), segments, body);
            seq = seq.wrapping_add(1);
        }
    }
    out
}

/// One page: header (stream serial, page sequence, flags, granule), lacing values, body; CRC set.
fn page(
    out: &mut Vec<u8>,
    (serial, seq, flags, granule): (u32, u32, u8, u64),
    lacing: &[u8],
    body: &[u8],
) {
    let start = out.len();
    out.extend_from_slice(b"OggS");
    out.push(0);
    out.push(flags);
    out.extend_from_slice(&granule.to_le_bytes());
    out.extend_from_slice(&serial.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(lacing.len() as u8);
    out.extend_from_slice(lacing);
    out.extend_from_slice(body);
    let c = crc(&out[start..]);
    out[start + 22..start + 26].copy_from_slice(&c.to_le_bytes());
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc_matches_the_ogg_reference() {
        // CRC-32/MPEG-2 without final xor and initial 0 (Ogg's): check value of "123456789".
        assert_eq!(super::crc(b"123456789"), 0x89a1_897f);
    }

    #[test]
    fn write_then_read() {
        let pages: Vec<(&[u8], u64)> =
            vec![(b"OpusHead-ish", 0), (&[7u8; 600], 2880), (b"x", 5760)];
        let bytes = super::write(1, &pages);
        let back = super::packets(&bytes).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[1].0, vec![7u8; 600]);
        assert_eq!(back[2].1, Some(5760));
    }

    /// The page boundaries: (flags, granule, segment count) of each page.
    fn pages(mut b: &[u8]) -> Vec<(u8, u64, usize)> {
        let mut out = Vec::new();
        while b.len() >= 27 {
            let n = usize::from(b[26]);
            let body: usize = b[27..27 + n].iter().map(|&l| usize::from(l)).sum();
            let granule = u64::from_le_bytes(b[6..14].try_into().unwrap_or_default());
            out.push((b[5], granule, n));
            b = &b[27 + n + body..];
        }
        out
    }

    #[test]
    fn packets_past_one_page_continue() {
        let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let exact = vec![9u8; 65_025];
        let fits = vec![3u8; 65_024];
        let list: Vec<(&[u8], u64)> =
            vec![(b"head", 0), (&big, 960), (&exact, 1920), (&fits, 2880)];
        let bytes = super::write(7, &list);
        let back = super::packets(&bytes).unwrap();
        let want: Vec<(Vec<u8>, Option<u64>)> =
            list.iter().map(|(p, g)| (p.to_vec(), Some(*g))).collect();
        assert_eq!(back, want);
        // 70,000 bytes: 275 lacing values, 255 then 20. 65,025: 256 values, 255 then one 0.
        // 65,024: 255 values, one page.
        assert_eq!(
            pages(&bytes),
            [
                (2, 0, 1),
                (0, u64::MAX, 255),
                (1, 960, 20),
                (0, u64::MAX, 255),
                (1, 1920, 1),
                (4, 2880, 255),
            ]
        );
    }
}
