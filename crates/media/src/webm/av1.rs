//! AV1 in WebM: the OBUs of a temporal unit walked defensively (hostile input: every length is
//! checked, every error names its flaw), the sequence header parsed for `av1C` (the Matroska
//! CodecPrivate: four bytes from the sequence header, then the sequence header OBU itself) and
//! for the codec string (`av01.P.LLT.DD`), and block payloads without the temporal delimiter
//! and padding OBUs, which the Matroska AV1 mapping leaves out.

/// OBU types (AV1 specification, section 6.2.2).
const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_TEMPORAL_DELIMITER: u8 = 2;
const OBU_PADDING: u8 = 15;

/// One OBU of a temporal unit: its type, the whole OBU (header and payload) and the payload.
pub(crate) struct Obu<'a> {
    pub kind: u8,
    pub whole: &'a [u8],
    pub payload: &'a [u8],
}

/// The OBUs of `tu` in order; an error names the first flaw.
pub(crate) fn obus(tu: &[u8]) -> Result<Vec<Obu<'_>>, &'static str> {
    let mut out = Vec::new();
    let mut rest = tu;
    while let Some(&h) = rest.first() {
        if h & 0x80 != 0 {
            return Err("an OBU header has its forbidden bit set");
        }
        let kind = (h >> 3) & 0xF;
        let mut at = 1;
        if h & 0x04 != 0 {
            if rest.len() < 2 {
                return Err("an OBU extension header runs past the end");
            }
            at = 2;
        }
        let len = if h & 0x02 != 0 {
            let (v, used) = leb128(&rest[at..])?;
            at += used;
            usize::try_from(v).map_err(|_| "an OBU size does not fit in memory")?
        } else {
            // Without a size field the OBU fills the rest of the temporal unit.
            rest.len() - at
        };
        if len > rest.len() - at {
            return Err("an OBU runs past the end of its temporal unit");
        }
        let (whole, tail) = rest.split_at(at + len);
        out.push(Obu {
            kind,
            whole,
            payload: &whole[at..],
        });
        rest = tail;
    }
    Ok(out)
}

/// AV1's leb128 (section 4.10.5): at most 8 bytes, value below 2^32. Not `cvp::varint::read`:
/// AV1 allows padded (non-minimal) encodings, which encoders write, and CVPM refuses.
fn leb128(b: &[u8]) -> Result<(u64, usize), &'static str> {
    let mut v = 0u64;
    for i in 0..8 {
        let byte = *b.get(i).ok_or("an OBU size runs past the end")?;
        v |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return if v > u64::from(u32::MAX) {
                Err("an OBU size passes 2^32 - 1")
            } else {
                Ok((v, i + 1))
            };
        }
    }
    Err("an OBU size is longer than 8 bytes")
}

/// A temporal unit as a Matroska block holds it: every OBU but temporal delimiters and padding.
pub(crate) fn block_payload(tu: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(tu.len());
    for o in obus(tu)? {
        if o.kind != OBU_TEMPORAL_DELIMITER && o.kind != OBU_PADDING {
            out.extend_from_slice(o.whole);
        }
    }
    if out.is_empty() {
        return Err("a temporal unit holds no OBU but delimiters and padding");
    }
    Ok(out)
}

/// The sequence header OBU's payload in `tu`, if it has one.
pub(crate) fn sequence_header_payload(tu: &[u8]) -> Result<Option<&[u8]>, &'static str> {
    Ok(obus(tu)?
        .into_iter()
        .find(|o| o.kind == OBU_SEQUENCE_HEADER)
        .map(|o| o.payload))
}

/// What WebM needs from a sequence header (section 5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SequenceHeader {
    pub profile: u8,
    pub level: u8,
    pub tier: u8,
    pub bit_depth: u8,
    pub monochrome: bool,
    pub subsampling: (u8, u8),
    pub chroma_sample_position: u8,
    pub max_width: u32,
    pub max_height: u32,
    /// The payload it was parsed from.
    pub payload: Vec<u8>,
}

/// From color_config(): bit depth, monochrome, (subsampling x, y), chroma sample position.
type Color = (u8, bool, (u8, u8), u8);

/// A big-endian bit reader that fails, never panics, past the end.
struct Bits<'a> {
    b: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn f(&mut self, n: u32) -> Result<u32, &'static str> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self
                .b
                .get(self.at / 8)
                .ok_or("the sequence header is cut short")?;
            v = (v << 1) | u32::from((byte >> (7 - self.at % 8)) & 1);
            self.at += 1;
        }
        Ok(v)
    }
    fn flag(&mut self) -> Result<bool, &'static str> {
        Ok(self.f(1)? == 1)
    }
    /// uvlc() (section 4.10.3): only skipped here.
    fn skip_uvlc(&mut self) -> Result<(), &'static str> {
        let mut zeros = 0;
        while !self.flag()? {
            zeros += 1;
            if zeros >= 32 {
                return Ok(());
            }
        }
        self.f(zeros).map(|_| ())
    }
}

impl SequenceHeader {
    /// Parse a sequence header OBU's payload far enough for av1C and the frame size.
    pub(crate) fn parse(payload: &[u8]) -> Result<SequenceHeader, &'static str> {
        let mut r = Bits { b: payload, at: 0 };
        let profile = r.f(3)? as u8;
        if profile > 2 {
            return Err("the sequence profile is reserved (above 2)");
        }
        let _still_picture = r.flag()?;
        let reduced = r.flag()?;
        let (level, tier);
        let mut decoder_model_info = false;
        if reduced {
            level = r.f(5)? as u8;
            tier = 0;
        } else {
            let mut buffer_delay_len = 0;
            if r.flag()? {
                // timing_info()
                r.f(32)?;
                r.f(32)?;
                if r.flag()? {
                    r.skip_uvlc()?;
                }
                decoder_model_info = r.flag()?;
                if decoder_model_info {
                    buffer_delay_len = r.f(5)? + 1;
                    r.f(32)?;
                    r.f(5)?;
                    r.f(5)?;
                }
            }
            let initial_display_delay = r.flag()?;
            let points = r.f(5)? + 1;
            let (mut first_level, mut first_tier) = (0, 0);
            for i in 0..points {
                r.f(12)?;
                let l = r.f(5)? as u8;
                let t = if l > 7 { r.f(1)? as u8 } else { 0 };
                if i == 0 {
                    (first_level, first_tier) = (l, t);
                }
                if decoder_model_info && r.flag()? {
                    r.f(buffer_delay_len)?;
                    r.f(buffer_delay_len)?;
                    r.f(1)?;
                }
                if initial_display_delay && r.flag()? {
                    r.f(4)?;
                }
            }
            (level, tier) = (first_level, first_tier);
        }
        let width_bits = r.f(4)? + 1;
        let height_bits = r.f(4)? + 1;
        let max_width = r.f(width_bits)? + 1;
        let max_height = r.f(height_bits)? + 1;
        Self::skip_tools(&mut r, reduced)?;
        let (bit_depth, monochrome, subsampling, chroma_sample_position) =
            Self::color_config(&mut r, profile)?;
        Ok(SequenceHeader {
            profile,
            level,
            tier,
            bit_depth,
            monochrome,
            subsampling,
            chroma_sample_position,
            max_width,
            max_height,
            payload: payload.to_vec(),
        })
    }

    /// From frame_id_numbers_present_flag to enable_restoration: read past, none is needed.
    fn skip_tools(r: &mut Bits<'_>, reduced: bool) -> Result<(), &'static str> {
        if !reduced && r.flag()? {
            r.f(4)?;
            r.f(3)?;
        }
        r.f(3)?; // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
        if !reduced {
            r.f(4)?; // interintra compound, masked compound, warped motion, dual filter
            let order_hint = r.flag()?;
            if order_hint {
                r.f(2)?; // jnt_comp, ref_frame_mvs
            }
            let force_screen_content_tools = if r.flag()? { 2 } else { r.f(1)? };
            if force_screen_content_tools > 0 && !r.flag()? {
                r.f(1)?; // seq_force_integer_mv
            }
            if order_hint {
                r.f(3)?;
            }
        }
        r.f(3)?; // enable_superres, enable_cdef, enable_restoration
        Ok(())
    }

    /// color_config() (section 5.5.2): bit depth, monochrome, subsampling, chroma position.
    fn color_config(r: &mut Bits<'_>, profile: u8) -> Result<Color, &'static str> {
        let high = r.flag()?;
        let bit_depth = match (profile, high) {
            (2, true) => {
                if r.flag()? {
                    12
                } else {
                    10
                }
            }
            (_, true) => 10,
            (_, false) => 8,
        };
        let mono = profile != 1 && r.flag()?;
        let (mut primaries, mut transfer, mut matrix) = (2, 2, 2);
        if r.flag()? {
            primaries = r.f(8)?;
            transfer = r.f(8)?;
            matrix = r.f(8)?;
        }
        if mono {
            r.f(1)?; // color_range
            return Ok((bit_depth, true, (1, 1), 0));
        }
        let subsampling = if primaries == 1 && transfer == 13 && matrix == 0 {
            (0, 0) // sRGB: 4:4:4, full range
        } else {
            r.f(1)?; // color_range
            match profile {
                0 => (1, 1),
                1 => (0, 0),
                _ if bit_depth == 12 => {
                    let x = r.f(1)? as u8;
                    let y = if x == 1 { r.f(1)? as u8 } else { 0 };
                    (x, y)
                }
                _ => (1, 0),
            }
        };
        let csp = if subsampling == (1, 1) {
            r.f(2)? as u8
        } else {
            0
        };
        Ok((bit_depth, false, subsampling, csp))
    }

    /// The AV1CodecConfigurationRecord (av1C): marker and version, profile and level, tier,
    /// depth, monochrome, subsampling and chroma position, no initial presentation delay; then
    /// the sequence header OBU with its size field.
    pub(crate) fn av1c(&self) -> Vec<u8> {
        let b = |v: bool| u8::from(v);
        let mut out = vec![
            0x81,
            (self.profile << 5) | (self.level & 0x1F),
            (self.tier << 7)
                | (b(self.bit_depth > 8) << 6)
                | (b(self.bit_depth == 12) << 5)
                | (b(self.monochrome) << 4)
                | (self.subsampling.0 << 3)
                | (self.subsampling.1 << 2)
                | (self.chroma_sample_position & 3),
            0,
        ];
        out.push((OBU_SEQUENCE_HEADER << 3) | 0x02);
        // Minimal LEB128, as AV1 writes sizes: the workspace's one varint.
        cvp::varint::write(&mut out, self.payload.len() as u64);
        out.extend_from_slice(&self.payload);
        out
    }

    /// The codec string of the AV1 codec ISO media file format binding: `av01.P.LLT.DD`.
    pub(crate) fn codec_string(&self) -> String {
        let tier = if self.tier == 1 { 'H' } else { 'M' };
        format!(
            "av01.{}.{:02}{tier}.{:02}",
            self.profile, self.level, self.bit_depth
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libaom's sequence header for 320x180 8-bit 4:2:0, profile 0, level 0 (2.0), main tier
    /// (the payload of the first OBU of the bundled clip's stream).
    pub(crate) const SEQ_320X180: [u8; 11] = [
        0x00, 0x00, 0x00, 0x04, 0x3C, 0xFE, 0xCC, 0xDA, 0xF9, 0x00, 0x40,
    ];

    #[test]
    fn a_libaom_sequence_header() {
        let s = SequenceHeader::parse(&SEQ_320X180).unwrap();
        assert_eq!((s.profile, s.level, s.tier, s.bit_depth), (0, 0, 0, 8));
        assert_eq!((s.max_width, s.max_height), (320, 180));
        assert_eq!(s.codec_string(), "av01.0.00M.08");
        let c = s.av1c();
        assert_eq!(&c[..6], &[0x81, 0x00, 0x0C, 0x00, 0x0A, 0x0B]);
        assert_eq!(&c[6..], &SEQ_320X180);
    }

    #[test]
    fn hostile_obus_are_errors() {
        assert!(obus(&[0x80]).is_err(), "forbidden bit");
        assert!(obus(&[0x12, 0x05, 0]).is_err(), "size past the end");
        assert!(obus(&[0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(obus(&[0x16]).is_err(), "extension byte missing");
        assert!(block_payload(&[0x12, 0x00]).is_err(), "only a delimiter");
        assert_eq!(
            block_payload(&[0x12, 0x00, 0x32, 0x01, 7]).unwrap(),
            [0x32, 0x01, 7]
        );
        // An OBU without a size field fills the rest.
        assert_eq!(
            obus(&[0x12, 0x00, 0x30, 1, 2, 3]).unwrap()[1].payload,
            [1, 2, 3]
        );
        for cut in 0..SEQ_320X180.len() - 2 {
            assert!(
                SequenceHeader::parse(&SEQ_320X180[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        assert!(SequenceHeader::parse(&[0xE0; 12]).is_err(), "profile 7");
    }
}
