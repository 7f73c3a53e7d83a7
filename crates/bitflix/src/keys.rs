//! The publisher's key, created on first use in the data directory with 0600 permissions and never
//! printed. (A BIP39/BIP86 wallet is planned; this is one Taproot key.)

use anyhow::Context;
use bitcoin::key::Keypair;
use bitcoin::secp256k1::{rand, Secp256k1, SecretKey};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Load `DATADIR/publisher.key`, creating it if missing.
pub fn publisher(datadir: &Path) -> anyhow::Result<wallet::Signer> {
    std::fs::create_dir_all(datadir).with_context(|| format!("creating {}", datadir.display()))?;
    let path = datadir.join("publisher.key");
    let secp = Secp256k1::new();
    if !path.exists() {
        let sk = SecretKey::new(&mut rand::thread_rng());
        let tmp = datadir.join("publisher.key.tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .context("creating the key file")?;
        f.write_all(hex::encode(sk.secret_bytes()).as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path).context("saving the key file")?;
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim()).context("the key file is not hex")?;
    let sk = SecretKey::from_slice(&bytes).context("the key file does not hold a valid key")?;
    Ok(wallet::Signer::new(Keypair::from_secret_key(&secp, &sk)))
}

/// The secret key as hex, for `bitflix wallet backup` only.
pub fn secret_hex(datadir: &Path) -> anyhow::Result<String> {
    publisher(datadir)?;
    let text =
        std::fs::read_to_string(datadir.join("publisher.key")).context("reading the key file")?;
    Ok(text.trim().to_string())
}
