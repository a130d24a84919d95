//! `amptap watch`, `amptap open` and `amptap demo`: the TUI over a live tap,
//! over saved journals, or over a self-contained offline demo.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use amptap::event::BodyLimits;
use amptap::export::{Credentials, ExportClient};
use amptap::fake_amplitude::FakeAmplitude;
use amptap::pipeline::{Pipeline, QueueSink, Source};
use amptap::plan::{self, Plan};
use amptap::store::Store;
use amptap::tap::{Mode, RunningTap, TapConfig, TapSummary, Target, Upstream};
use amptap::tui::app::{App, Session};
use amptap::tui::theme::Theme;
use amptap::tui::{self, Feed, ReconcileSetup, RunOptions};
use anyhow::Context;
use tokio::sync::{mpsc, watch as signal};

use crate::cli::{DemoArgs, OpenArgs, WatchArgs};

pub async fn watch(args: WatchArgs) -> anyhow::Result<ExitCode> {
    need_terminal("watch")?;
    if let Some(topic) = args.topic.clone() {
        return watch_topic(topic, args).await;
    }
    let plan = load_plan(args.proxy.plan.as_ref())?;
    let config = super::serve::tap_config(&args.proxy, plan.clone())?;
    let upstream = config.mode.describe();
    let (tx, rx) = mpsc::channel(FEED_QUEUE);
    let tap = RunningTap::start(config, vec![Box::new(QueueSink(tx))]).await?;
    let session = Session {
        listen: Some(format!("http://{}", tap.addr)),
        upstream,
        plan: args.proxy.plan.as_ref().map(|p| p.display().to_string()),
        journal: Some(tap.tap.journal.path().to_owned()),
        inputs: Vec::new(),
    };
    let journal = tap.tap.journal.stats_handle();
    let reconcile = setup(
        vec![tap.tap.journal.path().to_owned()],
        export_client(args.proxy.region, args.export_endpoint.clone()),
        &plan,
        args.proxy.plan.as_ref(),
    );
    let feed = Feed {
        rx,
        stats: tap.pipeline_stats(),
        journal: Some(journal),
        link: tap.tap.publish.clone().map(publish_trouble),
    };
    let journals = vec![tap.tap.journal.path().to_owned()];
    let result = inspect(plan, session, feed, args.max_memory, reconcile, journals).await;
    let summary = tap.stop().await;
    print_summary(&summary);
    result.map(|()| ExitCode::SUCCESS)
}

use amptap::pipeline::SCREEN_QUEUE as FEED_QUEUE;

type Trouble = Box<dyn Fn() -> Option<String> + Send>;

fn publish_trouble(stats: Arc<amptap::kafka::PublishStats>) -> Trouble {
    Box::new(move || {
        stats.down().map(|why| {
            let waiting = match stats.backlog_bytes() {
                b if b < 10 << 10 => format!("{b} bytes"),
                b if b < 10 << 20 => format!("{} KB", b >> 10),
                b => format!("{} MB", b >> 20),
            };
            format!("KAFKA DOWN ({why}): {waiting} wait in the journal")
        })
    })
}

/// `watch kafka://…`: the screen over a topic many taps publish to. The
/// topic is followed into a private spool file (the store reads lines back
/// by position), judged once here with this screen's plan.
async fn watch_topic(topic: amptap::kafka::KafkaUrl, args: WatchArgs) -> anyhow::Result<ExitCode> {
    let plan = load_plan(args.proxy.plan.as_ref())?;
    let spool = super::new_spool("kafka")?;
    let follower = amptap::kafka::consume::Follower::start(topic.clone(), spool.reopen()?)?;
    let (tx, rx) = mpsc::channel(FEED_QUEUE);
    let judge_with = Arc::new(plan.clone().unwrap_or_else(Plan::none));
    let source = Source::Live {
        path: spool.path().to_owned(),
        offset: 0,
        journal: follower.written.clone(),
    };
    let pipeline = Pipeline::start(source, judge_with, vec![Box::new(QueueSink(tx))])?;
    let session = Session {
        listen: Some(topic.to_string()),
        upstream: "every tap that publishes to it".into(),
        plan: args.proxy.plan.as_ref().map(|p| p.display().to_string()),
        journal: None,
        inputs: vec![topic.to_string()],
    };
    let health = follower.health.clone();
    let feed = Feed {
        rx,
        stats: pipeline.stats(),
        journal: Some(follower.written.clone()),
        link: Some(Box::new(move || {
            health.down().map(|why| format!("KAFKA ({why})"))
        })),
    };
    let journals = vec![spool.path().to_owned()];
    let reconcile = setup(
        journals.clone(),
        export_client(args.proxy.region, args.export_endpoint.clone()),
        &plan,
        args.proxy.plan.as_ref(),
    );
    let result = inspect(plan, session, feed, args.max_memory, reconcile, journals).await;
    drop(pipeline);
    drop(follower);
    result.map(|()| ExitCode::SUCCESS)
}

type MakeClient = Box<dyn Fn() -> Result<ExportClient, String> + Send + Sync>;

/// Makes the Reconcile view's Export API client when asked, with the keys
/// of that moment (environment, then config file).
fn export_client(region: amptap::event::Region, endpoint: Option<String>) -> MakeClient {
    Box::new(move || {
        let credentials = Credentials::load(&super::config_dir().join("config.toml"))
            .map_err(|e| e.to_string())?;
        ExportClient::new(
            region,
            endpoint.as_deref(),
            credentials,
            Duration::from_secs(120),
        )
        .map_err(|e| e.to_string())
    })
}

fn setup(
    captures: Vec<PathBuf>,
    client: MakeClient,
    plan: &Option<Plan>,
    label: Option<&PathBuf>,
) -> Option<ReconcileSetup> {
    let plan = plan.clone().map(|p| {
        (
            label.map_or_else(|| "plan".to_owned(), |l| l.display().to_string()),
            p,
        )
    });
    Some(ReconcileSetup {
        captures,
        client,
        plan,
    })
}

pub async fn open(args: OpenArgs) -> anyhow::Result<ExitCode> {
    let (captures, _spooled) = super::spool_inputs(&args.captures)?;
    for (path, name) in captures.iter().zip(&args.captures) {
        let journal = amptap::journal::is_a_journal(path)
            .with_context(|| format!("cannot open {}", name.display()))?;
        if !journal {
            anyhow::bail!(
                "{} is not an amptap journal (its first line is not a record); journals are what `amptap serve` or `watch` write with --record",
                name.display()
            );
        }
    }
    need_terminal("open")?;
    let plan = load_plan(args.plan.as_ref())?;
    let session = Session {
        listen: None,
        upstream: String::new(),
        plan: args.plan.as_ref().map(|p| p.display().to_string()),
        journal: None,
        inputs: args
            .captures
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    };
    let journals = captures.clone();
    let reconcile = setup(
        journals.clone(),
        export_client(args.region, args.export_endpoint.clone()),
        &plan,
        args.plan.as_ref(),
    );
    let (tx, rx) = mpsc::channel(FEED_QUEUE);
    let judge_with = Arc::new(plan.clone().unwrap_or_else(Plan::none));
    let pipeline = Pipeline::start(
        Source::Files(journals.clone()),
        judge_with,
        vec![Box::new(QueueSink(tx))],
    )?;
    let feed = Feed {
        rx,
        stats: pipeline.stats(),
        journal: None,
        link: None,
    };
    let result = inspect(plan, session, feed, args.max_memory, reconcile, journals).await;
    // Closing the screen stops the reading (dropping the pipeline joins it).
    drop(pipeline);
    result.map(|()| ExitCode::SUCCESS)
}

pub async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    need_terminal("demo")?;
    let plan = plan::parse_toml(amptap::demo::PLAN_TOML, "assets/dify-plan.toml")?;
    let fake = FakeAmplitude::new()
        .start("127.0.0.1:0".parse().context("address")?)
        .await
        .context("starting the stand-in Amplitude")?;
    let upstream = Upstream::new(Target::Base(fake.url()), Duration::from_secs(10))?;
    let journal_path = args.record.clone().unwrap_or_else(|| {
        let default = super::default_journal_path();
        let name = default
            .file_name()
            .map(|n| format!("demo-{}", n.to_string_lossy()))
            .unwrap_or_default();
        default.with_file_name(name)
    });
    let (tx, rx) = mpsc::channel(FEED_QUEUE);
    let tap = RunningTap::start(
        TapConfig {
            listen: args.listen,
            mode: Mode::Forward(upstream),
            limits: BodyLimits::default(),
            journal_path,
            fsync: amptap::journal::Fsync::Batch,
            plan: Arc::new(plan.clone()),
            session_memory: Some(args.max_memory),
            api_token: None,
            judging: true,
            clients: Default::default(),
            in_flight_memory: amptap::tap::default_in_flight(),
            relay_api_key: None,
            relay_throttle_wait: std::time::Duration::from_secs(30),
            publish: None,
        },
        vec![Box::new(QueueSink(tx))],
    )
    .await?;
    let (stop_tx, stop_rx) = signal::channel(false);
    let traffic = tokio::spawn(amptap::demo::run(
        format!("http://{}", tap.addr),
        fake.fake.clone(),
        stop_rx,
    ));
    let session = Session {
        listen: Some(format!("http://{}", tap.addr)),
        upstream: "stand-in Amplitude (demo, offline)".into(),
        plan: Some("assets/dify-plan.toml (built in)".into()),
        journal: Some(tap.tap.journal.path().to_owned()),
        inputs: Vec::new(),
    };
    let journal = tap.tap.journal.stats_handle();
    // The stand-in serves its own Export API: the Reconcile view works offline too.
    let fake_url = fake.url();
    let client: MakeClient = Box::new(move || {
        ExportClient::new(
            amptap::event::Region::Us,
            Some(&fake_url),
            Credentials::new("demo", "demo"),
            Duration::from_secs(30),
        )
        .map_err(|e| e.to_string())
    });
    let label = PathBuf::from("assets/dify-plan.toml");
    let reconcile = setup(
        vec![tap.tap.journal.path().to_owned()],
        client,
        &Some(plan.clone()),
        Some(&label),
    );
    let feed = Feed {
        rx,
        stats: tap.pipeline_stats(),
        journal: Some(journal),
        link: None,
    };
    let journals = vec![tap.tap.journal.path().to_owned()];
    let result = inspect(
        Some(plan),
        session,
        feed,
        args.max_memory,
        reconcile,
        journals,
    )
    .await;
    let _ = stop_tx.send(true);
    let _ = traffic.await;
    let summary = tap.stop().await;
    print_summary(&summary);
    result.map(|()| ExitCode::SUCCESS)
}

fn need_terminal(command: &str) -> anyhow::Result<()> {
    if std::io::stdout().is_terminal() {
        Ok(())
    } else {
        anyhow::bail!("amptap {command} needs a terminal; use `amptap serve` (headless) or `amptap check` for scripts")
    }
}

fn load_plan(path: Option<&PathBuf>) -> anyhow::Result<Option<Plan>> {
    Ok(path.map(|p| amptap::plan_file::load(p)).transpose()?)
}

/// Runs the screen over what the judge stage feeds it.
async fn inspect(
    plan: Option<Plan>,
    session: Session,
    feed: Feed,
    max_memory: usize,
    reconcile: Option<ReconcileSetup>,
    journals: Vec<PathBuf>,
) -> anyhow::Result<()> {
    let plan = plan.unwrap_or_else(Plan::none);
    let store = Store::new(max_memory, (!plan.events.is_empty()).then_some(&plan));
    let history_path = super::config_dir().join("filter-history");
    let history = tui::load_history(&history_path);
    let app = App::new(
        store,
        session,
        history,
        Theme::from_env(),
        time::OffsetDateTime::now_utc(),
    );
    tui::run(
        app,
        feed,
        RunOptions {
            history_path: Some(history_path),
            reconcile,
            lines: Some(Arc::new(amptap::lines::FileLines::new(journals))),
            ..RunOptions::default()
        },
    )
    .await
}

fn print_summary(s: &TapSummary) {
    eprintln!(
        "amptap: {} requests, {} events, {} forward failures, {} undecodable; journal {} ({} bytes)",
        s.requests,
        s.events,
        s.forward_failures,
        s.undecodable,
        s.journal_path.display(),
        s.journal_bytes
    );
}
