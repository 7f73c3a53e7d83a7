//! The OP_RETURN carriers (`op-return-80`, `op-return`) on a chain of changes: one transaction per
//! unit, its data output and the change that the next one spends.

use super::{Builder, PlanError, Role};
use bitcoin::{Amount, TxOut};

impl Builder<'_> {
    pub(super) fn op_return(&mut self, role: Role, unit: &[u8]) -> Result<(), PlanError> {
        self.push(
            role,
            vec![TxOut {
                value: Amount::ZERO,
                script_pubkey: cvp::carrier::op_return_script(unit),
            }],
        )
        .map(|_| ())
    }
}
