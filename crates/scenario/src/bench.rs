//! Benchmarks (figures, never pass/fail): engine throughput and overheads against the in-memory model.

pub fn print_all() {
    println!("bench: not written yet");
}
