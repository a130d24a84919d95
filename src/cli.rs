//! The command line: clap definitions only; wiring lives in `commands/`.

use std::net::SocketAddr;
use std::path::PathBuf;

use amptap::event::Region;
use amptap::plan::Severity;
use amptap::report::Format;
use clap::{Args, Parser, Subcommand};

mod values;

use values::{format_parser, parse_kafka, parse_listen, parse_size, region_parser};

#[derive(Parser, Debug)]
#[command(
    name = "amptap",
    version,
    about = "See, check and reconcile the Amplitude events your app sends"
)]
pub struct Cli {
    /// Where amptap's own log goes (default: amptap.log in the data directory).
    #[arg(long, global = true, value_name = "FILE", display_order = 1000)]
    pub log_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Everything offline in the TUI: proxy, a stand-in Amplitude and simulated app traffic.
    Demo(DemoArgs),
    /// The proxy and the live inspector (TUI) in one process.
    Watch(WatchArgs),
    /// The inspector over saved journals.
    Open(OpenArgs),
    /// Run the capture proxy headless: one line per request, a summary at exit.
    Serve(ServeArgs),
    /// Validate captured events against a plan (for CI: exit 1 on findings).
    Check(CheckArgs),
    /// Download events from Amplitude's Export API (keys from the environment or config file).
    Export(ExportArgs),
    /// Compare captured events with what Amplitude exported: lost, rejected, changed, duplicated.
    Reconcile(ReconcileArgs),
    /// Write journals as an HTTP Archive (HAR 1.2) on stdout, for browser dev tools.
    Har {
        /// Journals to convert, in order (`-`: standard input; or kafka://HOST:PORT/TOPIC[?from=earliest|latest|TIME], read to its end).
        #[arg(required = true, value_name = "CAPTURE")]
        captures: Vec<PathBuf>,
    },
    /// Print shell completions.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): amptap(1), or a command's (`amptap man serve`, `amptap man plan infer`).
    Man {
        /// The command whose page to print (default: the top-level page).
        #[arg(value_name = "COMMAND", num_args = 0..=2)]
        command: Vec<String>,
        /// Write every page (amptap.1, amptap-serve.1, …) into this directory instead.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<PathBuf>,
    },
    /// Draft or lint a plan (the field-mapping table).
    #[command(subcommand)]
    Plan(PlanCommand),
    /// An Amplitude stand-in for tests and demos.
    #[command(hide = true, name = "fake-amplitude")]
    FakeAmplitude(FakeArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// Print only the start banner and the summary, not a line per request.
    #[arg(long, short)]
    pub quiet: bool,
    /// One JSON object per request on stdout (its events, verdicts and findings), for jq; the banner and summary stay on stderr.
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ProxyArgs {
    /// Address to listen on. Anything but loopback exposes your events to the network.
    #[arg(long, env = "AMPTAP_LISTEN", default_value = "127.0.0.1:8787", value_parser = parse_listen, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Forward every path to this base URL instead of Amplitude (e.g. http://127.0.0.1:9000).
    #[arg(long, env = "AMPTAP_UPSTREAM", value_name = "URL", conflicts_with_all = ["region", "offline"])]
    pub upstream: Option<String>,
    /// Amplitude data centre to forward to.
    #[arg(long, env = "AMPTAP_REGION", value_parser = region_parser(), default_value = "us", conflicts_with = "offline")]
    pub region: Region,
    /// Do not forward: answer as Amplitude would (no account needed).
    #[arg(long, env = "AMPTAP_OFFLINE")]
    pub offline: bool,
    /// Journal file (JSON Lines) to append to; default: a new timestamped file in the data directory.
    #[arg(long, env = "AMPTAP_RECORD", value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Largest request body accepted, in bytes (compressed or not).
    #[arg(long, env = "AMPTAP_MAX_BODY", default_value_t = 20 * 1024 * 1024, value_name = "BYTES")]
    pub max_body: usize,
    /// Seconds to wait for the upstream before answering the SDK 504.
    #[arg(
        long,
        env = "AMPTAP_UPSTREAM_TIMEOUT",
        default_value_t = 30.0,
        value_name = "SECONDS"
    )]
    pub upstream_timeout: f64,
    /// Bearer token for the query API (/_amptap/…, /metrics); with it, non-loopback clients may use it. Prefer AMPTAP_API_TOKEN or --api-token-file: a command line is visible to every user in `ps`.
    #[arg(
        long,
        env = "AMPTAP_API_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub api_token: Option<String>,
    /// Read the query API's bearer token from this file (its first line).
    #[arg(long, value_name = "FILE", conflicts_with = "api_token")]
    pub api_token_file: Option<PathBuf>,
    /// Memory the tap may use in all, e.g. 1GiB: the session's share (--session-memory), its own and its judge stage's (64 MiB and about 70 MiB for the largest record), and the rest for requests in flight (a request waits, then gets 503, while it is spent).
    #[arg(long, env = "AMPTAP_MEMORY", default_value = "512MiB", value_parser = parse_size, value_name = "SIZE")]
    pub memory: usize,
    /// Memory the query API's session may hold, e.g. 128MiB or 1GiB (oldest events leave first; the journal keeps them all); 0 turns the session off.
    #[arg(long, env = "AMPTAP_SESSION_MEMORY", default_value = "128MiB", value_parser = parse_size, value_name = "SIZE")]
    pub session_memory: usize,
    /// Validate events as they arrive against this plan (TOML or CSV) and log findings.
    #[arg(long, env = "AMPTAP_PLAN", value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// When the journal is made durable (fdatasync): before every answer, at most once a second, or never (the OS decides). Every record is written before its answer in all three.
    #[arg(long, env = "AMPTAP_FSYNC", value_enum, default_value_t = amptap::journal::Fsync::Batch, value_name = "WHEN")]
    pub fsync: amptap::journal::Fsync,
    /// Seconds a client may take to send a request's headers, or stay idle between requests; a body gets this plus its length at --min-body-rate.
    #[arg(
        long,
        env = "AMPTAP_CLIENT_TIMEOUT",
        default_value_t = 30.0,
        value_name = "SECONDS"
    )]
    pub client_timeout: f64,
    /// Slowest a request body may arrive, e.g. 10KiB (per second).
    #[arg(long, env = "AMPTAP_MIN_BODY_RATE", default_value = "10KiB", value_parser = parse_size, value_name = "SIZE")]
    pub min_body_rate: usize,
    /// Connections open at once; one more is answered 503 and closed.
    #[arg(
        long,
        env = "AMPTAP_MAX_CONNECTIONS",
        default_value_t = 512,
        value_name = "N"
    )]
    pub max_connections: usize,
    /// Seconds the relay holds the events of users and devices Amplitude throttles (429) before sending them again; Amplitude asks for 30.
    #[arg(
        long,
        env = "AMPTAP_RELAY_THROTTLE_WAIT",
        default_value_t = 30.0,
        value_name = "SECONDS"
    )]
    pub relay_throttle_wait: f64,
    /// Publish every journal line to a Kafka topic, kafka://HOST:PORT/TOPIC, keyed by device (the journal stays the source of truth: a broker outage never holds an answer back, and what it missed is sent when it returns).
    #[arg(long, env = "AMPTAP_PUBLISH", value_parser = parse_kafka, value_name = "KAFKA_URL")]
    pub publish: Option<amptap::kafka::KafkaUrl>,
    /// Seconds to let requests in flight finish at Ctrl-C / SIGTERM before closing what stalls.
    #[arg(
        long,
        env = "AMPTAP_DRAIN",
        default_value_t = 10.0,
        value_name = "SECONDS"
    )]
    pub drain: f64,
}

#[derive(Args, Debug)]
pub struct FakeArgs {
    #[arg(long, default_value = "127.0.0.1:8788", value_parser = parse_listen, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Faults for the first requests, e.g. `500x2,413,delay:1500,drop`.
    #[arg(long, value_name = "FAULTS")]
    pub fail: Option<String>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The plan: TOML, or CSV (`.csv`).
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    /// Journals written by `amptap serve` / `watch`, read as one session (`-`: standard input; or kafka://HOST:PORT/TOPIC[?from=earliest|latest|TIME], read to its end).
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// Output format (default: from --out's extension, else text).
    #[arg(long, value_parser = format_parser())]
    pub format: Option<Format>,
    /// Write the report here instead of stdout (`-`: stdout); written whole or not at all.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Pass when the journals hold no requests at all (by default that exits 2: the SDK never reached the tap).
    #[arg(long)]
    pub allow_empty: bool,
    /// List at most N findings (JSON, CSV) or N examples of each kind (text, Markdown, HTML, JUnit); all are still counted and judged.
    #[arg(long, value_name = "N", conflicts_with = "summary_only")]
    pub max_findings: Option<usize>,
    /// Only the counts: by code, path and event type, no single findings (not with CSV).
    #[arg(long)]
    pub summary_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Never => None,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum PlanCommand {
    /// Draft a plan (TOML, on stdout) from the events in captures.
    Infer {
        /// Journals to learn from (`-`: standard input; or kafka://HOST:PORT/TOPIC[?from=earliest|latest|TIME], read to its end).
        #[arg(required = true, value_name = "CAPTURE")]
        captures: Vec<PathBuf>,
    },
    /// Report problems in a plan without any events; exit 1 on errors.
    Lint {
        /// The plan: TOML, or CSV (`.csv`).
        #[arg(value_name = "PLAN")]
        plan: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Watch a Kafka topic that taps publish to, kafka://HOST:PORT/TOPIC[?from=earliest|latest|TIME] (default: latest), instead of running a tap here.
    #[arg(value_name = "KAFKA_URL", value_parser = parse_kafka)]
    pub topic: Option<amptap::kafka::KafkaUrl>,
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// Where the Reconcile view (r) asks for the export: URL/api/2/export (default: the --region's host).
    #[arg(long, value_name = "URL")]
    pub export_endpoint: Option<String>,
    /// Memory the inspector may hold, e.g. 128MiB (over a million events; the oldest leave first, the journal keeps them all).
    #[arg(long, default_value = "128MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_memory: usize,
}

#[derive(Args, Debug)]
pub struct OpenArgs {
    /// Journals to read, in order (`-`: standard input; or kafka://HOST:PORT/TOPIC[?from=earliest|latest|TIME], read to its end).
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// Judge the events against this plan (TOML or CSV).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Memory the inspector may hold, e.g. 128MiB (over a million events).
    #[arg(long, default_value = "128MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_memory: usize,
    /// The project's data centre, for the Reconcile view (r).
    #[arg(long, value_parser = region_parser(), default_value = "us")]
    pub region: Region,
    /// Where the Reconcile view asks for the export: URL/api/2/export.
    #[arg(long, value_name = "URL")]
    pub export_endpoint: Option<String>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where the demo's tap listens (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0", value_parser = parse_listen, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Journal file; default: a new file under the data directory.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Memory the inspector may hold, e.g. 128MiB (over a million events).
    #[arg(long, default_value = "128MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_memory: usize,
}

/// Where the Export API is, and how patiently to talk to it.
#[derive(Args, Debug, Clone)]
pub struct ExportApiArgs {
    /// Amplitude data centre of the project.
    #[arg(long, value_parser = region_parser(), default_value = "us")]
    pub region: Region,
    /// Send the request to URL/api/2/export instead of Amplitude's host (tests, the demo).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Seconds without a byte before the download counts as timed out.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// First hour, UTC, YYYYMMDDTHH (inclusive).
    #[arg(long, value_name = "HOUR")]
    pub start: String,
    /// Last hour, UTC, YYYYMMDDTHH (inclusive).
    #[arg(long, value_name = "HOUR")]
    pub end: String,
    #[command(flatten)]
    pub api: ExportApiArgs,
    /// Write the decoded rows (JSON lines) here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("exported").required(true).args(["export", "start", "auto"])))]
pub struct ReconcileArgs {
    /// Journals of the session to check (read as one; `-`: standard input; or kafka://HOST:PORT/TOPIC[?from=earliest|latest|TIME], read to its end).
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    pub capture: Vec<PathBuf>,
    /// An export saved earlier: Amplitude's zip archive or `amptap export` rows (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// Download this window (with --end): first hour, UTC, YYYYMMDDTHH.
    #[arg(long, value_name = "HOUR", requires = "end")]
    pub start: Option<String>,
    /// Last hour of the window, UTC, YYYYMMDDTHH (inclusive).
    #[arg(long, value_name = "HOUR", requires = "start")]
    pub end: Option<String>,
    /// Download the window in which the tap received the captures.
    #[arg(long)]
    pub auto: bool,
    #[command(flatten)]
    pub api: ExportApiArgs,
    /// Poll until Amplitude's export covers the captures (data appears ~2 hours after ingestion).
    #[arg(long)]
    pub wait: bool,
    /// Longest --wait, in seconds.
    #[arg(long, default_value_t = 4 * 3600, value_name = "SECONDS")]
    pub wait_timeout: u64,
    /// Seconds between polls while waiting.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub poll: u64,
    /// Also hold both sides against this plan.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Report format (default: from --out's extension, else text).
    #[arg(long, value_parser = format_parser())]
    pub format: Option<Format>,
    /// Write the report here instead of stdout; written whole or not at all.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 1 when a problem is at or above this severity (missing, rejected and changed are errors).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Events without an insert_id match an exported row within this many ms.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub tolerance_ms: i64,
    /// Memory the match may use, e.g. 1GiB: larger sides are matched in parts on disk (in the temporary directory), one part at a time.
    #[arg(long, default_value = "1GiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_memory: usize,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every argument a user can see says what it does (in --help and the man pages).
    #[test]
    fn every_visible_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, bare: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !arg.is_hide_set() && !builtin && arg.get_help().is_none() {
                    bare.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                walk(sub, &format!("{path} {}", sub.get_name()), bare);
            }
        }
        let mut bare = Vec::new();
        walk(&super::Cli::command(), "amptap", &mut bare);
        assert!(bare.is_empty(), "arguments without help: {bare:?}");
    }
}
