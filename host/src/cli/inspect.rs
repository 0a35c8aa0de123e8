use super::exit;
use palisade_runtime::capability::PluginContext;
use palisade_runtime::{Limits, Runtime, RuntimeOptions};
use serde_json::json;
use std::path::Path;

pub async fn inspect(file: &Path, json: bool) -> u8 {
    let runtime = match Runtime::new(&RuntimeOptions::default()) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error:#}");
            return exit::FATAL;
        }
    };
    let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or("plugin");
    let plugin = match runtime
        .load(name, file, PluginContext::isolated(name, Limits::default()))
        .await
    {
        Ok(plugin) => plugin,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::FATAL;
        }
    };
    if json {
        println!(
            "{}",
            json!({
                "file": file,
                "size": plugin.size,
                "sha256": plugin.sha256,
                "info": plugin.info,
                "imports": plugin.imports,
            })
        );
        return exit::OK;
    }
    let info = &plugin.info;
    println!("{} {}", info.name, info.version);
    println!("  {}", info.description);
    println!(
        "file:     {} ({} KiB, sha256 {})",
        file.display(),
        plugin.size.div_ceil(1024),
        plugin.sha256
    );
    println!(
        "asks for: {}",
        if info.capabilities.is_empty() {
            "nothing".to_owned()
        } else {
            info.capabilities.join(", ")
        }
    );
    println!("imports:");
    for import in &plugin.imports {
        if import.functions.is_empty() {
            println!("  {}", import.name);
        } else {
            println!("  {} ({})", import.name, import.functions.join(", "));
        }
    }
    exit::OK
}
