//! `vpc-imds-emulator`: run the emulator as a process.
//!
//! Prints `listening on <base URL>` then `control on <control URL>` as its first
//! two stdout lines, and stops cleanly on SIGINT or SIGTERM. The signal
//! handlers are installed before those lines are printed, so a script may
//! signal the emulator as soon as it has read them.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use vpc_imds_emulator::{
    DropStage, Emulator, FaultRule, Faults, Fixture, MetadataService, Protocol,
    DEFAULT_FIXTURE_JSON,
};

/// A faithful IBM Cloud VPC Instance Metadata Service for tests, demos and CI.
#[derive(Parser, Debug)]
#[command(name = "vpc-imds-emulator", version, about)]
struct Args {
    /// Address of the metadata service.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address of the control API (JSON over HTTP).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    control_listen: SocketAddr,
    /// Serve this fixture file instead of the built-in one (format: emulator/README.md).
    #[arg(long, value_name = "FILE")]
    fixture: Option<PathBuf>,
    /// Print the built-in fixture (a starting point for your own) and exit.
    #[arg(long)]
    print_fixture: bool,
    /// Serve HTTPS with a self-signed certificate generated at start.
    #[arg(long)]
    tls: bool,
    /// With --tls: write the certificate (PEM) here.
    #[arg(long, value_name = "FILE")]
    cert_out: Option<PathBuf>,
    /// Permissive CORS for browser clients.
    #[arg(long)]
    cors: bool,
    /// Start with this fault configuration (JSON, as for the control API's PUT /faults).
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,
    /// Add this many milliseconds of latency to every request.
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
    /// The next N requests fail with --fail-status.
    #[arg(long, value_name = "N")]
    fail_next: Option<u32>,
    /// Status for --fail-next (400..=599).
    #[arg(
        long,
        value_name = "CODE",
        default_value_t = 503,
        requires = "fail_next"
    )]
    fail_status: u16,
    /// With --fail-next: send `Retry-After: SECS`.
    #[arg(long, value_name = "SECS", requires = "fail_next")]
    retry_after: Option<u32>,
    /// The next N responses are cut short and the connection closed.
    #[arg(long, value_name = "N")]
    drop_next: Option<u32>,
    /// Where --drop-next cuts the response.
    #[arg(long, value_enum, default_value = "mid-body", requires = "drop_next")]
    drop_stage: Stage,
    /// Never answer any request (hold every connection open).
    #[arg(long)]
    black_hole: bool,
    /// Apply --fail-next, --drop-next and --black-hole only to paths starting with PREFIX.
    #[arg(long, value_name = "PREFIX")]
    fault_route: Option<String>,
    /// Start with the service disabled (403 "metadata service not enabled").
    #[arg(long)]
    disabled: bool,
    /// The simulated instance's metadata_service.protocol: only listeners of this
    /// protocol answer (default: https with --tls, else http).
    #[arg(long, value_enum, value_name = "PROTOCOL")]
    protocol: Option<ProtocolArg>,
    /// The simulated metadata_service.response_hop_limit, 1..=64 (IP TTL of answers).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=64))]
    response_hop_limit: Option<u8>,
    /// Simulated routing hops between the service and its callers (0: the instance,
    /// 1: a container behind a bridge); answers never arrive when >= the hop limit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=64))]
    caller_hops: Option<u8>,
    /// Also serve HTTPS on this address (self-signed certificate), beside --listen.
    #[arg(long, value_name = "ADDR")]
    tls_listen: Option<SocketAddr>,
    /// Tokio worker threads (default: CPUs, at most 4).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Close a connection whose request head takes longer than this (default 30000).
    #[arg(long, value_name = "MS")]
    head_timeout_ms: Option<u64>,
    /// Answer 408 and close a connection whose request body takes longer than this (default 30000).
    #[arg(long, value_name = "MS")]
    body_timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProtocolArg {
    Http,
    Https,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Stage {
    MidHeaders,
    MidBody,
    BeforeResponse,
}

fn faults(args: &Args) -> Result<Faults, String> {
    let mut faults = match &args.faults {
        None => Faults::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a fault configuration: {e}", path.display()))?
        }
    };
    if let Some(ms) = args.latency_ms {
        faults.latency_ms = ms;
    }
    faults.disabled |= args.disabled;
    let scoped = |rule: FaultRule| match &args.fault_route {
        Some(prefix) => rule.on_prefix(prefix.clone()),
        None => rule,
    };
    if let Some(n) = args.fail_next {
        let mut rule = FaultRule::status(args.fail_status).times(n);
        if let Some(secs) = args.retry_after {
            rule = rule.retry_after(secs);
        }
        faults.rules.push(scoped(rule));
    }
    if let Some(n) = args.drop_next {
        let stage = match args.drop_stage {
            Stage::MidHeaders => DropStage::MidHeaders,
            Stage::MidBody => DropStage::MidBody,
            Stage::BeforeResponse => DropStage::BeforeResponse,
        };
        faults
            .rules
            .push(scoped(FaultRule::drop_connection(stage).times(n)));
    }
    if args.black_hole {
        faults.rules.push(scoped(FaultRule::black_hole()));
    }
    faults.validate().map_err(|e| e.to_string())?;
    Ok(faults)
}

fn run(args: Args) -> Result<(), String> {
    if args.print_fixture {
        print!("{DEFAULT_FIXTURE_JSON}");
        return Ok(());
    }
    let mut builder = Emulator::builder()
        .listen(args.listen)
        .control_listen(args.control_listen)
        .tls(args.tls)
        .cors(args.cors)
        .faults(faults(&args)?);
    if let Some(path) = &args.fixture {
        let fixture = Fixture::from_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
        builder = builder.fixture(fixture);
    }
    if let Some(path) = &args.cert_out {
        if !args.tls && args.tls_listen.is_none() {
            return Err("--cert-out needs --tls or --tls-listen".into());
        }
        builder = builder.cert_out(path);
    }
    if args.protocol.is_some() || args.response_hop_limit.is_some() || args.caller_hops.is_some() {
        let default = if args.tls {
            Protocol::Https
        } else {
            Protocol::Http
        };
        let mut ms = MetadataService::new(default);
        if let Some(p) = args.protocol {
            ms.protocol = match p {
                ProtocolArg::Http => Protocol::Http,
                ProtocolArg::Https => Protocol::Https,
            };
        }
        if let Some(n) = args.response_hop_limit {
            ms.response_hop_limit = n;
        }
        if let Some(n) = args.caller_hops {
            ms.caller_hops = n;
        }
        ms.enabled = !args.disabled;
        builder = builder.metadata_service(ms);
    }
    if let Some(addr) = args.tls_listen {
        builder = builder.tls_listen(addr);
    }
    if let Some(n) = args.workers {
        builder = builder.worker_threads(n);
    }
    if let Some(ms) = args.head_timeout_ms {
        builder = builder.head_timeout(Duration::from_millis(ms));
    }
    if let Some(ms) = args.body_timeout_ms {
        builder = builder.body_timeout(Duration::from_millis(ms));
    }
    let emu = builder.start().map_err(|e| format!("cannot start: {e}"))?;
    // Handlers first: a script may signal as soon as it has read the lines below.
    let signals = Signals::install()?;
    {
        let mut out = std::io::stdout().lock();
        // Scripts wait for these lines; a closed stdout must not stop the server.
        let _ = writeln!(out, "listening on {}", emu.base_url());
        let _ = writeln!(out, "control on {}", emu.control_url());
        if let Some(url) = emu.tls_url() {
            let _ = writeln!(out, "tls on {url}");
        }
        let _ = out.flush();
    }
    signals.wait()?;
    eprintln!("vpc-imds-emulator: shutting down");
    emu.shutdown();
    Ok(())
}

/// SIGINT and SIGTERM handlers, installed (and catching) from creation on.
struct Signals {
    rt: tokio::runtime::Runtime,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl Signals {
    fn install() -> Result<Signals, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot wait for signals: {e}"))?;
        let _guard = rt.enter();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let int = signal(SignalKind::interrupt())
                .map_err(|e| format!("cannot handle SIGINT: {e}"))?;
            let term = signal(SignalKind::terminate())
                .map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
            drop(_guard);
            Ok(Signals { rt, int, term })
        }
        #[cfg(windows)]
        {
            let ctrl_c = tokio::signal::windows::ctrl_c()
                .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
            drop(_guard);
            Ok(Signals { rt, ctrl_c })
        }
    }

    /// Returns once SIGINT or SIGTERM (Ctrl-C on Windows) has arrived, even
    /// if it arrived before this call.
    fn wait(self) -> Result<(), String> {
        #[cfg(unix)]
        {
            let Signals {
                rt,
                mut int,
                mut term,
            } = self;
            rt.block_on(async {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            });
        }
        #[cfg(windows)]
        {
            let Signals { rt, mut ctrl_c } = self;
            rt.block_on(ctrl_c.recv());
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vpc-imds-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
