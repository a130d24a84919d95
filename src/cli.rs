//! The command line: clap definitions only; wiring lives in `commands/`.

use std::net::SocketAddr;
use std::path::PathBuf;

use amptap::event::Region;
use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "amptap",
    version,
    about = "See, check and reconcile the Amplitude events your app sends"
)]
pub struct Cli {
    /// Where amptap's own log goes (default: amptap.log in the data directory).
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the capture proxy headless: one line per request, a summary at exit.
    Serve(ProxyArgs),
    /// An Amplitude stand-in for tests and demos.
    #[command(hide = true, name = "fake-amplitude")]
    FakeAmplitude(FakeArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ProxyArgs {
    /// Address to listen on. Anything but loopback exposes your events to the network.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Forward every path to this base URL instead of Amplitude (e.g. http://127.0.0.1:9000).
    #[arg(long, value_name = "URL", conflicts_with_all = ["region", "offline"])]
    pub upstream: Option<String>,
    /// Amplitude data centre to forward to.
    #[arg(long, value_enum, default_value_t = Region::Us, conflicts_with = "offline")]
    pub region: Region,
    /// Do not forward: answer as Amplitude would (no account needed).
    #[arg(long)]
    pub offline: bool,
    /// Journal file (JSON Lines) to append to; default: a new timestamped file in the data directory.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Largest request body accepted, in bytes (compressed or not).
    #[arg(long, default_value_t = 20 * 1024 * 1024, value_name = "BYTES")]
    pub max_body: usize,
    /// Seconds to wait for the upstream before answering the SDK 504.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub upstream_timeout: f64,
    /// Print only the start banner and the summary, not a line per request.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct FakeArgs {
    #[arg(long, default_value = "127.0.0.1:8788", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Faults for the first requests, e.g. `500x2,413,delay:1500,drop`.
    #[arg(long, value_name = "FAULTS")]
    pub fail: Option<String>,
}
