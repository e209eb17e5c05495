//! Host shells: each translates one host ABI to the core and holds no logic
//! another shell would need.

#[cfg(all(target_arch = "wasm32", target_os = "wasi", target_env = "p1"))]
pub mod fluent_bit;

#[cfg(all(target_arch = "wasm32", target_os = "wasi", target_env = "p2"))]
pub mod component;

#[cfg(any(all(target_arch = "wasm32", target_os = "wasi"), test))]
pub mod config_file;

#[cfg(any(all(target_arch = "wasm32", target_os = "wasi"), test))]
pub mod state_file;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub mod js;
