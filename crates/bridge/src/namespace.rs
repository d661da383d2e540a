//! Per-connection namespaces: a client may only touch topics and groups whose names start with its prefix.

/// A namespace prefix: `lab-` + 12 hex digits + `-`, or empty when namespaces are off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    /// No restriction (the bridge was started with `--no-namespace`).
    pub fn open() -> Namespace {
        Namespace(String::new())
    }

    /// A fresh prefix, 48 random bits from the OS. Unguessable is not what protects a lab (the page shows
    /// its namespace on screen); its secret does. Random keeps two labs from ever sharing a name.
    pub fn fresh() -> Namespace {
        Namespace(format!("lab-{}-", crate::secret::random_hex(6)))
    }

    /// A prefix read back from the bridge's own state (participants.json), if well-formed. Never from a
    /// client: a client resumes a lab with its secret.
    pub fn parse(prefix: &str) -> Option<Namespace> {
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
        let ns = Namespace::parse("lab-0123456789ab-").unwrap();
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
        assert_eq!(Namespace::parse(a.prefix()), Some(a.clone()));
        assert_ne!(a, b);
        assert_eq!(Namespace::parse("lab-XYZ-"), None);
        assert_eq!(Namespace::parse("lab-0123456789ab"), None);
    }
}
