//! What a live stream costs: the coin each chunk record spends and the fees of an hour, from the
//! same builder that signs the stream (`wallet::plan::live`), so the figure is the real size.

use bitcoin::Amount;
use cvp::Carrier;
use wallet::plan::live::LiveBuilder;

/// Bytes of a `live chunk` unit that are not payload besides the index and timestamp varints.
const FIXED: usize = 4;
/// Room kept for the index (up to 5 bytes) and timestamp (up to 10 bytes) varints.
const VARINTS: usize = 15;

/// How the stream's chunks are paid.
#[derive(Debug, Clone, Copy)]
pub struct Sizing {
    /// The largest unit one coin pays for.
    pub unit: usize,
    /// The value of each fan-out coin.
    pub coin: Amount,
    /// Chunk records per hour (an encoded chunk larger than a unit takes several).
    pub records_per_hour: u64,
    /// Fees of an hour: the records and their share of fan-outs, sat.
    pub fee_per_hour: u64,
}

/// The unit each coin is made for: the expected chunk with half again for keyframes and
/// variation, up to the carrier's largest unit.
pub fn sizing(
    b: &LiveBuilder<'_>,
    kbps: f64,
    chunk_ms: u32,
    fanout_width: usize,
) -> anyhow::Result<Sizing> {
    let expected = (kbps * 1000.0 / 8.0 * f64::from(chunk_ms) / 1000.0).ceil() as usize;
    let max = b.carrier().max_unit();
    let unit = ((expected * 3 / 2) + FIXED + VARINTS).min(max);
    let coin = b.coin_value(unit)?;
    let payload = unit - FIXED - VARINTS;
    let chunks_per_hour = 3_600_000u64.div_ceil(u64::from(chunk_ms));
    let pieces = (expected.max(1)).div_ceil(payload.max(1)) as u64;
    let records_per_hour = chunks_per_hour * pieces;
    // A record's fee at the expected size (a piece of the chunk), the change coming back.
    let per_record = (expected.div_ceil(pieces as usize) + FIXED + 8).min(max);
    let extra = if b.carrier() == Carrier::Envelope {
        660
    } else {
        330
    };
    let record_fee = b.coin_value(per_record)?.to_sat().saturating_sub(extra);
    let fanout_fee = fanout_vbytes(1) * sat_per_vb(b)? * records_per_hour as f64
        + fanout_vbytes(0)
            * sat_per_vb(b)?
            * (records_per_hour as f64 / fanout_width as f64).ceil();
    Ok(Sizing {
        unit,
        coin,
        records_per_hour,
        fee_per_hour: record_fee * records_per_hour + fanout_fee.ceil() as u64,
    })
}

/// vB of a fan-out's fixed part (n = 0) or of one more coin (n = 1).
fn fanout_vbytes(n: u32) -> f64 {
    if n == 0 {
        // version, counts, locktime, one key-path input, the link and the change.
        10.5 + 57.5 + 14.0 + 43.0
    } else {
        43.0
    }
}

/// The builder's fee rate in sat/vB, read back from a coin's price.
fn sat_per_vb(b: &LiveBuilder<'_>) -> anyhow::Result<f64> {
    Ok(b.feerate().to_sat_per_kwu() as f64 * 4.0 / 1000.0)
}
