//! Serde helpers: bytes as lower-case hex strings in JSON (test vectors, `--json` output). One
//! module for every byte field: `#[serde(with = "crate::serde_hex")]` for `Vec<u8>` and `[u8; N]`,
//! [`opt`] for an `Option` of either (hex or null), [`list`] for a `Vec` of either.

use hex::FromHex;
use serde::{Deserialize, Deserializer, Serializer};

/// Bytes that serialize as hex: `Vec<u8>` and byte arrays.
pub trait HexBytes: AsRef<[u8]> + FromHex<Error = hex::FromHexError> {}
impl<T: AsRef<[u8]> + FromHex<Error = hex::FromHexError>> HexBytes for T {}

fn decode<T: HexBytes, E: serde::de::Error>(s: &str) -> Result<T, E> {
    T::from_hex(s).map_err(E::custom)
}

/// Serialize as hex.
pub fn serialize<T: HexBytes, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}

/// Deserialize from hex (an array's length must match exactly).
pub fn deserialize<'de, T: HexBytes, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    decode(&String::deserialize(d)?)
}

/// `Option<_>` as hex or null.
pub mod opt {
    use super::HexBytes;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize as hex or null.
    pub fn serialize<T: HexBytes, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => super::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    /// Deserialize from hex or null.
    pub fn deserialize<'de, T: HexBytes, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| super::decode(&s))
            .transpose()
    }
}

/// `Vec<_>` as a list of hex strings.
pub mod list {
    use super::HexBytes;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize as hex strings.
    pub fn serialize<T: HexBytes, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(hex::encode))
    }

    /// Deserialize from hex strings.
    pub fn deserialize<'de, T: HexBytes, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| super::decode(s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct All {
        #[serde(with = "crate::serde_hex")]
        bytes: Vec<u8>,
        #[serde(with = "crate::serde_hex")]
        sig: [u8; 64],
        #[serde(with = "crate::serde_hex::opt")]
        root: Option<[u8; 32]>,
        #[serde(with = "crate::serde_hex::opt")]
        poster: Option<Vec<u8>>,
        #[serde(with = "crate::serde_hex::list")]
        hashes: Vec<[u8; 32]>,
    }

    #[test]
    fn every_shape_round_trips_and_lengths_are_exact() {
        let all = All {
            bytes: vec![0xab, 0x01],
            sig: [7; 64],
            root: Some([1; 32]),
            poster: None,
            hashes: vec![[2; 32], [3; 32]],
        };
        let json = serde_json::to_string(&all).unwrap();
        assert!(json.contains(r#""bytes":"ab01""#), "{json}");
        assert!(json.contains(r#""poster":null"#), "{json}");
        assert_eq!(serde_json::from_str::<All>(&json).unwrap(), all);
        let short = json.replace(&"01".repeat(32), &"01".repeat(31));
        assert!(serde_json::from_str::<All>(&short).is_err());
        let upper = json.replace("ab01", "AB01");
        assert_eq!(serde_json::from_str::<All>(&upper).unwrap(), all);
    }
}
