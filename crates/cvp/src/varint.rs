//! Unsigned LEB128 varints with exactly one encoding per value (non-minimal forms are rejected).

use crate::DecodeError;

/// Append `v` as a minimal LEB128 varint.
pub fn write(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// How many bytes `v` takes as a varint (1 to 10).
pub fn len(v: u64) -> usize {
    let bits = 64 - v.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// Read a varint from the front of `buf`: the value and the bytes used.
pub fn read(buf: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut value: u64 = 0;
    for (i, &byte) in buf.iter().enumerate().take(10) {
        let chunk = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        if shift == 63 && chunk > 1 {
            return Err(DecodeError::VarintOverflow);
        }
        value |= chunk << shift;
        if byte & 0x80 == 0 {
            if i > 0 && byte == 0 {
                return Err(DecodeError::NonMinimalVarint);
            }
            return Ok((value, i + 1));
        }
    }
    if buf.len() >= 10 {
        Err(DecodeError::VarintOverflow)
    } else {
        Err(DecodeError::Truncated("varint"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encodings() {
        for (v, bytes) in [
            (0u64, &[0x00][..]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ] {
            let mut out = Vec::new();
            write(&mut out, v);
            assert_eq!(out, bytes, "encode {v}");
            assert_eq!(len(v), bytes.len());
            assert_eq!(read(bytes), Ok((v, bytes.len())), "decode {v}");
        }
    }

    #[test]
    fn rejects_bad_forms() {
        assert_eq!(read(&[0x80, 0x00]), Err(DecodeError::NonMinimalVarint));
        assert_eq!(read(&[0x80]), Err(DecodeError::Truncated("varint")));
        assert_eq!(read(&[]), Err(DecodeError::Truncated("varint")));
        assert_eq!(
            read(
                &[0xff; 9][..]
                    .iter()
                    .chain(&[0x02])
                    .copied()
                    .collect::<Vec<_>>()
            ),
            Err(DecodeError::VarintOverflow)
        );
        assert_eq!(read(&[0xff; 11]), Err(DecodeError::VarintOverflow));
    }
}
