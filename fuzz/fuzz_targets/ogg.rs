//! The Ogg writer: random packets (up to ~200 KB each, so that packets span pages, with sizes
//! drawn near the 65,025-byte page boundary) are written by `media::ogg::write` and read back by
//! the strict page reader below, written from RFC 3533 independently of media's: capture pattern,
//! version, serial, page sequence, CRC, the first/last page flags, the continued-packet flag
//! exactly on pages that continue a packet, and granule -1 exactly on pages where no packet ends.
//! The packets and their granule positions must come back identical, through media's reader too.
//!
//! Input: 4 bytes of stream serial, then 4 bytes per packet: size (two bytes and a mode byte) and
//! a seed for its contents and granule step.
#![no_main]
use libfuzzer_sys::fuzz_target;

/// Bytes of packet data one input may ask for in all (keeps each run fast).
const MAX_TOTAL: usize = 2 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((serial, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let serial = u32::from_le_bytes(*serial);
    let packets = packets(rest);
    let list: Vec<(&[u8], u64)> = packets.iter().map(|(p, g)| (p.as_slice(), *g)).collect();
    let bytes = media::ogg::write(serial, &list);
    assert_eq!(read(&bytes, serial), packets, "the independent reader");
    let theirs = media::ogg::packets(&bytes).expect("media's reader");
    let want: Vec<(Vec<u8>, Option<u64>)> = packets.into_iter().map(|(p, g)| (p, Some(g))).collect();
    assert_eq!(theirs, want, "media's reader");
});

/// The packets an input describes, with granule positions within `0..=i64::MAX`.
fn packets(spec: &[u8]) -> Vec<(Vec<u8>, u64)> {
    let mut out = Vec::new();
    let (mut total, mut granule) = (0usize, 0u64);
    for c in spec.chunks_exact(4) {
        let wide = usize::from(u16::from_le_bytes([c[0], c[1]]));
        let size = match c[2] % 4 {
            0 => wide,
            1 => wide * 3,
            // Near a whole number of full pages: 65,025 bytes each, give or take 128.
            2 => (65_025 * usize::from(c[0] % 4)).saturating_add_signed(isize::from(c[1] as i8)),
            _ => usize::from(c[0]),
        };
        total += size;
        if total > MAX_TOTAL {
            break;
        }
        let mut x = u32::from(c[3]) | 1;
        let data = (0..size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        granule = if c[2] & 0x80 != 0 {
            i64::MAX as u64 - u64::from(c[3])
        } else {
            (granule + u64::from(c[3]) * 960).min(i64::MAX as u64)
        };
        out.push((data, granule));
    }
    out
}

/// The Ogg CRC (polynomial 0x04c11db7, no reflection, initial value and final xor 0), by table.
fn crc(data: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|i| {
            (0..8).fold(i << 24, |r, _| {
                if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                }
            })
        })
        .collect();
    data.iter().fold(0u32, |c, &b| {
        (c << 8) ^ table[usize::from(((c >> 24) as u8) ^ b)]
    })
}

/// Every page, checked, and the packets with the granule of the page each ends (each packet ends
/// a page of its own: the writer starts every packet on a new page).
fn read(mut b: &[u8], serial: u32) -> Vec<(Vec<u8>, u64)> {
    let mut out = Vec::new();
    let mut partial: Option<Vec<u8>> = None;
    let mut seq = 0u32;
    while !b.is_empty() {
        assert!(b.len() >= 27, "a page header is 27 bytes");
        assert_eq!(&b[..4], b"OggS", "capture pattern");
        assert_eq!(b[4], 0, "version");
        let flags = b[5];
        assert_eq!(flags & !7, 0, "unknown flags");
        let granule = u64::from_le_bytes(b[6..14].try_into().unwrap());
        assert_eq!(u32::from_le_bytes(b[14..18].try_into().unwrap()), serial);
        assert_eq!(u32::from_le_bytes(b[18..22].try_into().unwrap()), seq, "page sequence");
        let stored = u32::from_le_bytes(b[22..26].try_into().unwrap());
        let n = usize::from(b[26]);
        let lacing = &b[27..27 + n];
        let len = 27 + n + lacing.iter().map(|&l| usize::from(l)).sum::<usize>();
        assert!(b.len() >= len, "the page's body is there");
        let mut zeroed = b[..len].to_vec();
        zeroed[22..26].fill(0);
        assert_eq!(crc(&zeroed), stored, "page crc");
        assert_eq!(flags & 1 != 0, partial.is_some(), "continued flag iff a packet continues");
        assert_eq!(flags & 2 != 0, seq == 0, "first-page flag on the first page only");
        assert_eq!(flags & 4 != 0, b.len() == len, "last-page flag on the last page only");
        let mut body = &b[27 + n..len];
        let mut ended = 0;
        for &l in lacing {
            let (seg, tail) = body.split_at(usize::from(l));
            body = tail;
            partial.get_or_insert_with(Vec::new).extend_from_slice(seg);
            if l < 255 {
                out.push((partial.take().unwrap_or_default(), granule));
                ended += 1;
            }
        }
        assert!(ended <= 1, "one packet per page");
        assert_eq!(granule == u64::MAX, ended == 0, "granule -1 iff no packet ends");
        b = &b[len..];
        seq += 1;
    }
    assert!(partial.is_none(), "the last packet ends");
    out
}
