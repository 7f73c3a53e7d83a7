//! The `commitment` record (type 7, odd): a content whose bytes live off chain, on BitTorrent,
//! pinned on chain by their BitTorrent v2 pieces root (docs/cvp.md, "Commitments").

use crate::cursor::Cursor;
use crate::{varint, DecodeError, MAX_TOTAL_LENGTH};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Media type codes: the commitment's one-number media type (the 80-byte unit has no room for a
/// string). Unknown codes are read as `application/octet-stream`.
pub const MEDIA_CODES: &[(u32, &str)] = &[
    (0, "application/octet-stream"),
    (1, "video/x-cvpm"),
    (2, "video/webm"),
    (3, "video/mp4"),
    (4, "audio/ogg"),
    (5, "audio/mpeg"),
    (6, "image/webp"),
    (7, "image/png"),
    (8, "image/jpeg"),
    (9, "application/pdf"),
    (10, "text/plain; charset=utf-8"),
    (11, crate::bundle::BUNDLE_MEDIA_TYPE),
];

/// The media type a code stands for (`application/octet-stream` for codes not in the table).
pub fn media_type_of(code: u32) -> &'static str {
    MEDIA_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("application/octet-stream", |(_, t)| t)
}

/// The code of a media type, matched on its essence (before any `;`), if the table has it.
pub fn media_code_of(media_type: &str) -> Option<u32> {
    let essence = |t: &str| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let want = essence(media_type);
    MEDIA_CODES
        .iter()
        .find(|(_, t)| essence(t) == want)
        .map(|(c, _)| *c)
}

/// A content held by a BitTorrent swarm, pinned by the root of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// BEP 52's pieces root of the content's bytes (`pieces::pieces_root`).
    #[serde(with = "crate::serde_hex")]
    pub root: [u8; 32],
    /// The content's length in bytes, 1 to 2^40.
    pub length: u64,
    /// The media type's code (`MEDIA_CODES`).
    pub media_code: u32,
    /// The BitTorrent v1 infohash of the swarm that holds the bytes and their piece layer.
    #[serde(with = "crate::serde_hex")]
    pub infohash: [u8; 20],
    /// Where the publisher seeds, if the record says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<SocketAddr>,
}

impl Commitment {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.root);
        varint::write(out, self.length);
        varint::write(out, u64::from(self.media_code));
        out.extend_from_slice(&self.infohash);
        match self.seed {
            None => {}
            Some(SocketAddr::V4(a)) => {
                out.extend_from_slice(&a.ip().octets());
                out.extend_from_slice(&a.port().to_be_bytes());
            }
            Some(SocketAddr::V6(a)) => {
                out.extend_from_slice(&a.ip().octets());
                out.extend_from_slice(&a.port().to_be_bytes());
            }
        }
    }

    pub(crate) fn decode_body(c: &mut Cursor<'_>) -> Result<Commitment, DecodeError> {
        let root = c.array32("commitment root")?;
        let length = c.varint_in("commitment length", 1, MAX_TOTAL_LENGTH)?;
        let media_code = c.u32("commitment media code")?;
        let mut infohash = [0u8; 20];
        infohash.copy_from_slice(c.bytes(20, "commitment infohash")?);
        let rest = c.rest();
        let (ip, port): (IpAddr, &[u8]) = match rest.len() {
            0 => {
                return Ok(Commitment {
                    root,
                    length,
                    media_code,
                    infohash,
                    seed: None,
                })
            }
            6 => {
                let o: [u8; 4] = rest[..4].try_into().unwrap_or_default();
                (Ipv4Addr::from(o).into(), &rest[4..])
            }
            18 => {
                let o: [u8; 16] = rest[..16].try_into().unwrap_or_default();
                (Ipv6Addr::from(o).into(), &rest[16..])
            }
            n => {
                return Err(DecodeError::BadLength {
                    field: "commitment seed address",
                    len: n,
                    expected: 6,
                })
            }
        };
        let port = u16::from_be_bytes([port[0], port[1]]);
        if port == 0 {
            return Err(DecodeError::OutOfRange {
                field: "commitment seed port",
                value: 0,
                min: 1,
                max: 65_535,
            });
        }
        Ok(Commitment {
            root,
            length,
            media_code,
            infohash,
            seed: Some(SocketAddr::new(ip, port)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Record;

    fn sample(seed: Option<SocketAddr>, length: u64) -> Commitment {
        Commitment {
            root: [7; 32],
            length,
            media_code: 1,
            infohash: [9; 20],
            seed,
        }
    }

    #[test]
    fn round_trips_and_fits_80_bytes() {
        let v4: SocketAddr = "203.0.113.5:6881".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:6881".parse().unwrap();
        for (seed, length, size) in [
            (None, 1, 58),
            (Some(v4), MAX_TOTAL_LENGTH, 69),
            (Some(v6), (1 << 35) - 1, 80),
        ] {
            let r = Record::Commitment(sample(seed, length));
            let unit = r.encode();
            assert_eq!(unit.len(), size, "{r:?}");
            assert_eq!(Record::decode(&unit).unwrap(), r);
        }
    }

    #[test]
    fn refuses_bad_fields() {
        let unit = Record::Commitment(sample(None, 5)).encode();
        for (cut, what) in [(3, "root"), (40, "infohash")] {
            assert!(Record::decode(&unit[..unit.len() - cut]).is_err(), "{what}");
        }
        let mut bad = unit.clone();
        bad.extend_from_slice(&[1, 2, 3]);
        assert!(matches!(
            Record::decode(&bad),
            Err(DecodeError::BadLength { .. })
        ));
        let mut port0 = unit.clone();
        port0.extend_from_slice(&[127, 0, 0, 1, 0, 0]);
        assert!(matches!(
            Record::decode(&port0),
            Err(DecodeError::OutOfRange { .. })
        ));
        let zero_length = Record::Commitment(sample(None, 0)).encode();
        assert!(matches!(
            Record::decode(&zero_length),
            Err(DecodeError::OutOfRange { .. })
        ));
    }

    #[test]
    fn media_codes() {
        assert_eq!(
            media_code_of("video/x-cvpm; codecs=\"av01.0.00M.08,opus\""),
            Some(1)
        );
        assert_eq!(media_code_of("TEXT/PLAIN"), Some(10));
        assert_eq!(media_code_of("application/x-unknown"), None);
        assert_eq!(media_type_of(999), "application/octet-stream");
        assert_eq!(media_type_of(6), "image/webp");
    }
}
