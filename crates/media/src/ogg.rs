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

/// Write packets as Ogg pages, one packet per page: (packet, granule position, flags).
pub fn write(serial: u32, pages: &[(&[u8], u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (seq, (packet, granule)) in pages.iter().enumerate() {
        let mut lacing = vec![255u8; packet.len() / 255];
        lacing.push((packet.len() % 255) as u8);
        // A page holds at most 255 lacing values; Opus packets here are far smaller (< 64 KB).
        let flags = if seq == 0 {
            2
        } else if seq + 1 == pages.len() {
            4
        } else {
            0
        };
        let mut page = Vec::with_capacity(27 + lacing.len() + packet.len());
        page.extend_from_slice(b"OggS");
        page.push(0);
        page.push(flags);
        page.extend_from_slice(&granule.to_le_bytes());
        page.extend_from_slice(&serial.to_le_bytes());
        page.extend_from_slice(&(seq as u32).to_le_bytes());
        page.extend_from_slice(&0u32.to_le_bytes());
        page.push(lacing.len().min(255) as u8);
        page.extend_from_slice(&lacing[..lacing.len().min(255)]);
        page.extend_from_slice(packet);
        let c = crc(&page);
        page[22..26].copy_from_slice(&c.to_le_bytes());
        out.extend(page);
    }
    out
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
}
