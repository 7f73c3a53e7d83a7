//! The few bencode values a swarm's torrent needs (BEP 3), written with their dictionary keys
//! sorted as BEP 3 requires, so the same files always give the same infohash.

/// A bencoded value.
#[derive(Debug, Clone)]
pub(crate) enum Value<'a> {
    Int(u64),
    Bytes(&'a [u8]),
    List(Vec<Value<'a>>),
    /// Keys (byte strings) are sorted when written.
    Dict(Vec<(&'a [u8], Value<'a>)>),
}

impl Value<'_> {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(n) => {
                out.push(b'i');
                out.extend_from_slice(n.to_string().as_bytes());
                out.push(b'e');
            }
            Value::Bytes(b) => {
                out.extend_from_slice(b.len().to_string().as_bytes());
                out.push(b':');
                out.extend_from_slice(b);
            }
            Value::List(items) => {
                out.push(b'l');
                for v in items {
                    v.write(out);
                }
                out.push(b'e');
            }
            Value::Dict(entries) => {
                let mut sorted: Vec<&(&[u8], Value<'_>)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                out.push(b'd');
                for (k, v) in sorted {
                    Value::Bytes(k).write(out);
                    v.write(out);
                }
                out.push(b'e');
            }
        }
    }

    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Value;

    #[test]
    fn values_are_written_as_bep_3_says_with_sorted_keys() {
        let v = Value::Dict(vec![
            (b"zz", Value::Int(0)),
            (
                b"a",
                Value::List(vec![Value::Bytes(b"spam"), Value::Int(42)]),
            ),
            (b"piece length", Value::Int(16_384)),
        ]);
        assert_eq!(
            v.to_vec(),
            b"d1:al4:spami42ee12:piece lengthi16384e2:zzi0ee".to_vec()
        );
    }
}
