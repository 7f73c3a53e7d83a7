//! A transaction of data outputs paid by the wallet: a viewer's recorded choices (docs/cvp.md,
//! "Interactive films"), one OP_RETURN output each, in one transaction.

use super::{HdError, HdWallet};
use bdk_wallet::bitcoin::psbt::Psbt;
use bdk_wallet::bitcoin::{Amount, FeeRate, ScriptBuf};
use bdk_wallet::coin_selection::LargestFirstCoinSelection;

impl HdWallet {
    /// An unsigned transaction with one zero-value output per script of `data` (each must be an
    /// OP_RETURN script), its fee at `feerate` paid from the wallet's coins (largest first, never a
    /// [reserved](HdWallet::reserve) one), change to an internal address.
    pub fn data_psbt(&mut self, data: &[ScriptBuf], feerate: FeeRate) -> Result<Psbt, HdError> {
        if data.is_empty() || !data.iter().all(|s| s.is_op_return()) {
            return Err(HdError::Build(
                "a data transaction needs one or more OP_RETURN outputs and nothing else".into(),
            ));
        }
        let reserved = self.unusable();
        let mut b = self
            .wallet
            .build_tx()
            .coin_selection(LargestFirstCoinSelection);
        for script in data {
            b.add_recipient(script.clone(), Amount::ZERO);
        }
        b.fee_rate(feerate).unspendable(reserved);
        let psbt = b.finish().map_err(|e| HdError::Build(e.to_string()))?;
        // The change index bdk revealed must survive a restart.
        self.persist()?;
        Ok(psbt)
    }
}
