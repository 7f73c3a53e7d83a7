//! VMAF (`media::quality::vmaf`, and the encoder's report) with Netflix's `vmaf` tool: a clip
//! against itself is near 100, a heavily degraded encode clearly lower, a better one higher. Runs
//! when the tool is found (`BITFLIX_VMAF`, `../shared/vmaf/vmaf`, `PATH`); skipped saying so
//! otherwise, a failure in CI (where `../shared/vmaf` is provided).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use common::testsrc;
use media::{encode, quality, EncodeConfig};

fn have_vmaf() -> bool {
    let tool = quality::vmaf_tool().unwrap();
    testkit::present(
        tool.is_some(),
        "no vmaf tool (BITFLIX_VMAF, ../shared/vmaf/vmaf or PATH)",
        "scripts/setup.sh says where it comes from",
    )
}

fn at(kbps: f64, width: u32, fps: u32) -> EncodeConfig {
    EncodeConfig {
        video_kbps: kbps,
        audio_kbps: None,
        width: Some(width),
        fps: Some(fps),
        cpu_used: 8,
        measure: true,
        ..EncodeConfig::default()
    }
}

#[test]
fn vmaf_is_near_100_for_the_same_clip_and_falls_with_degradation() {
    if !testkit::have_ffmpeg() || !have_vmaf() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = testsrc(dir.path());
    let same = quality::vmaf(&src, &src, 4.0).unwrap().unwrap();
    assert!(same > 97.0, "identical: {same}");
    // A side that cannot be decoded is an error naming it, not a run stuck on its pipe.
    let err = quality::vmaf(&src, &dir.path().join("none.mp4"), 4.0).unwrap_err();
    assert!(err.to_string().contains("dis: "), "{err}");

    // 96 px wide at 6 fps and 4 kbit/s: heavily degraded; 320 px at 25 fps and 96 kbit/s: good.
    let (_, bad) = encode(&src, &at(4.0, 96, 6)).unwrap();
    let (_, good) = encode(&src, &at(96.0, 320, 25)).unwrap();
    let (bv, gv) = (bad.vmaf.unwrap(), good.vmaf.unwrap());
    println!(
        "testsrc2 320x240 25 fps: VMAF itself {same:.2}; 96 px 6 fps {} bytes: VMAF {bv:.2}, PSNR {:.2}; 320 px 25 fps {} bytes: VMAF {gv:.2}, PSNR {:.2}",
        bad.bytes,
        bad.psnr.unwrap(),
        good.bytes,
        good.psnr.unwrap()
    );
    assert!(bv < same - 30.0, "degraded {bv} against identical {same}");
    assert!(gv > bv + 20.0 && gv < same, "good {gv}, degraded {bv}");
}
