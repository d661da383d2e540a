//! `bridge`: serve the Offset Lab page and its websocket in front of a real Kafka.

use bridge::server::{serve, Config};

const USAGE: &str = "usage: bridge [--listen 127.0.0.1:8787] [--bootstrap 127.0.0.1:9092] [--dist DIR]
              [--allow-origin ORIGIN]... [--token TOKEN] [--no-namespace] [--checkpoints DIR]
env: OFFSET_LAB_BRIDGE_LISTEN, OFFSET_LAB_KAFKA_BOOTSTRAP, OFFSET_LAB_CHECKPOINTS (default .cache/checkpoints)";

fn main() {
    if let Err(e) = run() {
        eprintln!("bridge: {e}\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut listen = std::env::var("OFFSET_LAB_BRIDGE_LISTEN").unwrap_or_else(|_| "127.0.0.1:8787".into());
    let mut config = Config::new(std::env::var("OFFSET_LAB_KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into()));
    if let Ok(dir) = std::env::var("OFFSET_LAB_CHECKPOINTS") {
        config.checkpoint_root = dir.into();
    }
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--listen" => listen = value("--listen")?,
            "--bootstrap" => config.bootstrap = value("--bootstrap")?,
            "--dist" => config.dist = Some(value("--dist")?.into()),
            "--allow-origin" => config.allowed_origins.push(value("--allow-origin")?),
            "--token" => config.token = Some(value("--token")?),
            "--no-namespace" => config.namespaces = false,
            "--checkpoints" => config.checkpoint_root = value("--checkpoints")?.into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        eprintln!("bridge: http://{} (ws at /ws), Kafka at {}", listener.local_addr().map_err(|e| e.to_string())?, config.bootstrap);
        serve(listener, config).await.map_err(|e| e.to_string())
    })
}
