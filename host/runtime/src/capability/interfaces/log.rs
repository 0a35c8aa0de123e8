use crate::capability::Broker;
use palisade_abi::bindings::palisade::action::{config, log};

/// Longer messages are cut: the log is for people, not for bulk output.
const MAX_MESSAGE: usize = 4096;

impl log::Host for Broker {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.count_call()?;
        let message = truncate(&message, MAX_MESSAGE);
        let plugin = self.plugin_name();
        let alert = &self.alert_id;
        match level {
            log::Level::Trace => tracing::trace!(target: "plugin", plugin, alert, "{message}"),
            log::Level::Debug => tracing::debug!(target: "plugin", plugin, alert, "{message}"),
            log::Level::Info => tracing::info!(target: "plugin", plugin, alert, "{message}"),
            log::Level::Warn => tracing::warn!(target: "plugin", plugin, alert, "{message}"),
            log::Level::Error => tracing::error!(target: "plugin", plugin, alert, "{message}"),
        }
        Ok(())
    }
}

impl config::Host for Broker {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.count_call()?;
        Ok(self.plugin.settings.get(&key).cloned())
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
