//! The generated part of a Structured Streaming group id written as `<uuid>-<hash>`, as the reference diff masks it,
//! so an expectation can name `spark-kafka-source-<uuid>-<hash>-executor` on the engine and on real Spark alike.

/// `-<36-char UUID>-<Java hashCode, maybe negative>` → `-<uuid>-<hash>`; anything else is kept.
pub fn mask_generated(group: &str) -> String {
    let b = group.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = generated_at(b, i) {
            out.push_str("-<uuid>-<hash>");
            i = end;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The end of `-UUID-[-]digits` starting at `i`, if one starts there.
fn generated_at(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'-') {
        return None;
    }
    let mut j = i + 1;
    for (n, len) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if n > 0 {
            (b.get(j) == Some(&b'-')).then_some(())?;
            j += 1;
        }
        let hex = b.get(j..j + len)?;
        hex.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c)).then_some(())?;
        j += len;
    }
    (b.get(j) == Some(&b'-')).then_some(())?;
    j += 1;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    let digits = b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
    (digits > 0).then_some(j + digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_uuid_and_the_hash() {
        assert_eq!(
            mask_generated("spark-kafka-source-beeb8da1-658e-4c67-b893-a2eefb32555e--717994655-executor"),
            "spark-kafka-source-<uuid>-<hash>-executor"
        );
        assert_eq!(mask_generated("myapp-beeb8da1-658e-4c67-b893-a2eefb32555e-42-executor"), "myapp-<uuid>-<hash>-executor");
        assert_eq!(mask_generated("fixed-group"), "fixed-group");
        assert_eq!(mask_generated("a-beeb8da1-658e-4c67-b893-a2eefb32555e-executor"), "a-beeb8da1-658e-4c67-b893-a2eefb32555e-executor");
    }
}
