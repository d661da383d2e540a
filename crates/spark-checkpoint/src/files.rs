//! Checkpoint file names (`checkpoint-<ms>[.bk]`) and the order Spark's `CheckpointReader` tries them in.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointName {
    pub time: i64,
    /// What follows the digits (`.bk` for the backup the writer renames aside).
    pub suffix: String,
    pub is_backup: bool,
}

impl CheckpointName {
    /// Matches Spark's `checkpoint-([\d]+)([\w\.]*)` against the whole name.
    pub fn parse(name: &str) -> Option<CheckpointName> {
        let rest = name.strip_prefix("checkpoint-")?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let (num, suffix) = rest.split_at(digits);
        if !suffix.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            return None;
        }
        let time = num.parse().ok()?;
        // Spark sorts any non-empty suffix as the backup of that time.
        Some(CheckpointName { time, suffix: suffix.to_string(), is_backup: !suffix.is_empty() })
    }
}

/// Newest first, and for the same time the plain file before its `.bk`: the order Spark reads them in,
/// taking the first that deserializes. Names that are not checkpoint files are dropped.
pub fn reader_order<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(&'a str, CheckpointName)> {
    let mut files: Vec<_> = names.into_iter().filter_map(|n| CheckpointName::parse(n).map(|c| (n, c))).collect();
    files.sort_by(|(an, a), (bn, b)| b.time.cmp(&a.time).then(a.is_backup.cmp(&b.is_backup)).then(an.cmp(bn)));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_backup_names() {
        let c = CheckpointName::parse("checkpoint-1795615285000").unwrap();
        assert_eq!((c.time, c.is_backup), (1795615285000, false));
        let b = CheckpointName::parse("checkpoint-1795615285000.bk").unwrap();
        assert_eq!((b.time, b.suffix.as_str(), b.is_backup), (1795615285000, ".bk", true));
        assert_eq!(CheckpointName::parse("temp"), None);
        assert_eq!(CheckpointName::parse(".checkpoint-1.crc"), None);
        assert_eq!(CheckpointName::parse("checkpoint-"), None);
        assert_eq!(CheckpointName::parse("checkpoint-12-x"), None);
    }

    #[test]
    fn reader_order_is_newest_first_plain_before_backup() {
        let names = ["checkpoint-1000.bk", "temp", "checkpoint-2000", "checkpoint-1000", "checkpoint-2000.bk", ".checkpoint-2000.crc"];
        let order: Vec<&str> = reader_order(names).into_iter().map(|(n, _)| n).collect();
        assert_eq!(order, ["checkpoint-2000", "checkpoint-2000.bk", "checkpoint-1000", "checkpoint-1000.bk"]);
    }
}
