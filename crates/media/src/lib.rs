//! Media for BitFlix: the compact stream that goes on chain (CVPM: raw AV1 temporal units and Opus
//! packets with a few bytes of framing each, no container), an encoder that drives Debian's ffmpeg
//! (libaom-av1 two-pass, libopus at 60 ms frames) to a byte budget, and a rewrapper that turns a
//! CVPM stream back into WebM for players. Layout: docs/media-format.md.

pub mod encode;
mod ffmpeg;
pub mod format;
pub mod ivf;
pub mod ogg;
pub mod opus;
pub mod rewrap;

pub use encode::{encode, EncodeConfig, Report};
pub use ffmpeg::{probe, MediaError, Probe};
