use super::exit;
use palisade_pipeline::config::Config;
use palisade_pipeline::{Pipeline, RunMode};
use palisade_runtime::capability::Operation;
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The configuration file.
    #[arg(short, long, default_value = "palisade.toml")]
    config: PathBuf,
}

pub async fn check(args: CheckArgs) -> u8 {
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return exit::FATAL;
        }
    };
    let (pipeline, failures) = match Pipeline::build(&config, RunMode::Check).await {
        Ok(built) => built,
        Err(error) => {
            eprintln!("error: {error:#}");
            return exit::FATAL;
        }
    };
    println!(
        "{}: valid; {} connectors, {} plugins",
        config.file.display(),
        config.connectors.len(),
        config.plugins.len()
    );
    for routed in pipeline.plugins() {
        let plugin = &routed.plugin;
        let granted: BTreeSet<String> = plugin.context.grants.iter().map(|op| op.to_string()).collect();
        let asked: BTreeSet<String> = plugin.info.capabilities.iter().cloned().collect();
        let imported: BTreeSet<String> = plugin
            .imports
            .iter()
            .flat_map(|import| import.operations())
            .map(|op: Operation| op.to_string())
            .collect();
        println!(
            "\nplugin {} ({} {}), stage {}, {} KiB",
            plugin.name,
            plugin.info.name,
            plugin.info.version,
            routed.stage,
            plugin.size.div_ceil(1024)
        );
        println!(
            "  compiled:  from {} in {:.1} ms",
            plugin.compiled_from,
            plugin.load_time.as_secs_f64() * 1000.0
        );
        println!("  asks for:  {}", list(&asked));
        println!("  granted:   {}", list(&granted));
        let not_granted: BTreeSet<_> = asked.difference(&granted).cloned().collect();
        let unused: BTreeSet<_> = granted.difference(&asked).cloned().collect();
        let uncovered: BTreeSet<_> = imported.difference(&granted).cloned().collect();
        if !not_granted.is_empty() {
            println!(
                "  asks for but not granted (calls will be denied): {}",
                list(&not_granted)
            );
        }
        if !unused.is_empty() {
            println!(
                "  granted but never asked for (consider removing): {}",
                list(&unused)
            );
        }
        if !uncovered.is_empty() {
            println!("  imports not covered by grants: {}", list(&uncovered));
        }
    }
    for failure in &failures {
        println!("\nplugin {}: NOT LOADED: {}", failure.plugin, failure.error);
    }
    if failures.is_empty() {
        exit::OK
    } else {
        exit::FATAL
    }
}

fn list(items: &BTreeSet<String>) -> String {
    if items.is_empty() {
        "nothing".to_owned()
    } else {
        items.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}
