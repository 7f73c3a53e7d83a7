//! The byte-budget search: rate control overshoots at these rates, so the video rate is corrected
//! by how far each whole encode lands until the stream is within 5 % under the budget. Where
//! libaom's size jumps over that window (a hard section moved off the top quantizer), the search
//! goes on under the steadier rate control, whose size grows smoothly with the rate.

use super::args::RateControl;
use super::choose::Shape;
use super::{packet_bytes, video, Job};
use crate::ffmpeg::MediaError;
use crate::format::{Packet, Video};

/// Encoder passes the budget search may run (each two-pass).
const MAX_ATTEMPTS: u32 = 14;

/// A bracket this narrow (the lowest rate that overshot over the highest that fitted) with no
/// landing: the size jumps over the window, and another rate control is tried.
const GAP: f64 = 1.08;

/// The video of the whole encode.
pub(super) struct Searched {
    pub video: Video,
    pub packets: Vec<Packet>,
    /// The rate given to the encoder in the pass kept.
    pub kbps: f64,
    /// Passes run.
    pub attempts: u32,
    /// The encoder could not use the budget: a higher rate gave no more bytes (the picture is as
    /// good as this size and frame rate get), so the stream stays under it.
    pub at_ceiling: bool,
}

/// The step of a search for the rate that lands an encoder on a byte target: proportional to how
/// far off each try landed, and, since encoders are not monotonic at these rates, kept inside
/// the bracket of the highest rate that fitted and the lowest that overshot once there is one.
/// The budget search uses it, and so does the benchmark's search for the baselines' rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateBracket {
    fitted: f64,
    overshot: f64,
}

impl Default for RateBracket {
    fn default() -> Self {
        RateBracket {
            fitted: 0.0,
            overshot: f64::MAX,
        }
    }
}

impl RateBracket {
    /// The rate to try after `kbps` gave `got` bytes where `want` were aimed at (`fits`: the
    /// try was within the target). Not clamped: each encoder has its own range.
    pub fn next(&mut self, kbps: f64, got: u64, want: f64, fits: bool) -> f64 {
        if fits {
            self.fitted = self.fitted.max(kbps);
        } else {
            self.overshot = self.overshot.min(kbps);
        }
        let mut next = kbps * want / got.max(1) as f64;
        let RateBracket { fitted, overshot } = *self;
        if fitted > 0.0 && overshot < f64::MAX && fitted < overshot {
            if next <= fitted || next >= overshot {
                next = (fitted * overshot).sqrt();
            }
        } else if !fits && next >= kbps {
            next = kbps * 0.9;
        } else if fits && next <= kbps {
            next = kbps * 1.1;
        }
        next
    }

    /// The lowest rate that overshot over the highest that fitted, once both are known.
    pub fn width(&self) -> Option<f64> {
        (self.fitted > 0.0 && self.overshot < f64::MAX).then(|| self.overshot / self.fitted)
    }
}

/// The budget search's step: after `kbps` gave `size` bytes (audio included) against `budget`,
/// aim the video 2 % under the budget.
fn next_rate(bracket: &mut RateBracket, kbps: f64, size: u64, budget: u64, audio: u64) -> f64 {
    let want = (budget as f64 * 0.98 - audio as f64).max(1.0);
    let got = size.saturating_sub(audio);
    bracket
        .next(kbps, got, want, size <= budget)
        .clamp(0.5, 20_000.0)
}

/// The largest stream within the budget so far.
struct Fit {
    size: u64,
    video: Video,
    packets: Vec<Packet>,
    kbps: f64,
    control: RateControl,
}

/// Encode the whole span at `shape`: once at `kbps` without a budget; with one, searched until the
/// stream (with `audio_bytes` of audio) lands within 5 % under it, keeping the largest result
/// that fits after [`MAX_ATTEMPTS`] passes, or an error when none did. When the size jumps over
/// the window under libaom's default rate control, the search goes on under
/// [`RateControl::Steady`]. When a rate 50 % above one that fitted (under the same control) gives
/// less than 2 % more bytes, the encoder is at its ceiling (simple pictures): the search stops
/// there, with the largest result.
pub(super) fn search(
    job: &Job<'_>,
    shape: Shape,
    mut kbps: f64,
    audio_bytes: u64,
) -> Result<Searched, MediaError> {
    let mut fit: Option<Fit> = None;
    let mut at_ceiling = false;
    let mut smallest = u64::MAX;
    let mut bracket = RateBracket::default();
    let mut control = RateControl::Default;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let span = (0.0, job.seconds);
        let (v, packets) = video::encode(job, job.cfg.cpu_used, shape, (kbps, control), span)?;
        let size = packet_bytes(&packets) + audio_bytes;
        smallest = smallest.min(size);
        let Some(b) = job.budget else {
            return Ok(Searched {
                video: v,
                packets,
                kbps,
                attempts,
                at_ceiling,
            });
        };
        if let Some(f) = fit.as_ref().filter(|f| f.control == control) {
            at_ceiling = size <= b && kbps >= f.kbps * 1.5 && (size as f64) < f.size as f64 * 1.02;
        }
        let landed = size <= b && size as f64 >= b as f64 * 0.95;
        if size <= b && fit.as_ref().is_none_or(|f| size > f.size) {
            fit = Some(Fit {
                size,
                video: v,
                packets,
                kbps,
                control,
            });
        }
        if landed || attempts >= MAX_ATTEMPTS || at_ceiling {
            return match fit.take() {
                Some(f) => Ok(Searched {
                    video: f.video,
                    packets: f.packets,
                    kbps: f.kbps,
                    attempts,
                    at_ceiling,
                }),
                None => Err(MediaError::Input(format!(
                    "the smallest stream this input reached at {}x{} {} fps in {attempts} passes \
                     is {smallest} bytes, above the budget of {b} bytes: lower --height or --fps, \
                     drop audio, or raise the budget",
                    v.width, v.height, v.fps_num
                ))),
            };
        }
        kbps = next_rate(&mut bracket, kbps, size, b, audio_bytes);
        if control == RateControl::Default && bracket.width().is_some_and(|w| w < GAP) {
            // The size jumps over the window here: start again from the largest fit, which the
            // steadier control (fewer bytes at a rate) would fit too, stepping up from it.
            control = RateControl::Steady;
            bracket = RateBracket::default();
            if let Some(f) = &fit {
                kbps = next_rate(&mut bracket, f.kbps, f.size, b, audio_bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{next_rate, RateBracket};

    #[test]
    fn the_rate_scales_then_stays_in_the_bracket() {
        let mut b = RateBracket::default();
        // 20 kbit/s gave 2,000 bytes against 1,000 (no audio): halved, aiming 2 % under.
        let next = next_rate(&mut b, 20.0, 2000, 1000, 0);
        assert!((next - 9.8).abs() < 1e-9, "{next}");
        // 9.8 fitted with 400 bytes: the scaled guess (24) lies past the overshoot at 20, so
        // the geometric mean of the bracket.
        let next = next_rate(&mut b, 9.8, 400, 1000, 0);
        assert!((next - (9.8f64 * 20.0).sqrt()).abs() < 1e-9, "{next}");
        // Without a bracket, an overshoot that would not lower the rate lowers it by 10 %.
        let mut open = RateBracket::default();
        assert!((next_rate(&mut open, 10.0, 1100, 1000, 1200) - 9.0).abs() < 1e-9);
        // The clamp: never under 0.5 kbit/s.
        let mut low = RateBracket::default();
        assert!((next_rate(&mut low, 0.6, 100_000, 1000, 0) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn the_width_is_known_once_a_rate_fitted_and_one_overshot() {
        let mut b = RateBracket::default();
        assert_eq!(b.width(), None);
        b.next(13.4, 900, 980.0, true);
        assert_eq!(b.width(), None);
        b.next(13.6, 1300, 980.0, false);
        assert!((b.width().unwrap() - 13.6 / 13.4).abs() < 1e-12);
    }
}
