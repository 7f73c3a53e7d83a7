//! `bitflix publish FILE --carrier commitment`: the file goes on BitTorrent and one transaction
//! pins it (docs/cvp.md, "Commitments"). The swarm is written to `DATADIR/swarms/ROOT` (its
//! `stream`, its piece `layer` and its `swarm.torrent`), which `bitflix serve
//! --bittorrent-listen ADDR` seeds; the record (the pieces root, the length, the media type code,
//! the infohash and `--seed ADDR`) goes in one 80-byte OP_RETURN, paid by the wallet through the
//! same journaled flow as every publish (rails, `--psbt`, `--resume`, `--bump-to`). A title is an
//! info record in a second transaction of the lineage.

use super::{Chain, Content, FileToPublish, Paying, PublishArgs, PublishOut};
use anyhow::{bail, Context};
use bitcoin::FeeRate;
use cvp::{Carrier, Commitment, Info, Record, UnknownField};
use serde::Serialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// `--carrier`: one of the chain's carriers, or a commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishCarrier {
    /// The stream on chain.
    OnChain(Carrier),
    /// The stream on BitTorrent, a commitment on chain.
    Commitment,
}

impl FromStr for PublishCarrier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "commitment" {
            return Ok(PublishCarrier::Commitment);
        }
        s.parse().map(PublishCarrier::OnChain).map_err(|e: String| {
            format!("{e} (or commitment: the file on BitTorrent, pinned on chain)")
        })
    }
}

/// What a commitment publish pinned, and where its bytes are.
#[derive(Debug, Clone, Serialize)]
pub struct CommitmentOut {
    /// BEP 52's pieces root of the file, hex.
    pub root: String,
    /// The file's length.
    pub length: u64,
    /// The swarm's v1 infohash, hex.
    pub infohash: String,
    /// The media type code in the record (0: not in the table, read as octet-stream).
    pub media_code: u32,
    /// The seed address in the record.
    pub seed: Option<SocketAddr>,
    /// The commitment record's bytes on chain.
    pub unit_bytes: usize,
    /// The swarm's folder (`bitflix serve --bittorrent-listen` seeds it).
    pub swarm: PathBuf,
}

impl fmt::Display for CommitmentOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "on chain: a {}-byte commitment to {} bytes (pieces root {}); bytes: BitTorrent, swarm {} in {}",
            self.unit_bytes,
            self.length,
            self.root,
            self.infohash,
            self.swarm.display()
        )?;
        match self.seed {
            Some(a) => write!(
                f,
                "\nviewers ask {a} first: seed it with `bitflix serve --bittorrent-listen {a}`"
            ),
            None => write!(
                f,
                "\nno --seed address in the record: viewers find peers on their own (seed it with `bitflix serve --bittorrent-listen ADDR`)"
            ),
        }
    }
}

/// The info record that carries `title` (tag 3, the long title), within what readers show.
fn title_record(title: &str) -> anyhow::Result<Record> {
    if title.len() > index::MAX_TITLE {
        bail!(
            "the title is {} bytes; readers show at most {}",
            title.len(),
            index::MAX_TITLE
        );
    }
    Ok(Record::Info(Info {
        fields: vec![UnknownField {
            tag: index::INFO_LONG_TITLE,
            value: title.as_bytes().to_vec(),
        }],
    }))
}

pub(super) fn run(
    g: &crate::cmd::Global,
    chain: &Chain,
    args: &PublishArgs,
    feerate: FeeRate,
    paying: &Paying<'_>,
) -> anyhow::Result<PublishOut> {
    if args.film.interactive.is_some() {
        bail!("an interactive film's clips are on chain: publish it with op-return-80, op-return or envelope");
    }
    let Some(file) = &args.file else {
        bail!("give the FILE to publish (or --resume)")
    };
    wallet::funded::ensure_nothing_unfinished(&g.datadir, chain.backend())?;
    let (title, media_type) = super::title_and_type(args, file);
    let bytes = if file.is_dir() {
        crate::bundle::from_dir(file)?
    } else {
        std::fs::read(file).with_context(|| format!("reading {}", file.display()))?
    };
    if bytes.is_empty() {
        bail!("{} is empty: there is nothing to commit to", file.display());
    }
    let title_record = title_record(&title)?;
    // The swarm first: the record pins what it holds, and it is the publisher's to seed.
    let root = cvp::pieces::pieces_root(&bytes)?;
    let dir = crate::swarms::swarms_dir(&g.datadir).join(hex::encode(root));
    let swarm = torrent::make(&dir, &bytes).context("writing the swarm")?;
    let commitment = Commitment {
        root: swarm.root,
        length: swarm.length,
        media_code: cvp::commitment::media_code_of(&media_type).unwrap_or(0),
        infohash: swarm.infohash,
        seed: args.seed,
    };
    let unit_bytes = Record::Commitment(commitment.clone()).encode().len();
    // The title on the 80-byte carrier where it fits; a longer one needs Core 30+'s large
    // OP_RETURN.
    let carrier = if title_record.encode().len() <= Carrier::OpReturn80.max_unit() {
        Carrier::OpReturn80
    } else {
        Carrier::OpReturn
    };
    let poster = crate::poster::Chosen::none("a commitment carries no poster");
    let what = FileToPublish {
        file,
        title: &title,
        media_type: &media_type,
        carrier,
        feerate,
        layout: wallet::Layout::Chain,
        poster: &poster,
    };
    let content = Content {
        stream: &[],
        records: vec![title_record],
        commitment: Some(commitment.clone()),
    };
    let mut out = super::publish_content(
        &g.datadir,
        chain,
        &what,
        &content,
        g.json,
        args.psbt.as_deref(),
        paying,
    )?;
    out.carrier = "commitment".into();
    out.commitment = Some(CommitmentOut {
        root: hex::encode(commitment.root),
        length: commitment.length,
        infohash: hex::encode(commitment.infohash),
        media_code: commitment.media_code,
        seed: commitment.seed,
        unit_bytes,
        swarm: dir,
    });
    Ok(out)
}
