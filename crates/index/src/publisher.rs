//! Who published a content (docs/cvp.md, "Publishers"): the owner of the coin its header
//! transaction spends in its first input. Only that key's holder can sign the header transaction,
//! so nobody can publish under another's key; a title, by contrast, anyone can copy, so contents
//! whose titles match another publisher's are marked as look-alikes.

use crate::snapshot::ContentSummary;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::Script;
use serde::Serialize;
use std::collections::HashMap;

/// A content's publisher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Publisher {
    /// The publisher key: the 32-byte Taproot output key in hex, or for any other kind of coin
    /// `script:` and the hex SHA-256 of its script.
    pub key: String,
    /// The first 16 hex digits of the key: what people compare.
    pub fingerprint: String,
    /// The name the publisher gives itself (self-declared: shown beside the key, never instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Publisher {
    /// The publisher that owns coins paid to `script`.
    pub fn of_script(script: &Script, name: Option<String>) -> Publisher {
        let b = script.as_bytes();
        let key = if script.is_p2tr() {
            hex::encode(&b[2..34])
        } else {
            format!("script:{}", sha256::Hash::hash(b))
        };
        let fingerprint = key.trim_start_matches("script:").chars().take(16).collect();
        Publisher {
            key,
            fingerprint,
            name,
        }
    }

    /// True when `pin` names this publisher: its whole key, or its fingerprint (at least 16 hex
    /// digits of the start of the key), case-insensitive.
    pub fn matches(&self, pin: &str) -> bool {
        let pin = pin.trim().to_ascii_lowercase();
        let key = self.key.trim_start_matches("script:");
        let pin = pin.trim_start_matches("script:");
        pin.len() >= 16 && key.starts_with(pin)
    }
}

/// A title as compared for look-alikes: case-folded, with runs of white space (and the invisible
/// format characters that hide between letters) folded to one space.
pub fn normalize_title(t: &str) -> String {
    let visible: String = t
        .chars()
        .filter(|c| !matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{ad}'))
        .collect();
    visible
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Mark contents whose titles match a content of another publisher. In each group of equal
/// titles the original is the earliest (lowest first block; the mempool last; then the id);
/// every content of another publisher in the group is a look-alike of it, and the original lists
/// them. A content whose publisher is not known yet counts as a publisher of its own.
pub fn mark_lookalikes(summaries: &mut [ContentSummary]) {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, s) in summaries.iter().enumerate() {
        if let Some(t) = s.header.title.as_deref().map(normalize_title) {
            if !t.is_empty() {
                groups.entry(t).or_default().push(i);
            }
        }
    }
    for members in groups.into_values().filter(|m| m.len() > 1) {
        let key = |i: usize| {
            let s = &summaries[i];
            (s.first_block.unwrap_or(u32::MAX), s.id)
        };
        let Some(&original) = members.iter().min_by_key(|i| key(**i)) else {
            continue;
        };
        let owner = summaries[original]
            .publisher
            .as_ref()
            .map(|p| p.key.clone());
        let mut copies = Vec::new();
        for &i in &members {
            let theirs = summaries[i].publisher.as_ref().map(|p| p.key.clone());
            if i != original && (theirs.is_none() || theirs != owner) {
                summaries[i].lookalike_of = Some(summaries[original].id);
                copies.push(summaries[i].id);
            }
        }
        summaries[original].lookalikes = copies;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_match_across_case_spaces_and_invisible_characters() {
        assert_eq!(normalize_title("Big Buck Bunny"), "big buck bunny");
        assert_eq!(
            normalize_title("  BIG\tbuck\u{200b}  bunny "),
            "big buck bunny"
        );
        assert_ne!(normalize_title("Big Buck Bunny 2"), "big buck bunny");
    }

    #[test]
    fn a_publisher_is_named_by_its_key_or_fingerprint() {
        let key = [7u8; 32];
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let xonly = bitcoin::secp256k1::XOnlyPublicKey::from_slice(
            &bitcoin::secp256k1::Keypair::from_seckey_slice(&secp, &key)
                .map(|k| k.x_only_public_key().0.serialize())
                .unwrap_or([2u8; 32]),
        );
        let Ok(xonly) = xonly else { return };
        let script = bitcoin::ScriptBuf::new_p2tr_tweaked(
            bitcoin::key::TweakedPublicKey::dangerous_assume_tweaked(xonly),
        );
        let p = Publisher::of_script(&script, None);
        assert_eq!(p.key, hex::encode(xonly.serialize()));
        assert_eq!(p.fingerprint.len(), 16);
        assert!(p.matches(&p.key));
        assert!(p.matches(&p.fingerprint.to_uppercase()));
        assert!(
            !p.matches(&p.fingerprint[..8]),
            "too short to mean anything"
        );
        let other = Publisher::of_script(bitcoin::Script::from_bytes(&[0x51]), None);
        assert!(other.key.starts_with("script:"));
        assert!(!other.matches(&p.fingerprint));
    }
}
