//! `lavfi:clock`: the test pattern with the wall clock burned into every frame, so that whoever
//! sees a frame can tell when it was captured (glass-to-glass latency, BENCHMARKS.md "Live").
//!
//! The code is a strip across the top of the picture: two rows of [`BITS`] blocks, each block
//! `width / 16` by `height / 9` pixels. Row 0 holds the capture time in tenths of a second modulo
//! 2^16 (6,553.6 s, about 109 minutes), Gray-coded (one block changes from one tenth to the next)
//! with the most significant bit on the left, a white block for 1 and black for 0; row 1 holds
//! the complement of row 0, so a reader checks every bit twice and refuses a frame the encoder
//! smeared. The time is ffmpeg's `RTCTIME` when the frame leaves the test source, which `-re`
//! paces: it is read at most one frame interval before it is due, so a latency read from the
//! code is at most one frame interval too long, and the tenths add up to 0.1 s more.

/// Bits in the code.
pub const BITS: u32 = 16;
/// The code's unit: a tenth of a second.
pub const UNIT_MS: u64 = 100;
/// The code wraps after this many milliseconds.
pub const WRAP_MS: u64 = (1 << BITS) * UNIT_MS;

/// The strip's blocks for a picture size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strip {
    /// Block width in pixels.
    pub block_w: u32,
    /// Block height in pixels.
    pub block_h: u32,
}

impl Strip {
    /// The blocks of a `width` x `height` picture (at least one pixel each).
    pub fn of(width: u32, height: u32) -> Strip {
        Strip {
            block_w: (width / BITS).max(1),
            block_h: (height / 9).max(1),
        }
    }

    /// Where to read bit `bit` (0: the leftmost) of row `row` (0 or 1): the block's centre.
    pub fn centre(&self, bit: u32, row: u32) -> (u32, u32) {
        (
            bit * self.block_w + self.block_w / 2,
            row * self.block_h + self.block_h / 2,
        )
    }
}

/// The lavfi graph of the clock pattern (video on `out0`, a 440 Hz tone on `out1`: one input,
/// so `-re` paces the frames as they are made, with no read-ahead thread between).
pub fn graph(width: u32, height: u32, fps: u32) -> String {
    let st = Strip::of(width, height);
    let (bw, bh) = (st.block_w, st.block_h);
    // n: tenths of a second, modulo 2^16; k: the bit under X (the leftmost is bit 15); g: that
    // bit of n's Gray code, n xor (n >> 1).
    let n = "mod(floor(T*10),65536)";
    let k = format!("({} - floor(X/{bw}))", BITS - 1);
    let g = format!("mod(floor({n}/pow(2,{k})) + floor({n}/pow(2,{k}+1)),2)");
    let lum = format!(
        "if(lt(X,{w})*lt(Y,{h2}), 16 + 219*if(lt(Y,{bh}), {g}, 1-{g}), lum(X,Y))",
        w = bw * BITS,
        h2 = 2 * bh
    );
    // Chroma planes are half size: grey over the strip.
    let chroma = |p: &str| format!("if(lt(Y,{bh}), 128, {p}(X,Y))");
    format!(
        "testsrc2=size={width}x{height}:rate={fps},settb=expr=1/1000,setpts=RTCTIME/1000,format=yuv420p,\
         geq=lum='{lum}':cb='{cb}':cr='{cr}',settb=expr=1/{fps},setpts=N[out0];\
         sine=frequency=440:sample_rate=48000[out1]",
        cb = chroma("cb"),
        cr = chroma("cr"),
    )
}

/// The code in a decoded frame, given its luma (`luma(x, y)`, 0-255): `None` when a bit and its
/// complement disagree (the frame is too damaged to read).
pub fn read(luma: impl Fn(u32, u32) -> u8, width: u32, height: u32) -> Option<u16> {
    let st = Strip::of(width, height);
    let mut gray = 0u16;
    for bit in 0..BITS {
        let (x0, y0) = st.centre(bit, 0);
        let (x1, y1) = st.centre(bit, 1);
        let a = luma(x0, y0) >= 128;
        let b = luma(x1, y1) >= 128;
        if a == b {
            return None;
        }
        gray = (gray << 1) | u16::from(a);
    }
    Some(from_gray(gray))
}

/// The number a Gray code stands for: each bit is the xor of the Gray bits from it up.
pub fn from_gray(gray: u16) -> u16 {
    let mut n = gray;
    let mut shift = gray >> 1;
    while shift != 0 {
        n ^= shift;
        shift >>= 1;
    }
    n
}

/// The capture time (Unix ms, the middle of its tenth, never after `now`) of a code read at
/// `now_unix_ms`: the latest tenth with that code, so latencies up to [`WRAP_MS`] read right.
pub fn captured_at(code: u16, now_unix_ms: u64) -> u64 {
    let now_units = now_unix_ms / UNIT_MS;
    let back = (now_units.wrapping_sub(u64::from(code))) % (1 << BITS);
    ((now_units - back.min(now_units)) * UNIT_MS + UNIT_MS / 2).min(now_unix_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paint a code the way the graph does, as a luma function.
    fn painted(n: u16, width: u32, height: u32) -> impl Fn(u32, u32) -> u8 {
        let st = Strip::of(width, height);
        let gray = n ^ (n >> 1);
        move |x, y| {
            let bit = x / st.block_w;
            let row = y / st.block_h;
            let g = (gray >> (BITS - 1 - bit)) & 1 == 1;
            let white = if row == 0 { g } else { !g };
            if white {
                235
            } else {
                16
            }
        }
    }

    #[test]
    fn codes_read_back_and_damage_is_refused() {
        for n in [0u16, 1, 2, 3, 1000, 0x7fff, 0x8000, 0xffff] {
            assert_eq!(read(painted(n, 256, 144), 256, 144), Some(n));
            assert_eq!(read(painted(n, 64, 36), 64, 36), Some(n));
        }
        let grey = |_: u32, _: u32| 128u8;
        assert_eq!(read(grey, 256, 144), None, "no complement: refused");
    }

    #[test]
    fn capture_times_unwrap_against_now() {
        let now = 1_800_000_000_000u64;
        let code = ((now - 2_345) / UNIT_MS % (1 << BITS)) as u16;
        let t = captured_at(code, now);
        assert!((now - t).abs_diff(2_345) <= UNIT_MS, "{}", now - t);
        let same = ((now / UNIT_MS) % (1 << BITS)) as u16;
        assert!(now - captured_at(same, now) < UNIT_MS);
    }

    #[test]
    fn the_graph_names_both_outputs_and_the_clock() {
        let g = graph(256, 144, 10);
        assert!(g.contains("RTCTIME") && g.contains("[out0]") && g.contains("[out1]"));
        assert!(g.contains("floor(X/16)") && g.contains("lt(Y,16)"), "{g}");
    }
}
