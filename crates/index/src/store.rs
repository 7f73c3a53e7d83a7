//! The index on disk (redb). Layout in docs/index-schema.md; tests pin the stored bytes.
//!
//! Each scanned block is one entry written in one transaction (the block's CVP transactions and
//! the cursor are the same record), so a kill at any moment leaves either the whole block or
//! nothing. The catalog is rebuilt from these entries on open: it is derived data.

use bitcoin::hashes::Hash;
use bitcoin::BlockHash;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::{Path, PathBuf};

/// The layout version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const BLOCKS: TableDefinition<u32, &[u8]> = TableDefinition::new("blocks");

/// Store failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("index database {path}: {reason}")]
    Db {
        /// The file.
        path: PathBuf,
        /// The cause.
        reason: String,
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
    /// An entry that does not follow the layout.
    #[error("index entry at height {height} is damaged: {reason}")]
    Damaged {
        /// Height.
        height: u32,
        /// What is wrong.
        reason: String,
    },
}

/// One scanned block: its hash and its CVP transactions, raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEntry {
    /// Block hash.
    pub hash: BlockHash,
    /// Raw CVP transactions, in block order.
    pub txs: Vec<Vec<u8>>,
}

impl BlockEntry {
    /// `hash (32) || (len u32 LE || tx)*`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.txs.iter().map(|t| t.len() + 4).sum::<usize>());
        out.extend_from_slice(self.hash.as_byte_array());
        for t in &self.txs {
            out.extend_from_slice(&(t.len() as u32).to_le_bytes());
            out.extend_from_slice(t);
        }
        out
    }

    /// Decode, rejecting anything that does not follow the layout exactly.
    pub fn decode(height: u32, b: &[u8]) -> Result<BlockEntry, StoreError> {
        let damaged = |reason: &str| StoreError::Damaged {
            height,
            reason: reason.into(),
        };
        let (hash, mut rest) = b
            .split_at_checked(32)
            .ok_or_else(|| damaged("shorter than a hash"))?;
        let hash = BlockHash::from_byte_array(hash.try_into().map_err(|_| damaged("hash"))?);
        let mut txs = Vec::new();
        while !rest.is_empty() {
            let (len, tail) = rest
                .split_at_checked(4)
                .ok_or_else(|| damaged("truncated length"))?;
            let len = u32::from_le_bytes(len.try_into().map_err(|_| damaged("length"))?) as usize;
            let (tx, tail) = tail
                .split_at_checked(len)
                .ok_or_else(|| damaged("transaction runs past the end"))?;
            txs.push(tx.to_vec());
            rest = tail;
        }
        Ok(BlockEntry { hash, txs })
    }
}

/// The index database.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Open or create; refuses a different schema version. A new index is built under a temporary
    /// name and renamed into place, so a kill during creation never leaves a half-made file.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            let tmp = path.with_extension("redb.new");
            let _ = std::fs::remove_file(&tmp);
            drop(Store::init(&tmp)?);
            std::fs::rename(&tmp, path).map_err(|e| StoreError::Db {
                path: path.into(),
                reason: e.to_string(),
            })?;
        }
        Store::init(path)
    }

    fn init(path: &Path) -> Result<Store, StoreError> {
        let err = |e: &dyn std::fmt::Display| StoreError::Db {
            path: path.into(),
            reason: e.to_string(),
        };
        let db = Database::create(path).map_err(|e| err(&e))?;
        let store = Store {
            db,
            path: path.into(),
        };
        let txn = store.db.begin_write().map_err(|e| err(&e))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| err(&e))?;
            let found = meta
                .get("schema_version")
                .map_err(|e| err(&e))?
                .map(|v| v.value().to_vec());
            match found {
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())
                        .map_err(|e| err(&e))?;
                }
                Some(v) => {
                    let found = v
                        .as_slice()
                        .try_into()
                        .map(u32::from_le_bytes)
                        .unwrap_or(u32::MAX);
                    if found != SCHEMA_VERSION {
                        return Err(StoreError::SchemaMismatch {
                            path: path.into(),
                            found,
                            expected: SCHEMA_VERSION,
                        });
                    }
                }
            }
            txn.open_table(BLOCKS).map_err(|e| err(&e))?;
        }
        txn.commit().map_err(|e| err(&e))?;
        Ok(store)
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Db {
            path: self.path.clone(),
            reason: e.to_string(),
        }
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

    /// Record a scanned block (its CVP transactions and the new cursor) atomically.
    pub fn put_block(&self, height: u32, entry: &BlockEntry) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = txn.open_table(BLOCKS).map_err(|e| self.err(e))?;
            t.insert(height, entry.encode().as_slice())
                .map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Forget blocks at and above `height` (a reorg replaced them).
    pub fn truncate_from(&self, height: u32) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = txn.open_table(BLOCKS).map_err(|e| self.err(e))?;
            t.retain_in(height.., |_, _| false)
                .map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Every stored block, in height order.
    pub fn blocks(&self) -> Result<Vec<(u32, BlockEntry)>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(BLOCKS).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for item in t.range::<u32>(..).map_err(|e| self.err(e))? {
            let (k, v) = item.map_err(|e| self.err(e))?;
            out.push((k.value(), BlockEntry::decode(k.value(), v.value())?));
        }
        Ok(out)
    }
}
