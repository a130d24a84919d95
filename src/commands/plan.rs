//! `amptap plan infer` and `amptap plan lint`.

use std::process::ExitCode;

use amptap::plan::{self, Severity};

use crate::cli::PlanCommand;

pub fn run(cmd: PlanCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PlanCommand::Infer { captures } => {
            // Events stream through: memory grows with types, properties
            // and the values kept as examples, not with events.
            let (captures, _stdin) = super::spool_inputs(&captures)?;
            let stream = super::records(&captures)?;
            let (mut requests, mut events) = (0, 0);
            let drafted = plan::infer(stream.flat_map(|record| {
                requests += 1;
                events += record.events.len();
                record.events
            }));
            let names: Vec<String> = captures.iter().map(|p| p.display().to_string()).collect();
            let header = format!(
                "Drafted by `amptap plan infer` from {} events in {} requests ({}).\nReview it: mark what is really required, add patterns, ranges and sources.",
                events,
                requests,
                names.join(", ")
            );
            print!("{}", plan::to_toml(&drafted, &header));
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Lint { plan: path } => {
            let plan = amptap::plan_file::load(&path)?;
            let issues = plan::lint(&plan);
            for i in &issues {
                println!(
                    "{}: {} {}: {}",
                    path.display(),
                    i.severity,
                    i.location,
                    i.message
                );
            }
            let errors = issues
                .iter()
                .filter(|i| i.severity == Severity::Error)
                .count();
            println!(
                "{}: {} event types, {} user properties; {} errors, {} other notes",
                path.display(),
                plan.events.len(),
                plan.user_properties.len(),
                errors,
                issues.len() - errors
            );
            Ok(if errors > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
