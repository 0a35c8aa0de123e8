//! What a plugin imports, checked before it is linked: WASI 0.2 (with `wasi:http`'s client
//! side, the `http` capability) and `palisade:action@0.1.0` only. Anything else is refused by
//! name, so an admin learns what the plugin wanted.

use crate::capability::{Capability, HTTP, Operation};
use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

/// The WASI 0.2 packages a plugin may import; the host links them with a context that grants
/// nothing (see `capability::sandbox`).
const WASI_PACKAGES: &[&str] = &["cli", "clocks", "filesystem", "io", "random", "sockets"];

/// The `wasi:http` interfaces of a client: building requests and sending them. Sending is the
/// `http` capability, answered within the plugin's grant and allow list (`capability::http`).
const WASI_HTTP_INTERFACES: &[&str] = &["types", "outgoing-handler"];

/// The `palisade:action` interfaces of this ABI version.
const PALISADE_INTERFACES: &[&str] = &[
    "types", "log", "config", "kv", "intel", "siem", "ticket", "identity", "endpoint", "network", "notify",
];

#[derive(Debug, Clone, Serialize)]
pub struct ImportInfo {
    /// The interface, e.g. `palisade:action/identity@0.1.0`.
    pub name: String,
    /// The functions the plugin uses from it.
    pub functions: Vec<String>,
}

impl ImportInfo {
    /// The host operations this import reaches, for comparing with grants.
    pub fn operations(&self) -> Vec<Operation> {
        if self.name.starts_with("wasi:http/outgoing-handler@") {
            return vec![HTTP];
        }
        let Some(interface) = self
            .name
            .strip_prefix("palisade:action/")
            .and_then(|rest| rest.split('@').next())
        else {
            return Vec::new();
        };
        let Some(capability) = Capability::parse(interface) else {
            return Vec::new();
        };
        self.functions
            .iter()
            .filter_map(|function| Operation::lookup(capability, function))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error(
        "imports `{0}`, which Palisade does not provide (a plugin may import palisade:action@0.1.0 and WASI 0.2 interfaces)"
    )]
    Foreign(String),
    #[error(
        "imports `{0}`: of wasi:http a plugin may import only the client side (wasi:http/types and wasi:http/outgoing-handler 0.2)"
    )]
    Http(String),
}

/// Lists the component's imports, refusing any outside the allowed set.
pub fn check(engine: &Engine, component: &Component) -> Result<Vec<ImportInfo>, ImportError> {
    let mut imports = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        allowed(name)?;
        let functions = match &item.ty {
            ComponentItem::ComponentInstance(instance) => instance
                .exports(engine)
                .filter(|(_, export)| matches!(export.ty, ComponentItem::ComponentFunc(_)))
                .map(|(function, _)| function.to_owned())
                .collect(),
            _ => Vec::new(),
        };
        imports.push(ImportInfo {
            name: name.to_owned(),
            functions,
        });
    }
    Ok(imports)
}

fn allowed(name: &str) -> Result<(), ImportError> {
    let foreign = || ImportError::Foreign(name.to_owned());
    let (package, version) = name.split_once('@').ok_or_else(foreign)?;
    let (namespace_and_package, interface) = package.split_once('/').ok_or_else(foreign)?;
    match namespace_and_package.split_once(':') {
        Some(("wasi", "http"))
            if version.starts_with("0.2.") && WASI_HTTP_INTERFACES.contains(&interface) =>
        {
            Ok(())
        }
        Some(("wasi", "http")) => Err(ImportError::Http(name.to_owned())),
        Some(("wasi", package)) if WASI_PACKAGES.contains(&package) && version.starts_with("0.2.") => Ok(()),
        Some(("palisade", "action")) if version == "0.1.0" && PALISADE_INTERFACES.contains(&interface) => {
            Ok(())
        }
        _ => Err(foreign()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_0_2_and_the_palisade_abi_are_allowed() {
        assert!(allowed("wasi:cli/environment@0.2.0").is_ok());
        assert!(allowed("wasi:sockets/tcp@0.2.6").is_ok());
        assert!(allowed("palisade:action/identity@0.1.0").is_ok());
        assert!(allowed("wasi:http/outgoing-handler@0.2.0").is_ok());
        assert!(allowed("wasi:http/types@0.2.12").is_ok());
    }

    #[test]
    fn everything_else_is_refused_by_name() {
        for name in [
            "evil:backdoor/shell@1.0.0",
            "wasi:cli/environment@0.3.0",
            "wasi:keyvalue/store@0.2.0",
            "palisade:action/identity@9.0.0",
            "palisade:action/shell@0.1.0",
            "host-exec",
        ] {
            let error = allowed(name).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
        for server_side in [
            "wasi:http/incoming-handler@0.2.0",
            "wasi:http/outgoing-handler@0.3.0",
            "wasi:http/handler@0.3.0-rc-2025-09-16",
        ] {
            assert!(
                matches!(allowed(server_side), Err(ImportError::Http(_))),
                "{server_side}"
            );
        }
    }

    #[test]
    fn the_outgoing_handler_is_the_http_operation() {
        let info = ImportInfo {
            name: "wasi:http/outgoing-handler@0.2.12".into(),
            functions: vec!["handle".into()],
        };
        assert_eq!(info.operations(), [HTTP]);
    }

    #[test]
    fn imported_functions_map_to_operations() {
        let info = ImportInfo {
            name: "palisade:action/identity@0.1.0".into(),
            functions: vec!["revoke-sessions".into(), "lookup-user".into()],
        };
        let names: Vec<String> = info.operations().iter().map(ToString::to_string).collect();
        assert_eq!(names, ["identity.revoke-sessions", "identity.lookup-user"]);
    }
}
