//! Decode time per checkpoint fixture, natively (for the performance note; not a test):
//! `cargo run --release -p spark-checkpoint --example timing [files…]`.

use std::time::Instant;

use spark_checkpoint::{inspect, Limits};

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    if files.is_empty() {
        for dir in ["spark", "standin"] {
            for sub in std::fs::read_dir(root.join(dir)).into_iter().flatten().flatten() {
                for f in std::fs::read_dir(sub.path()).into_iter().flatten().flatten() {
                    if f.file_name().to_string_lossy().starts_with("checkpoint-") {
                        files.push(f.path());
                    }
                }
            }
        }
    }
    files.sort();
    let limits = Limits::default();
    for path in files {
        let bytes = std::fs::read(&path).expect("read");
        let name = path.file_name().and_then(|n| n.to_str());
        let ok = inspect(name, &bytes, &limits).is_ok();
        let rounds = 200;
        let start = Instant::now();
        for _ in 0..rounds {
            let _ = std::hint::black_box(inspect(name, std::hint::black_box(&bytes), &limits));
        }
        let per = start.elapsed() / rounds;
        let shown = path.strip_prefix(&root).unwrap_or(&path).display();
        println!("{shown:<75} {:>6} B  {:>8.1} µs  {}", bytes.len(), per.as_secs_f64() * 1e6, if ok { "ok" } else { "error" });
    }
}
