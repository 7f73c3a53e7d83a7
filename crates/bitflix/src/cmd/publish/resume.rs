//! `bitflix publish --resume`: import a signed funding PSBT, replace stuck publishes at a higher
//! fee rate (`--bump-to`), then finish every interrupted publish in the data directory.

use super::{bar, feerate, import_signed, show, Chain, PublishArgs, PublishOut};
use bitcoin::Network;
use wallet::funded;
use wallet::journal::Journal;

pub(super) fn run(
    g: &crate::cmd::Global,
    chain: &Chain,
    args: &PublishArgs,
    network: Network,
) -> anyhow::Result<Vec<PublishOut>> {
    let d = chain.backend();
    if let Some(signed) = &args.psbt_signed {
        import_signed(&g.datadir, network, signed)?;
    }
    if let Some(rate) = args.bump_to {
        let rate = feerate(d, network, Some(rate), args.rails.force)?;
        let mut w = crate::keys::open_wallet(&g.datadir, network)?;
        // The replacement goes through the rails too: --max-fee caps it, and off regtest its
        // exact fee (which pays the replaced transactions' fees again) is confirmed.
        funded::bump_approved(&g.datadir, d, &mut w, rate, |c| {
            let quote = crate::rails::Quote {
                total_fee: c.total_fee(),
                transactions: c.transactions,
                feerate: rate,
            };
            args.rails
                .approve(
                    network,
                    &quote,
                    &mut std::io::stdin().lock(),
                    &mut std::io::stderr(),
                )
                .map_err(|e| {
                    format!(
                        "the replacement at {} sat/vB: {e}",
                        crate::rails::sat_per_vb(rate)
                    )
                })
        })?;
    }
    let mut out = Vec::new();
    for path in Journal::all(&g.datadir) {
        let journal = Journal::load(&path)?;
        let pb = bar(journal.txs.len(), g.json);
        show(&pb, g.json);
        let done = wallet::publish::resume(
            &path,
            d,
            || chain.wait_for_block(),
            |p| pb.set_position((p.sent + p.already_sent) as u64),
        )?;
        pb.finish_and_clear();
        out.push(PublishOut {
            content_id: journal.content_id.to_string(),
            carrier: journal.carrier.clone(),
            transactions: journal.txs.len(),
            sent: done.progress.sent,
            already_sent: done.progress.already_sent,
            confirmed: done.progress.confirmed,
            fee_sat: journal.txs.iter().map(|t| t.fee_sat).sum(),
            journal: path,
            psbt: None,
            poster: None,
            interactive: None,
            commitment: None,
        });
    }
    Ok(out)
}
