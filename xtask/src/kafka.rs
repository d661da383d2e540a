//! Real Apache Kafka on loopback: fetch the jars, format KRaft storage, start, stop, run its tools.
//!
//! Apache Kafka 4.1.1 (`kafka_2.13`, `kafka-tools`, log4j2 behind slf4j) comes from Maven Central through
//! `mvn dependency:copy-dependencies` into `<cache>/kafka/4.1.1/lib`. One combined broker+controller
//! (KRaft, static voter) listens on `127.0.0.1:$OFFSET_LAB_KAFKA_PORT` (default 9092), its controller on
//! port + 1; Kafka's defaults otherwise, with replication factors 1 and `group.initial.rebalance.delay.ms=0`.
//!
//! Files (default port; any other port gets its own `<cache>/kafka/port-<port>/` with the same layout):
//! - `<cache>/kafka/server.properties`, generated on every start;
//! - `<cache>/kafka/data/`, formatted once (`meta.properties` marks it);
//! - `<cache>/kafka/server.log`, the broker's stdout and stderr;
//! - `<cache>/kafka/kafka.pid`, the broker's process id while it runs;
//! - `<cache>/kafka/lock`, held while installing, starting or stopping, so parallel callers queue.
//!
//! CLI (`cargo xtask kafka …`): `install`, `start`, `stop`, `status`, `reset`, `classpath`, `test`, `bench`, and Kafka's own
//! tools by their script name without `kafka-` and `.sh`: `topics`, `consumer-groups`, `console-producer`,
//! `console-consumer`, `delete-records`, `get-offsets`, `configs`, `dump-log`, … (`cargo xtask kafka help`).
//! Arguments pass through untouched, so the seed's shell steps work word for word.
//!
//! Rust API for other xtask modules:
//! - [`ensure_started`]: install if needed, start if not running, return once the broker serves;
//! - [`stop`]: SIGTERM, wait, then SIGKILL; a no-op when not running;
//! - [`is_running`], [`bootstrap`] (`127.0.0.1:<port>`), [`port`];
//! - [`tool`]: a ready `Command` for a Kafka tool (`tool(ctx, "consumer-groups")`), arguments still to add;
//! - [`java`]: a `Command` for `java` with Kafka's classpath and the tools' log4j2 config, main class still to
//!   add (for anything not in the tool table);
//! - [`java_classpath`]: the `<lib>/*` classpath string, installing first if needed;
//! - [`test_stage`]: the Kafka-backed tests (`kafka-client` and `bridge` with `--features kafka-tests`, spark-checkpoint's `live`).
//!
//! Environment passed to the Kafka-backed tests: `OFFSET_LAB_KAFKA_BOOTSTRAP`, `OFFSET_LAB_KAFKA_CLASSPATH`
//! and `OFFSET_LAB_KAFKA_LOG4J` (so a test can run `ConsumerGroupCommand` itself as the reference), and
//! `OFFSET_LAB_XTASK` + `OFFSET_LAB_CACHE` (so a test can stop and restart a broker of its own).

use crate::util::{run, step};
use crate::Ctx;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The pinned Apache Kafka release.
pub const KAFKA_VERSION: &str = "4.1.1";
const LOG4J_VERSION: &str = "2.24.3";
const DEFAULT_PORT: u16 = 9092;
/// How long `start` waits for the broker to answer `kafka-topics --list`.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long `stop` waits after SIGTERM before SIGKILL (a clean shutdown takes a few seconds).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Kafka's tools, by script name (`kafka-<name>.sh`) → main class in Kafka 4.1.1's jars.
const TOOLS: &[(&str, &str)] = &[
    ("topics", "org.apache.kafka.tools.TopicCommand"),
    ("consumer-groups", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"),
    ("console-producer", "org.apache.kafka.tools.ConsoleProducer"),
    ("console-consumer", "org.apache.kafka.tools.consumer.ConsoleConsumer"),
    ("delete-records", "org.apache.kafka.tools.DeleteRecordsCommand"),
    ("get-offsets", "org.apache.kafka.tools.GetOffsetShell"),
    ("configs", "kafka.admin.ConfigCommand"),
    ("dump-log", "kafka.tools.DumpLogSegments"),
    ("storage", "kafka.tools.StorageTool"),
    ("metadata-quorum", "org.apache.kafka.tools.MetadataQuorumCommand"),
    ("broker-api-versions", "org.apache.kafka.tools.BrokerApiVersionsCommand"),
    ("log-dirs", "org.apache.kafka.tools.LogDirsCommand"),
    ("producer-perf-test", "org.apache.kafka.tools.ProducerPerformance"),
    ("consumer-perf-test", "org.apache.kafka.tools.ConsumerPerformance"),
];

const HELP: &str = "usage: cargo xtask kafka <command> [args]
  install            fetch Apache Kafka jars from Maven Central into <cache>/kafka/<version>/lib
  start              install if needed, format storage once, start the broker, wait until it serves
  stop               stop the broker (SIGTERM, then SIGKILL after 30 s)
  status             say whether the broker runs, and where its files are
  reset              stop and wipe the broker's data
  classpath          print the java classpath of the Kafka jars
  test               the Kafka-backed tests (what `cargo xtask test` runs): start, test, stop
  bench [--records N]  start Kafka, print bridge vs rskafka-direct throughput and feed latency
  run-class <class> [args]   run any class on Kafka's classpath
  <tool> [args]      run a Kafka tool, named like its script without kafka- and .sh:
                     topics, consumer-groups, console-producer, console-consumer, delete-records,
                     get-offsets, configs, dump-log, storage, metadata-quorum, broker-api-versions,
                     log-dirs, producer-perf-test, consumer-perf-test
  env: OFFSET_LAB_KAFKA_PORT (default 9092; the controller uses port + 1)";

/// `cargo xtask kafka <args>`.
pub fn cli(ctx: &Ctx, args: &[String]) -> Result<(), String> {
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    match cmd {
        "help" | "--help" | "-h" => {
            println!("{HELP}");
            Ok(())
        }
        "install" => install(ctx),
        "start" => ensure_started(ctx),
        "stop" => stop(ctx),
        "reset" => reset(ctx),
        "status" => {
            let files = Files::new(ctx);
            match running_pid(&files) {
                Some(pid) => println!("Kafka {KAFKA_VERSION} runs (pid {pid}) at {}", bootstrap()),
                None => println!("Kafka is not running (port {})", port()),
            }
            println!("jars: {}{}", lib_dir(ctx).display(), if installed(ctx) { "" } else { " (not installed)" });
            println!("data: {}", files.data.display());
            println!("log:  {}", files.log.display());
            Ok(())
        }
        "test" => {
            let (passed, failed) = test_stage(ctx)?;
            println!("Kafka-backed tests: {passed} passed, {failed} failed");
            if failed > 0 {
                Err(format!("{failed} Kafka-backed tests failed"))
            } else {
                Ok(())
            }
        }
        "bench" => {
            ensure_started(ctx)?;
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            run(Command::new(cargo)
                .current_dir(&ctx.root)
                .args(["run", "-p", "bridge", "--release", "--example", "bench", "--", "--bootstrap", &bootstrap()])
                .args(rest))
        }
        "classpath" => {
            println!("{}", java_classpath(ctx)?);
            Ok(())
        }
        "run-class" => {
            let (class, args) = rest.split_first().ok_or("run-class needs a class name")?;
            let mut c = java(ctx)?;
            c.arg(class).args(args);
            exit_like(c)
        }
        name => {
            let mut c = tool(ctx, name)?;
            c.args(rest);
            if running_pid(&Files::new(ctx)).is_none() && name != "storage" && name != "dump-log" {
                eprintln!("note: Kafka is not running here (cargo xtask kafka start); {} may wait for a broker", name);
            }
            exit_like(c)
        }
    }
}

/// Runs a tool with inherited stdio and leaves with its exit code, as its shell script would.
fn exit_like(mut c: Command) -> Result<(), String> {
    let status = c.status().map_err(|e| format!("cannot run java: {e}"))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => std::process::exit(code),
        None => Err(format!("the tool was killed: {status}")),
    }
}

/// The broker's port: `OFFSET_LAB_KAFKA_PORT`, default 9092.
pub fn port() -> u16 {
    std::env::var("OFFSET_LAB_KAFKA_PORT").ok().and_then(|p| p.trim().parse().ok()).unwrap_or(DEFAULT_PORT)
}

/// The bootstrap server clients use: `127.0.0.1:<port>`.
pub fn bootstrap() -> String {
    format!("127.0.0.1:{}", port())
}

/// Where the jars live: `<cache>/kafka/<version>/lib`.
pub fn lib_dir(ctx: &Ctx) -> PathBuf {
    ctx.cache.join("kafka").join(KAFKA_VERSION).join("lib")
}

fn installed(ctx: &Ctx) -> bool {
    lib_dir(ctx).join(".complete").is_file()
}

/// The java classpath of Kafka's jars (`<lib>/*`), installing the jars first if needed.
pub fn java_classpath(ctx: &Ctx) -> Result<String, String> {
    install(ctx)?;
    Ok(format!("{}/*", lib_dir(ctx).display()))
}

/// `java` with Kafka's classpath and the tools' logging (WARN and above to stderr, like Kafka's
/// `tools-log4j2.yaml`, so `--reset-offsets` clamping warnings show); add the main class and arguments.
pub fn java(ctx: &Ctx) -> Result<Command, String> {
    let cp = java_classpath(ctx)?;
    let log4j = tools_log4j(ctx)?;
    let mut c = Command::new("java");
    // A tool is a short-lived client: small heap, quick start.
    c.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"])
        .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
        .arg("-cp")
        .arg(cp);
    Ok(c)
}

/// A `Command` that runs Kafka tool `name` (`topics`, `consumer-groups`, …; a `kafka-` prefix and `.sh`
/// suffix are accepted); add its arguments.
pub fn tool(ctx: &Ctx, name: &str) -> Result<Command, String> {
    let short = name.trim_end_matches(".sh");
    let short = short.strip_prefix("kafka-").unwrap_or(short);
    let class = TOOLS.iter().find(|(n, _)| *n == short).map(|(_, c)| *c).ok_or_else(|| {
        let names: Vec<&str> = TOOLS.iter().map(|(n, _)| *n).collect();
        format!("unknown Kafka command `{name}`; known: install start stop status reset classpath run-class {}", names.join(" "))
    })?;
    let mut c = java(ctx)?;
    c.arg(class);
    Ok(c)
}

fn tools_log4j(ctx: &Ctx) -> Result<PathBuf, String> {
    let path = ctx.cache.join("kafka").join("tools-log4j2.properties");
    write_if_changed(
        &path,
        "status = warn\n\
         appender.err.type = Console\nappender.err.name = STDERR\nappender.err.target = SYSTEM_ERR\n\
         appender.err.layout.type = PatternLayout\nappender.err.layout.pattern = [%d] %p %m (%c)%n\n\
         rootLogger.level = warn\nrootLogger.appenderRef.err.ref = STDERR\n",
    )?;
    Ok(path)
}

/// Fetches the Kafka jars from Maven Central (idempotent: a marker file, written last, says they are complete).
pub fn install(ctx: &Ctx) -> Result<(), String> {
    if installed(ctx) {
        return Ok(());
    }
    let _lock = lock(ctx)?;
    if installed(ctx) {
        return Ok(()); // someone else finished while we waited
    }
    let lib = lib_dir(ctx);
    let work = ctx.cache.join("kafka").join(KAFKA_VERSION);
    step(&format!("fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central into {}", lib.display()));
    if lib.exists() {
        fs::remove_dir_all(&lib).map_err(|e| format!("cannot clear a partial {}: {e}", lib.display()))?;
    }
    fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let pom = work.join("pom.xml");
    fs::write(&pom, pom_xml()).map_err(|e| format!("cannot write {}: {e}", pom.display()))?;
    run(Command::new("mvn")
        .args(["-B", "--no-transfer-progress", "-f"])
        .arg(&pom)
        .arg("dependency:copy-dependencies")
        .arg(format!("-DoutputDirectory={}", lib.display())))
    .map_err(|e| format!("{e}\n(needs `mvn` (Debian package maven) and access to Maven Central)"))?;
    let jars = fs::read_dir(&lib).map_err(|e| e.to_string())?.filter_map(|e| e.ok()).count();
    let core = lib.join(format!("kafka_2.13-{KAFKA_VERSION}.jar"));
    if !core.is_file() {
        return Err(format!("maven finished but {} is missing", core.display()));
    }
    fs::write(lib.join(".complete"), format!("{jars} jars\n")).map_err(|e| e.to_string())?;
    eprintln!("Kafka {KAFKA_VERSION}: {jars} jars in {}", lib.display());
    Ok(())
}

fn pom_xml() -> String {
    let dep = |g: &str, a: &str, v: &str| {
        format!("    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>\n")
    };
    format!(
        "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n\
         \x20 <groupId>offset-lab</groupId><artifactId>kafka-jars</artifactId><version>1</version>\n\
         \x20 <packaging>pom</packaging>\n  <dependencies>\n{}{}{}{}  </dependencies>\n</project>\n",
        dep("org.apache.kafka", "kafka_2.13", KAFKA_VERSION),
        dep("org.apache.kafka", "kafka-tools", KAFKA_VERSION),
        // Kafka 4.1 logs through slf4j 1.7 → log4j2, as its own distribution does.
        dep("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
        dep("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
    )
}

/// The files of the broker instance for the configured port.
struct Files {
    dir: PathBuf,
    data: PathBuf,
    props: PathBuf,
    log: PathBuf,
    pid: PathBuf,
    log4j: PathBuf,
}

impl Files {
    fn new(ctx: &Ctx) -> Files {
        let base = ctx.cache.join("kafka");
        let dir = if port() == DEFAULT_PORT { base } else { base.join(format!("port-{}", port())) };
        Files {
            data: dir.join("data"),
            props: dir.join("server.properties"),
            log: dir.join("server.log"),
            pid: dir.join("kafka.pid"),
            log4j: dir.join("server-log4j2.properties"),
            dir,
        }
    }
}

/// The broker's pid file (for benchmarks that sample its memory).
pub fn pid_file(ctx: &Ctx) -> PathBuf {
    Files::new(ctx).pid
}

/// The broker's data folder (`log.dirs`), for the workshop soak's disk samples.
pub fn data_dir(ctx: &Ctx) -> PathBuf {
    Files::new(ctx).data
}

/// Holds `<cache>/kafka/lock` until dropped, so concurrent xtask runs do not start two brokers.
fn lock(ctx: &Ctx) -> Result<fs::File, String> {
    let dir = ctx.cache.join("kafka");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("lock");
    let f = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.lock().map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(f)
}

/// The broker's pid, if the pid file names a live Kafka process.
fn running_pid(files: &Files) -> Option<u32> {
    let pid: u32 = fs::read_to_string(&files.pid).ok()?.trim().parse().ok()?;
    alive_kafka(pid).then_some(pid)
}

/// True when `pid` is a live (not zombie) process running `kafka.Kafka` — a recycled pid is not ours.
fn alive_kafka(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // The state letter follows the parenthesised command name.
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
    if matches!(state, Some('Z') | Some('X') | None) {
        return false;
    }
    fs::read(format!("/proc/{pid}/cmdline")).map(|c| String::from_utf8_lossy(&c).contains("kafka.Kafka")).unwrap_or(false)
}

/// True when the broker of this checkout (and port) is running.
pub fn is_running(ctx: &Ctx) -> bool {
    running_pid(&Files::new(ctx)).is_some()
}

/// Installs if needed, formats storage once, starts the broker if it is not running, and returns once
/// `kafka-topics --list` succeeds against it.
pub fn ensure_started(ctx: &Ctx) -> Result<(), String> {
    install(ctx)?;
    let files = Files::new(ctx);
    let _lock = lock(ctx)?;
    if let Some(pid) = running_pid(&files) {
        eprintln!("Kafka already runs (pid {pid}) at {}", bootstrap());
        return Ok(());
    }
    let port = port();
    for p in [port, port + 1] {
        if TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], p)), Duration::from_millis(300)).is_ok() {
            return Err(format!(
                "port {p} on 127.0.0.1 is in use by a process this checkout did not start; stop it or set OFFSET_LAB_KAFKA_PORT"
            ));
        }
    }
    fs::create_dir_all(&files.dir).map_err(|e| format!("cannot create {}: {e}", files.dir.display()))?;
    write_if_changed(&files.props, &server_properties(&files, port))?;
    write_if_changed(
        &files.log4j,
        "status = warn\n\
         appender.out.type = Console\nappender.out.name = STDOUT\n\
         appender.out.layout.type = PatternLayout\nappender.out.layout.pattern = [%d] %p %m (%c)%n\n\
         rootLogger.level = info\nrootLogger.appenderRef.out.ref = STDOUT\n\
         logger.kafka.name = kafka\nlogger.kafka.level = info\n\
         logger.request.name = kafka.request.logger\nlogger.request.level = warn\n",
    )?;
    let cp = format!("{}/*", lib_dir(ctx).display());
    if !files.data.join("meta.properties").is_file() {
        step(&format!("formatting KRaft storage in {}", files.data.display()));
        run(Command::new("java")
            .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg(format!("-Dlog4j2.configurationFile={}", tools_log4j(ctx)?.display()))
            .arg("-cp")
            .arg(&cp)
            .args(["kafka.tools.StorageTool", "format", "--ignore-formatted", "-t", &cluster_id(), "-c"])
            .arg(&files.props))?;
    }
    step(&format!("starting Kafka {KAFKA_VERSION} at {} (log: {})", bootstrap(), files.log.display()));
    let mut log = fs::OpenOptions::new().create(true).append(true).open(&files.log).map_err(|e| format!("{}: {e}", files.log.display()))?;
    let _ = writeln!(log, "\n===== offset-lab: starting Kafka {KAFKA_VERSION} on port {port} =====");
    let log_offset = log.metadata().map(|m| m.len()).unwrap_or(0);
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new("java");
    cmd.args(["-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true"])
        .arg(format!("-Dlog4j2.configurationFile={}", files.log4j.display()))
        .arg(format!("-Dkafka.logs.dir={}", files.dir.display()))
        .arg("-cp")
        .arg(&cp)
        .arg("kafka.Kafka")
        .arg(&files.props)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    // Its own process group: Ctrl-C in the terminal that ran `start` does not reach the broker.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| format!("cannot start java: {e} (needs a JDK 17+ on PATH)"))?;
    let pid = child.id();
    fs::write(&files.pid, format!("{pid}\n")).map_err(|e| format!("{}: {e}", files.pid.display()))?;

    let deadline = Instant::now() + START_TIMEOUT;
    let fail = |why: String, files: &Files| -> String {
        format!("{why}\n--- last lines of {} ---\n{}", files.log.display(), tail_from(&files.log, log_offset, 25))
    };
    // Wait for the listener, then for a real admin round trip (metadata is ready, the broker is unfenced).
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let _ = fs::remove_file(&files.pid);
            return Err(fail(format!("Kafka exited during start-up: {status}"), &files));
        }
        if TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(300)).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            return Err(fail(format!("Kafka did not listen on {} within {:?}", bootstrap(), START_TIMEOUT), &files));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(fail(format!("Kafka did not answer `kafka-topics --list` within {:?}", START_TIMEOUT), &files));
        }
        let mut probe = tool(ctx, "topics")?;
        probe.args(["--bootstrap-server", &bootstrap(), "--list"]).stdout(Stdio::null()).stderr(Stdio::null());
        if run_with_timeout(probe, left.min(Duration::from_secs(30)))? {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let _ = fs::remove_file(&files.pid);
            return Err(fail(format!("Kafka exited during start-up: {status}"), &files));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("Kafka {KAFKA_VERSION} serves at {} (pid {pid})", bootstrap());
    Ok(())
}

/// Runs `cmd` to completion or kills it after `timeout`; true when it exited successfully.
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<bool, String> {
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let until = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status.success());
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn server_properties(files: &Files, port: u16) -> String {
    let controller = port + 1;
    format!(
        "# Generated by `cargo xtask kafka start`; edits are overwritten.\n\
         process.roles=broker,controller\n\
         node.id=1\n\
         controller.quorum.voters=1@127.0.0.1:{controller}\n\
         listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
         advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
         controller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=PLAINTEXT\n\
         listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n\
         log.dirs={data}\n\
         # One broker: every internal topic has a single replica.\n\
         offsets.topic.replication.factor=1\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         share.coordinator.state.topic.replication.factor=1\n\
         share.coordinator.state.topic.min.isr=1\n\
         # A group with one member becomes Stable at once instead of after 3 s.\n\
         group.initial.rebalance.delay.ms=0\n\
         # Size-based retention (a workshop's lab topics set retention.bytes) is applied every 30 s, not 5 min.\n\
         log.retention.check.interval.ms=30000\n",
        data = files.data.display(),
    )
}

/// A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (as `StorageTool random-uuid`).
fn cluster_id() -> String {
    let mut bytes = [0u8; 16];
    if fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        bytes = (t ^ ((std::process::id() as u128) << 64)).to_le_bytes();
    }
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(A[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

/// Stops the broker: SIGTERM (clean shutdown), then SIGKILL if it is still alive after 30 s.
pub fn stop(ctx: &Ctx) -> Result<(), String> {
    let files = Files::new(ctx);
    let _lock = lock(ctx)?;
    let Some(pid) = running_pid(&files) else {
        let _ = fs::remove_file(&files.pid);
        eprintln!("Kafka is not running (port {})", port());
        return Ok(());
    };
    step(&format!("stopping Kafka (pid {pid})"));
    signal(pid, "TERM")?;
    let until = Instant::now() + STOP_TIMEOUT;
    while alive_kafka(pid) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
    }
    if alive_kafka(pid) {
        eprintln!("Kafka did not stop within {STOP_TIMEOUT:?}; sending SIGKILL");
        signal(pid, "KILL")?;
        let until = Instant::now() + Duration::from_secs(10);
        while alive_kafka(pid) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100));
        }
        if alive_kafka(pid) {
            return Err(format!("Kafka (pid {pid}) survived SIGKILL"));
        }
    }
    let _ = fs::remove_file(&files.pid);
    eprintln!("Kafka stopped");
    Ok(())
}

fn signal(pid: u32, sig: &str) -> Result<(), String> {
    let status = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().map_err(|e| format!("cannot run kill: {e}"))?;
    // It may have exited between the check and the signal; the caller re-checks.
    if !status.success() && alive_kafka(pid) {
        return Err(format!("kill -{sig} {pid} failed: {status}"));
    }
    Ok(())
}

/// Stops the broker and wipes its data (topics, offsets, groups); the next start formats afresh.
pub fn reset(ctx: &Ctx) -> Result<(), String> {
    stop(ctx)?;
    let files = Files::new(ctx);
    let _lock = lock(ctx)?;
    // A non-default port's instance folder holds nothing else worth keeping.
    let wipe = if port() == DEFAULT_PORT { &files.data } else { &files.dir };
    if wipe.exists() {
        fs::remove_dir_all(wipe).map_err(|e| format!("cannot remove {}: {e}", wipe.display()))?;
    }
    eprintln!("Kafka data wiped ({})", wipe.display());
    Ok(())
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if fs::read_to_string(path).map(|t| t == text).unwrap_or(false) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The last `n` lines written to `path` after byte `from`.
fn tail_from(path: &Path, from: u64, n: usize) -> String {
    let Ok(bytes) = fs::read(path) else { return String::from("(no log)") };
    let start = (from as usize).min(bytes.len());
    let text = String::from_utf8_lossy(&bytes[start..]);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The Kafka-backed part of `cargo xtask test`: starts Kafka, runs the `kafka` test targets of
/// kafka-client and bridge (feature `kafka-tests`) and spark-checkpoint's `live` against it, stops Kafka again if this call started it, and returns (passed, failed) as
/// cargo reported them. An Err means the tests could not run at all (Kafka or the build failed).
pub fn test_stage(ctx: &Ctx) -> Result<(u32, u32), String> {
    let was_running = is_running(ctx);
    ensure_started(ctx)?;
    let result = run_kafka_tests(ctx);
    if !was_running {
        if let Err(e) = stop(ctx) {
            eprintln!("warning: {e}");
        }
    }
    result
}

fn run_kafka_tests(ctx: &Ctx) -> Result<(u32, u32), String> {
    // Only the Kafka-backed test targets (the client's and the bridge's websocket's): their unit tests
    // are counted by `cargo test --workspace`.
    step(&format!(
        "Kafka-backed tests: cargo test -p kafka-client -p bridge --features kafka-client/kafka-tests,bridge/kafka-tests --test kafka --test workshop (Kafka at {})",
        bootstrap()
    ));
    let mut c = crate::util::cargo(&ctx.root);
    c.args(["test", "-p", "kafka-client", "-p", "bridge", "--features", "kafka-client/kafka-tests,bridge/kafka-tests"])
        .args(["--test", "kafka", "--test", "workshop"])
        .args(["--no-fail-fast", "--color", "never"])
        .env("OFFSET_LAB_KAFKA_BOOTSTRAP", bootstrap())
        .env("OFFSET_LAB_KAFKA_CLASSPATH", java_classpath(ctx)?)
        .env("OFFSET_LAB_KAFKA_LOG4J", tools_log4j(ctx)?)
        // Lets a test start and stop a broker of its own (on another port) through this launcher.
        .env("OFFSET_LAB_XTASK", crate::util::xtask_exe()?)
        .env("OFFSET_LAB_CACHE", &ctx.cache);
    let (passed, failed) = crate::util::run_counting(c, crate::util::test_summary)?;
    // The checkpoint inspector's `--bootstrap` prediction against the same broker.
    step(&format!("Kafka-backed tests: cargo test -p spark-checkpoint --features kafka-tests --test live (Kafka at {})", bootstrap()));
    let mut c = crate::util::cargo(&ctx.root);
    c.args(["test", "-p", "spark-checkpoint", "--features", "kafka-tests", "--test", "live", "--color", "never"])
        .env("OFFSET_LAB_KAFKA_BOOTSTRAP", bootstrap());
    let (p2, f2) = crate::util::run_counting(c, crate::util::test_summary)?;
    Ok((passed + p2, failed + f2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ids_look_like_kafka_uuids() {
        let (a, b) = (cluster_id(), cluster_id());
        assert_eq!(a.len(), 22, "{a}");
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn tool_names_accept_script_spelling() {
        let ctx = Ctx { root: PathBuf::from("/nonexistent"), cache: PathBuf::from("/nonexistent/cache") };
        // Unknown names fail before any install is attempted.
        let err = tool(&ctx, "kafka-no-such-tool.sh").unwrap_err();
        assert!(err.contains("unknown Kafka command `kafka-no-such-tool.sh`"), "{err}");
        assert!(TOOLS.iter().any(|(n, c)| *n == "consumer-groups" && c.ends_with("ConsumerGroupCommand")));
    }
}
