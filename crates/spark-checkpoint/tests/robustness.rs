//! Mutation test (deterministic seed) over the real fixtures, plus hand-made hostile streams: never a panic,
//! always a clear error. Runs in `cargo test`; the cargo-fuzz target in fuzz/ explores further.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use spark_checkpoint::{inspect, jser, Limits};

/// xorshift64*: reproducible without a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut m = input.to_vec();
    match rng.below(6) {
        0 => m.truncate(rng.below(input.len())),
        1 => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(m.len());
                m[i] ^= 1 << rng.below(8);
            }
        }
        2 => {
            // A huge or negative length where a length might be.
            let i = rng.below(m.len().saturating_sub(4));
            let v: [u8; 4] = match rng.below(3) {
                0 => [0x7F, 0xFF, 0xFF, 0xFF],
                1 => [0xFF, 0xFF, 0xFF, 0xFF],
                _ => [0x00, 0x01, 0x00, 0x00],
            };
            m[i..i + 4].copy_from_slice(&v);
        }
        3 => {
            let i = rng.below(m.len());
            m[i] = [0x70, 0x71, 0x72, 0x73, 0x75, 0x77, 0x78, 0x79, 0x7B, 0x7C, 0x7D, 0x7E][rng.below(12)];
        }
        4 => {
            // Duplicate a slice: repeated handles, repeated blocks.
            let a = rng.below(m.len());
            let b = (a + rng.below(64)).min(m.len());
            let piece = m[a..b].to_vec();
            let at = rng.below(m.len());
            m.splice(at..at, piece);
        }
        _ => {
            let a = rng.below(m.len());
            let b = (a + rng.below(32)).min(m.len());
            m.drain(a..b);
        }
    }
    m
}

fn inputs() -> Vec<(String, Vec<u8>)> {
    let root = common::fixtures();
    let mut out = Vec::new();
    let mut dirs = vec!["standin/kafka-subscribe".to_string(), "java".into(), "codec".into()];
    // Real Spark files when present (the newest of each folder keeps the run short).
    for e in std::fs::read_dir(root.join("spark")).into_iter().flatten().flatten() {
        dirs.push(format!("spark/{}", e.file_name().to_string_lossy()));
    }
    for dir in &dirs {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let keep = name.starts_with("checkpoint-") || name.ends_with(".ser") || name.starts_with("collections.ser.");
            if keep && name != "longstring.ser" {
                out.push((format!("{dir}/{name}"), std::fs::read(e.path()).unwrap()));
            }
        }
        if dir.starts_with("spark/") {
            // Only the newest file of a real Spark folder (its siblings have the same shape).
            let mut mine: Vec<_> = out.iter().filter(|(n, _)| n.starts_with(dir.as_str())).map(|(n, _)| n.clone()).collect();
            mine.sort();
            mine.pop();
            out.retain(|(n, _)| !mine.contains(n));
        }
    }
    // The decompressed checkpoints too: mutations of compressed bytes mostly stop at a checksum.
    let limits = Limits::default();
    let compressed: Vec<_> = out.iter().filter(|(n, _)| n.contains("checkpoint-")).cloned().collect();
    for (name, bytes) in compressed {
        if let Ok((raw, _)) = spark_checkpoint::codec::decompress(&bytes, &limits) {
            out.push((format!("{name} (decompressed)"), raw));
        }
    }
    out.sort();
    out
}

#[test]
fn mutated_fixtures_never_panic_and_errors_say_where() {
    let limits = Limits { max_decompressed: 8 << 20, ..Limits::default() };
    let mut rng = Rng(0x0FF5_E71A_B5EE_D001);
    let (mut ok, mut errors) = (0usize, 0usize);
    let inputs = inputs();
    assert!(inputs.len() >= 20, "{} inputs", inputs.len());
    for (name, input) in &inputs {
        for round in 0..300 {
            let m = mutate(&mut rng, input);
            let result = catch_unwind(AssertUnwindSafe(|| {
                let r = inspect(Some("checkpoint-1"), &m, &limits);
                if let Ok(ins) = &r {
                    // Rendering and summarising must be safe on whatever decoded.
                    let _ = ins.raw_tree(&limits);
                    let _ = spark_checkpoint::text::summary(ins);
                }
                r.map(|_| ())
            }));
            match result {
                Err(_) => panic!("panic on {name}, round {round}, mutated input {:02x?}", m),
                Ok(Ok(())) => ok += 1,
                Ok(Err(e)) => {
                    errors += 1;
                    let text = e.to_string();
                    assert!(e.offset.is_some() || text.starts_with("spark checkpoint: "), "{name}: vague error {text}");
                }
            }
        }
    }
    // Most mutations must be caught; a few (a flipped bit inside a string) legitimately still decode.
    assert!(errors > ok, "{errors} errors vs {ok} decodes");
}

fn stream(body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xAC, 0xED, 0x00, 0x05];
    v.extend_from_slice(body);
    v
}

#[test]
fn hostile_lengths_are_refused_before_allocating() {
    let limits = Limits::default();
    // TC_ARRAY of [J (long[]) claiming 2^31-1 elements.
    let arr = stream(&[0x75, 0x72, 0, 2, b'[', b'J', 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0x78, 0x70, 0x7F, 0xFF, 0xFF, 0xFF]);
    let e = jser::parse(&arr, &limits).unwrap_err().to_string();
    assert!(e.contains("array [J of length 2147483647 with 0 bytes left"), "{e}");
    // TC_LONGSTRING claiming 2^62 bytes.
    let s = stream(&[0x7C, 0x40, 0, 0, 0, 0, 0, 0, 0, b'x']);
    let e = jser::parse(&s, &limits).unwrap_err().to_string();
    assert!(e.contains("TC_LONGSTRING length 4611686018427387904 with 1 bytes left"), "{e}");
    // A reference to a handle that was never assigned.
    let r = stream(&[0x71, 0x00, 0x7E, 0x00, 0x05]);
    let e = jser::parse(&r, &limits).unwrap_err().to_string();
    assert!(e.contains("TC_REFERENCE to handle 0x7e0005, but only 0 handles exist"), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // 100 000 nested Object[] arrays: each level a TC_ARRAY of length 1.
    let mut body = vec![0x75, 0x72, 0, 19];
    body.extend_from_slice(b"[Ljava.lang.Object;");
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0x78, 0x70, 0, 0, 0, 1]);
    for _ in 0..100_000 {
        body.extend_from_slice(&[0x75, 0x71, 0x00, 0x7E, 0x00, 0x00, 0, 0, 0, 1]);
    }
    let e = jser::parse(&stream(&body), &Limits::default()).unwrap_err().to_string();
    assert!(e.contains("nesting deeper than 200"), "{e}");
}

#[test]
fn a_class_that_is_its_own_superclass_is_refused() {
    // TC_OBJECT, classDesc "A" whose super descriptor is a reference to itself (handle 0x7e0000).
    let body = [0x73, 0x72, 0, 1, b'A', 0, 0, 0, 0, 0, 0, 0, 1, 0x02, 0, 0, 0x78, 0x71, 0x00, 0x7E, 0x00, 0x00];
    let e = jser::parse(&stream(&body), &Limits::default()).unwrap_err().to_string();
    assert!(e.contains("not a class descriptor"), "{e}");
}

#[test]
fn truncated_java_streams_name_what_was_being_read() {
    let raw = std::fs::read(common::fixtures().join("java/prims.ser")).unwrap();
    for len in 0..raw.len() {
        let e = inspect(None, &raw[..len], &Limits::default()).unwrap_err().to_string();
        assert!(
            e.contains("the stream was cut") || e.contains("not closed") || e.contains("unknown format") || e.contains("no object"),
            "prefix {len}: {e}"
        );
    }
}
