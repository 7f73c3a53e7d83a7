//! Media for BitFlix: the compact stream that goes on chain (CVPM: raw AV1 temporal units and Opus
//! or codec2 packets with a few bytes of framing each, no container), an encoder that drives
//! Debian's ffmpeg (libaom-av1 two-pass at a size and rate chosen by measurement, libopus at 60 ms
//! frames or codec2 1200) to a byte budget, PSNR/SSIM measurement against the source, and a
//! rewrapper that turns a CVPM stream back into WebM or MP4 for players, and the poster a header
//! carries (a WebP still within a byte budget). Layout:
//! docs/media-format.md.

pub mod encode;
mod ffmpeg;
pub mod format;
pub mod interactive;
pub mod ivf;
pub mod live;
pub mod ogg;
pub mod opus;
pub mod poster;
pub mod quality;
pub mod rewrap;
pub mod webm;

pub use encode::{encode, Candidate, EncodeConfig, Report};
pub use ffmpeg::{probe, MediaError, Probe};
pub use format::AudioCodec;
pub use quality::Quality;
