//! `cargo xtask workshop`: the demo's installs, then Kafka and the bridge in workshop mode on a LAN
//! address, the participant URL (with the join code) as text and as a QR code in the terminal, and the
//! teacher's URL. `--clean` removes everything a workshop made; `bench` measures a simulated room
//! (docs/workshop.md).

use crate::util::{cargo, run, step};
use crate::{kafka, Ctx};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const HELP: &str = "usage: cargo xtask workshop [--listen 0.0.0.0:8787] [--clean] [-- BRIDGE-FLAGS...]
  (no flag)   build the page, start Kafka and the bridge in workshop mode, print the participant URL,
              its QR code and the teacher URL; Ctrl-C stops the bridge (labs stay for a restart)
  --listen    the address to serve on (default 0.0.0.0:8787: every interface, so the room reaches it)
  --clean     delete every lab's topics, groups and checkpoint folder, and the workshop's state folder
  bench [--participants 50] [--seconds 300] [--only calm|restarts]
              simulated participants over the websocket against the real Kafka, undisturbed and then with
              Kafka and the bridge each restarted once: errors, lost records, latency, CPU, RSS
  bench --soak [--participants 50] [--seconds 480] [--volume-mib 60]
              a 3-hour workshop's volume in compressed time; the broker's disk sampled every 30 s
  -- ...      passed to the bridge (e.g. --idle-timeout 30m --max-topics 3)";

/// Where a workshop keeps its files: `state/` (join code, teacher secret, participants.json) and
/// `checkpoints/` (one folder per lab).
fn home(ctx: &Ctx) -> PathBuf {
    ctx.cache.join("workshop")
}

pub fn cli(ctx: &Ctx, args: &[String]) -> Result<(), String> {
    let (ours, bridge_flags) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    if ours.first().is_some_and(|a| a == "bench") {
        return bench(ctx, &ours[1..]);
    }
    let mut listen = "0.0.0.0:8787".to_string();
    let mut clean = false;
    let mut it = ours.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--listen" => listen = it.next().ok_or("--listen needs an address")?.clone(),
            "--clean" => clean = true,
            "-h" | "--help" | "help" => {
                println!("{HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{HELP}")),
        }
    }
    if clean {
        return clean_workshop(ctx);
    }
    let addr: SocketAddr = listen.parse().map_err(|e| format!("--listen {listen}: {e} (e.g. 0.0.0.0:8787)"))?;
    let dist = crate::serve_setup(ctx)?;
    let home = home(ctx);
    let state = home.join("state");
    let mut bridge = Command::new(ctx.root.join("target/debug/bridge"));
    bridge
        .args(["--listen", &listen, "--bootstrap", &kafka::bootstrap(), "--dist"])
        .arg(&dist)
        .arg("--checkpoints")
        .arg(home.join("checkpoints"))
        .arg("--workshop")
        .arg(&state)
        .args(bridge_flags);
    let mut child = bridge.spawn().map_err(|e| format!("cannot start the bridge: {e}"))?;
    // The bridge makes the join code and teacher secret (once) before it serves.
    let started = Instant::now();
    let (join, teacher) = loop {
        let read = |f: &str| std::fs::read_to_string(state.join(f)).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        if let (Some(j), Some(t)) = (read("join-code"), read("teacher-secret")) {
            break (j, t);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the bridge stopped at start: {status}"));
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            return Err(format!("the bridge made no join code in {} within 30 s", state.display()));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let hosts = lan_hosts(addr.ip());
    let host = hosts.first().cloned().unwrap_or_else(|| addr.ip().to_string());
    let port = addr.port();
    let participant = format!("http://{host}:{port}/?join={join}");
    println!("\nOffset Lab workshop (Kafka at {}, state in {})\n", kafka::bootstrap(), state.display());
    println!("Participants open (or scan):\n\n  {participant}\n");
    println!("{}", qr(&participant)?);
    if hosts.len() > 1 {
        println!("This machine has other addresses; if the room cannot reach {host}, use one of:");
        for h in &hosts[1..] {
            println!("  http://{h}:{port}/?join={join}");
        }
        println!();
    }
    println!("Teacher (keep this one to yourself):\n\n  http://{host}:{port}/teacher?secret={teacher}\n");
    println!("Ctrl-C stops the bridge (labs are kept for a restart); `cargo xtask workshop --clean` removes everything afterwards.\n");
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the bridge stopped: {status}"))
    }
}

/// The addresses participants can use: the listen address itself, or for 0.0.0.0 this machine's
/// non-loopback IPv4 addresses (`hostname -I`), the one a default route would use first.
fn lan_hosts(listen: IpAddr) -> Vec<String> {
    if !listen.is_unspecified() {
        return vec![listen.to_string()];
    }
    let mut hosts: Vec<Ipv4Addr> = Vec::new();
    // A UDP "connect" sends nothing; it only asks the kernel which local address routes outwards.
    if let Ok(s) = std::net::UdpSocket::bind("0.0.0.0:0") {
        if s.connect("192.0.2.1:9").is_ok() {
            if let Ok(SocketAddr::V4(a)) = s.local_addr() {
                if !a.ip().is_loopback() && !a.ip().is_unspecified() {
                    hosts.push(*a.ip());
                }
            }
        }
    }
    if let Ok(out) = Command::new("hostname").arg("-I").output() {
        for w in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(ip) = w.parse::<Ipv4Addr>() {
                if !ip.is_loopback() && !hosts.contains(&ip) {
                    hosts.push(ip);
                }
            }
        }
    }
    if hosts.is_empty() {
        eprintln!("no LAN address found (no network?): printing 127.0.0.1, which only this machine can open");
        hosts.push(Ipv4Addr::LOCALHOST);
    }
    hosts.into_iter().map(|h| h.to_string()).collect()
}

/// The URL as a QR code of half-height block characters, dark on light, with the quiet zone.
fn qr(url: &str) -> Result<String, String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| format!("QR code of {url}: {e}"))?;
    Ok(code.render::<Dense1x2>().dark_color(Dense1x2::Light).light_color(Dense1x2::Dark).quiet_zone(true).build())
}

/// `workshop bench`: the bridge (release) as a process of its own, driven by
/// `crates/bridge/examples/workshop_bench.rs`.
fn bench(ctx: &Ctx, args: &[String]) -> Result<(), String> {
    kafka::ensure_started(ctx)?;
    step("building the bridge and the workshop benchmark (release)");
    run(cargo(&ctx.root).args(["build", "-q", "--release", "-p", "bridge", "--bin", "bridge", "--example", "workshop_bench"]))?;
    let mut extra = Vec::new();
    if args.iter().any(|a| a == "--soak") {
        extra.push("--kafka-data".to_string());
        extra.push(kafka::data_dir(ctx).display().to_string());
        if !args.iter().any(|a| a == "--seconds") {
            extra.extend(["--seconds".to_string(), "480".to_string()]);
        }
    }
    run(Command::new(ctx.root.join("target/release/examples/workshop_bench"))
        .args(["--bootstrap", &kafka::bootstrap(), "--bridge"])
        .arg(ctx.root.join("target/release/bridge"))
        .arg("--xtask")
        .arg(crate::util::xtask_exe()?)
        .arg("--kafka-pid-file")
        .arg(kafka::pid_file(ctx))
        .args(args)
        .args(extra))
}

/// Removes every lab's topics, groups and checkpoint folder (Kafka must run for that), then the
/// workshop's folder, and says what it removed.
fn clean_workshop(ctx: &Ctx) -> Result<(), String> {
    let home = home(ctx);
    if !home.exists() {
        println!("nothing to clean: {} does not exist", home.display());
        return Ok(());
    }
    kafka::ensure_started(ctx)?;
    step("building the bridge");
    run(cargo(&ctx.root).args(["build", "-q", "-p", "bridge"]))?;
    step("removing the workshop's labs");
    run(Command::new(ctx.root.join("target/debug/bridge"))
        .args(["--clean", "--bootstrap", &kafka::bootstrap(), "--checkpoints"])
        .arg(home.join("checkpoints"))
        .arg("--workshop")
        .arg(home.join("state")))?;
    std::fs::remove_dir_all(&home).map_err(|e| format!("{}: {e}", home.display()))?;
    println!("removed {} (the workshop's folder)", home.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_address_is_used_as_is_and_the_qr_code_is_square() {
        assert_eq!(lan_hosts("192.168.1.23".parse().unwrap()), vec!["192.168.1.23".to_string()]);
        let code = qr("http://192.168.1.23:8787/?join=0123456789ab").unwrap();
        let lines: Vec<&str> = code.lines().collect();
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width));
        // Two modules per character row: rows ≈ width / 2.
        assert!((lines.len() as i64 - (width as i64 + 1) / 2).abs() <= 1, "{} rows of {width}", lines.len());
    }
}
