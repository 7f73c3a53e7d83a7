//! The index on disk (redb). Layout in docs/index-schema.md; tests pin the stored bytes.
//!
//! Each scanned block is written in one transaction (its entry, its CVP transactions and the
//! cursor move together), so a kill at any moment leaves either the whole block or nothing. The
//! catalog is rebuilt from these tables on open: it is derived data. Contents' bytes are read from
//! here by range, never held in memory as a whole.

use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, OutPoint, TxOut, Txid};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// redb's page cache: enough for the tables' upper levels and recent reads, far below the films
/// (the default cache would grow towards a gigabyte as films are read).
const CACHE_BYTES: usize = 32 << 20;

/// The layout version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 3;
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const BLOCKS: TableDefinition<u32, &[u8]> = TableDefinition::new("blocks");
const TXS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("txs");
const MEMPOOL: TableDefinition<&[u8], &[u8]> = TableDefinition::new("mempool");
const COINS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("coins");

/// Store failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("index database {path}: {source}")]
    Db {
        /// The file.
        path: PathBuf,
        /// The cause, as redb or the file system gave it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Written by another layout version.
    #[error("the index at {path} has schema version {found}; this build reads version {expected}: run `bitflix index --reindex` to rebuild it")]
    SchemaMismatch {
        /// The file.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Version expected.
        expected: u32,
    },
    /// Asked to start at another height than the index was started at.
    #[error("the index at {path} starts at height {stored}, not {asked}: run `bitflix index --reindex --from-height {asked}` to rebuild it from there")]
    StartMismatch {
        /// The file.
        path: PathBuf,
        /// The start height stored in it.
        stored: u32,
        /// The start height asked for.
        asked: u32,
    },
    /// An entry that does not follow the layout.
    #[error("index entry {key} is damaged: {reason}")]
    Damaged {
        /// Which entry (a height or a txid).
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// One scanned block: its hash and the txids of its CVP transactions, in block order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEntry {
    /// Block hash.
    pub hash: BlockHash,
    /// CVP transactions, in block order (their bytes are in the `txs` table).
    pub txids: Vec<Txid>,
}

impl BlockEntry {
    /// `hash (32) || txid (32)*`, both in internal byte order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 32 * self.txids.len());
        out.extend_from_slice(self.hash.as_byte_array());
        for t in &self.txids {
            out.extend_from_slice(t.as_byte_array());
        }
        out
    }

    /// Decode, rejecting anything that does not follow the layout exactly.
    pub fn decode(height: u32, b: &[u8]) -> Result<BlockEntry, StoreError> {
        let damaged = |reason| StoreError::Damaged {
            key: format!("block {height}"),
            reason,
        };
        if b.len() < 32 || !b.len().is_multiple_of(32) {
            return Err(damaged("not a hash and whole txids"));
        }
        let mut chunks = b.chunks_exact(32).map(|c| {
            let mut a = [0u8; 32];
            a.copy_from_slice(c);
            a
        });
        let hash = BlockHash::from_byte_array(chunks.next().ok_or_else(|| damaged("no hash"))?);
        Ok(BlockEntry {
            hash,
            txids: chunks.map(Txid::from_byte_array).collect(),
        })
    }
}

/// `value (u64 LE) || script`: a coin as the `coins` table stores it.
pub fn encode_coin(out: &TxOut) -> Vec<u8> {
    let mut v = out.value.to_sat().to_le_bytes().to_vec();
    v.extend_from_slice(out.script_pubkey.as_bytes());
    v
}

fn decode_coin(key: &str, b: &[u8]) -> Result<TxOut, StoreError> {
    let (value, script) = b.split_at_checked(8).ok_or(StoreError::Damaged {
        key: key.to_string(),
        reason: "shorter than a value",
    })?;
    let mut v = [0u8; 8];
    v.copy_from_slice(value);
    Ok(TxOut {
        value: bitcoin::Amount::from_sat(u64::from_le_bytes(v)),
        script_pubkey: script.to_vec().into(),
    })
}

fn coin_key(op: &OutPoint) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..32].copy_from_slice(op.txid.as_byte_array());
    k[32..].copy_from_slice(&op.vout.to_le_bytes());
    k
}

/// The index database. Shared between the scanner (writes) and the gateway (reads) behind an
/// `Arc`: redb serves readers while a write is under way.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
    start: u32,
}

impl Store {
    /// Open or create, starting at genesis; see [`open_from`](Self::open_from).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_from(path, None, 0)
    }

    /// Open or create; refuses a different schema version (a version 2 index, scanned from
    /// genesis, is migrated). A new index starts at `from`, else at `default`; an existing one
    /// keeps the start it was created with, and refuses a `from` that differs. A new index is
    /// built under a temporary name and renamed into place, so a kill during creation never
    /// leaves a half-made file.
    pub fn open_from(path: &Path, from: Option<u32>, default: u32) -> Result<Store, StoreError> {
        if !path.exists() {
            let tmp = path.with_extension("redb.new");
            let _ = std::fs::remove_file(&tmp);
            drop(Store::init(&tmp, from.unwrap_or(default))?);
            std::fs::rename(&tmp, path).map_err(|e| StoreError::Db {
                path: path.into(),
                source: Box::new(e),
            })?;
        }
        let store = Store::init(path, from.unwrap_or(default))?;
        match from {
            Some(asked) if asked != store.start => Err(StoreError::StartMismatch {
                path: path.into(),
                stored: store.start,
                asked,
            }),
            _ => Ok(store),
        }
    }

    /// A store in memory only (tests, one-off scans): the same tables, nothing on disk.
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::in_memory_from(0)
    }

    /// A store in memory only, starting at `start`.
    pub fn in_memory_from(start: u32) -> Result<Store, StoreError> {
        let path = PathBuf::from("(memory)");
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| StoreError::Db {
                path: path.clone(),
                source: Box::new(redb::Error::from(e)),
            })?;
        Store::prepare(db, &path, start)
    }

    fn init(path: &Path, start: u32) -> Result<Store, StoreError> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| StoreError::Db {
                path: path.into(),
                source: Box::new(redb::Error::from(e)),
            })?;
        Store::prepare(db, path, start)
    }

    /// Check the version (migrating version 2) and read the start height, writing both into a
    /// new index (`start` is only used there).
    fn prepare(db: Database, path: &Path, start: u32) -> Result<Store, StoreError> {
        let err = |e: redb::Error| StoreError::Db {
            path: path.into(),
            source: Box::new(e),
        };
        let mut store = Store {
            db,
            path: path.into(),
            start,
        };
        let txn = store.db.begin_write().map_err(|e| err(e.into()))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| err(e.into()))?;
            let found = meta
                .get("schema_version")
                .map_err(|e| err(e.into()))?
                .map(|v| v.value().to_vec());
            let u32_of = |v: &[u8]| v.try_into().map(u32::from_le_bytes).ok();
            let found = found.map(|v| u32_of(&v).unwrap_or(u32::MAX));
            // Version 2 had no start height: it scanned from genesis.
            let start = match found {
                None => start,
                Some(2) => 0,
                Some(SCHEMA_VERSION) => {
                    let v = meta.get("start_height").map_err(|e| err(e.into()))?;
                    v.and_then(|v| u32_of(v.value()))
                        .ok_or_else(|| StoreError::Damaged {
                            key: "meta start_height".into(),
                            reason: "missing or not a u32",
                        })?
                }
                Some(found) => {
                    return Err(StoreError::SchemaMismatch {
                        path: path.into(),
                        found,
                        expected: SCHEMA_VERSION,
                    })
                }
            };
            if found != Some(SCHEMA_VERSION) {
                meta.insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())
                    .map_err(|e| err(e.into()))?;
                meta.insert("start_height", start.to_le_bytes().as_slice())
                    .map_err(|e| err(e.into()))?;
            }
            store.start = start;
            for t in [TXS, MEMPOOL, COINS] {
                txn.open_table(t).map_err(|e| err(e.into()))?;
            }
            txn.open_table(BLOCKS).map_err(|e| err(e.into()))?;
        }
        txn.commit().map_err(|e| err(e.into()))?;
        Ok(store)
    }

    fn err(&self, e: impl Into<redb::Error>) -> StoreError {
        StoreError::Db {
            path: self.path.clone(),
            source: Box::new(e.into()),
        }
    }

    /// The first height this index scans (blocks below it are never read).
    pub fn start_height(&self) -> u32 {
        self.start
    }

    /// The last scanned block.
    pub fn cursor(&self) -> Result<Option<(u32, BlockHash)>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(BLOCKS).map_err(|e| self.err(e))?;
        let Some((k, v)) = t.last().map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let h = k.value();
        Ok(Some((h, BlockEntry::decode(h, v.value())?.hash)))
    }

    /// The stored hash at `height`.
    pub fn hash_at(&self, height: u32) -> Result<Option<BlockHash>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(BLOCKS).map_err(|e| self.err(e))?;
        let v = t.get(height).map_err(|e| self.err(e))?;
        v.map(|v| BlockEntry::decode(height, v.value()).map(|e| e.hash))
            .transpose()
    }

    /// Record a scanned block (its entry, its CVP transactions, the new cursor) atomically; its
    /// transactions leave the stored mempool.
    pub fn put_block(
        &self,
        height: u32,
        hash: BlockHash,
        txs: &[(Txid, &[u8])],
    ) -> Result<(), StoreError> {
        let entry = BlockEntry {
            hash,
            txids: txs.iter().map(|(t, _)| *t).collect(),
        };
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut b = txn.open_table(BLOCKS).map_err(|e| self.err(e))?;
            b.insert(height, entry.encode().as_slice())
                .map_err(|e| self.err(e))?;
            let mut t = txn.open_table(TXS).map_err(|e| self.err(e))?;
            let mut m = txn.open_table(MEMPOOL).map_err(|e| self.err(e))?;
            for (txid, raw) in txs {
                t.insert(txid.as_byte_array().as_slice(), *raw)
                    .map_err(|e| self.err(e))?;
                m.remove(txid.as_byte_array().as_slice())
                    .map_err(|e| self.err(e))?;
            }
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Forget blocks at and above `height` and their transactions (a reorg replaced them; those
    /// that return to the mempool are read again from there).
    pub fn truncate_from(&self, height: u32) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut b = txn.open_table(BLOCKS).map_err(|e| self.err(e))?;
            let mut t = txn.open_table(TXS).map_err(|e| self.err(e))?;
            let mut gone = Vec::new();
            for item in b.range(height..).map_err(|e| self.err(e))? {
                let (k, v) = item.map_err(|e| self.err(e))?;
                gone.extend(BlockEntry::decode(k.value(), v.value())?.txids);
            }
            for txid in gone {
                t.remove(txid.as_byte_array().as_slice())
                    .map_err(|e| self.err(e))?;
            }
            b.retain_in(height.., |_, _| false)
                .map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Every stored block, in height order, with its raw CVP transactions, fed to `f` from one
    /// read transaction (one block's transactions in memory at a time).
    pub fn for_each_block(
        &self,
        mut f: impl FnMut(u32, &BlockEntry, &[Vec<u8>]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let b = txn.open_table(BLOCKS).map_err(|e| self.err(e))?;
        let t = txn.open_table(TXS).map_err(|e| self.err(e))?;
        for item in b.range::<u32>(..).map_err(|e| self.err(e))? {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let entry = BlockEntry::decode(k.value(), v.value())?;
            let mut raws = Vec::with_capacity(entry.txids.len());
            for txid in &entry.txids {
                let raw = t
                    .get(txid.as_byte_array().as_slice())
                    .map_err(|e| self.err(e))?
                    .ok_or_else(|| StoreError::Damaged {
                        key: format!("tx {txid}"),
                        reason: "listed by a block but not stored",
                    })?;
                raws.push(raw.value().to_vec());
            }
            f(k.value(), &entry, &raws)?;
        }
        Ok(())
    }

    /// A stored transaction, confirmed or in the stored mempool.
    pub fn raw_tx(&self, txid: &Txid) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_tx(txid, <[u8]>::to_vec)
    }

    /// Append bytes `part` of the stored transaction `txid` to `out` without copying the rest,
    /// if it is stored with exactly `len` bytes; `false` (and `out` unchanged) if it is not stored,
    /// has another length, or `part` lies outside it.
    pub fn read_tx_part(
        &self,
        txid: &Txid,
        len: usize,
        part: Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<bool, StoreError> {
        let found = self.with_tx(txid, |raw| match raw.get(part) {
            Some(bytes) if raw.len() == len => {
                out.extend_from_slice(bytes);
                true
            }
            _ => false,
        })?;
        Ok(found == Some(true))
    }

    /// `f` over a stored transaction's bytes, confirmed or in the stored mempool, as redb holds
    /// them (no copy).
    fn with_tx<R>(&self, txid: &Txid, f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        for table in [TXS, MEMPOOL] {
            let t = txn.open_table(table).map_err(|e| self.err(e))?;
            if let Some(v) = t
                .get(txid.as_byte_array().as_slice())
                .map_err(|e| self.err(e))?
            {
                return Ok(Some(f(v.value())));
            }
        }
        Ok(None)
    }

    /// The stored mempool: CVP transactions last seen in the backend's mempool.
    pub fn mempool(&self) -> Result<Vec<(Txid, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(MEMPOOL).map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(t.len().map_err(|e| self.err(e))? as usize);
        for item in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let key: [u8; 32] = k.value().try_into().map_err(|_| StoreError::Damaged {
                key: "mempool".into(),
                reason: "a key that is not a txid",
            })?;
            out.push((Txid::from_byte_array(key), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Add and remove stored mempool transactions in one write.
    pub fn update_mempool(
        &self,
        add: &[(Txid, Vec<u8>)],
        remove: &[Txid],
    ) -> Result<(), StoreError> {
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut m = txn.open_table(MEMPOOL).map_err(|e| self.err(e))?;
            for txid in remove {
                m.remove(txid.as_byte_array().as_slice())
                    .map_err(|e| self.err(e))?;
            }
            for (txid, raw) in add {
                m.insert(txid.as_byte_array().as_slice(), raw.as_slice())
                    .map_err(|e| self.err(e))?;
            }
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Remember funding coins looked up outside every lineage (headers' first inputs).
    pub fn put_coins(&self, coins: &[(OutPoint, TxOut)]) -> Result<(), StoreError> {
        if coins.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut c = txn.open_table(COINS).map_err(|e| self.err(e))?;
            for (op, out) in coins {
                c.insert(coin_key(op).as_slice(), encode_coin(out).as_slice())
                    .map_err(|e| self.err(e))?;
            }
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Every remembered funding coin.
    pub fn coins(&self) -> Result<Vec<(OutPoint, TxOut)>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(COINS).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for item in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let k = k.value();
            let damaged = || StoreError::Damaged {
                key: "coins".into(),
                reason: "a key that is not an outpoint",
            };
            let (txid, vout) = k.split_at_checked(32).ok_or_else(damaged)?;
            let txid: [u8; 32] = txid.try_into().map_err(|_| damaged())?;
            let vout: [u8; 4] = vout.try_into().map_err(|_| damaged())?;
            let op = OutPoint::new(Txid::from_byte_array(txid), u32::from_le_bytes(vout));
            out.push((op, decode_coin("coins", v.value())?));
        }
        Ok(out)
    }
}
