//! Per-connection namespaces: a client may only touch topics and groups whose names start with its prefix.

use std::hash::{BuildHasher, Hasher};

/// A namespace prefix: `lab-` + 12 hex digits + `-`, or empty when namespaces are off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    /// No restriction (the bridge was started with `--no-namespace`).
    pub fn open() -> Namespace {
        Namespace(String::new())
    }

    /// A fresh, unguessable prefix.
    pub fn fresh() -> Namespace {
        // RandomState is seeded from the OS per process and differs per instance: good enough for names
        // that only need to be hard to guess, without a `rand` dependency.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        Namespace(format!("lab-{:012x}-", h.finish() & 0xffff_ffff_ffff))
    }

    /// A prefix a client asks to resume, if well-formed.
    pub fn resume(prefix: &str) -> Option<Namespace> {
        let hex = prefix.strip_prefix("lab-")?.strip_suffix('-')?;
        (hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then(|| Namespace(prefix.to_string()))
    }

    pub fn prefix(&self) -> &str {
        &self.0
    }

    /// Ok when `name` (a topic or group) belongs to this namespace.
    pub fn check(&self, kind: &str, name: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err(format!("{kind} name is empty"));
        }
        if self.0.is_empty() || (name.starts_with(&self.0) && name.len() > self.0.len()) {
            Ok(())
        } else {
            Err(format!("{kind} `{name}` is outside this connection's namespace; names must start with `{}`", self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_carry_the_prefix() {
        let ns = Namespace::resume("lab-0123456789ab-").unwrap();
        assert!(ns.check("topic", "lab-0123456789ab-words").is_ok());
        assert!(ns.check("topic", "lab-0123456789ab-").is_err());
        let e = ns.check("group", "lab-ffffffffffff-g").unwrap_err();
        assert!(e.contains("outside this connection's namespace") && e.contains("lab-0123456789ab-"), "{e}");
        assert!(ns.check("topic", "__consumer_offsets").is_err());
        assert!(Namespace::open().check("topic", "__consumer_offsets").is_ok());
    }

    #[test]
    fn fresh_prefixes_are_well_formed_and_differ() {
        let (a, b) = (Namespace::fresh(), Namespace::fresh());
        assert_eq!(Namespace::resume(a.prefix()), Some(a.clone()));
        assert_ne!(a, b);
        assert_eq!(Namespace::resume("lab-XYZ-"), None);
        assert_eq!(Namespace::resume("lab-0123456789ab"), None);
    }
}
