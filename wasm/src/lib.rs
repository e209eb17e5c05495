//! The host shells of the resetwatch filter: each translates one host ABI
//! to the core (the `resetwatch` crate) and holds no logic another shell
//! would need. Every `unsafe` and `static mut` of the filter is here, each
//! with its SAFETY note; the core forbids both.
//!
//! - `fluent_bit`: Fluent Bit's `wasm` filter (wasip1), `dist/resetwatch*.wasm`;
//! - `component`: the Component Model world in `wit/` (wasip2), `dist/resetwatch-component.wasm`;
//! - `js`: wasm-bindgen, for the browser and Node (`web/pkg`, `dist/js-node`);
//! - `config_file` and `state_file`: `resetwatch.json` and the state file in
//!   the WASI directories. `state_file` is also built natively: the
//!   `resetwatch serve` command keeps its state with the same rules.

#[cfg(all(target_arch = "wasm32", target_os = "wasi", target_env = "p1"))]
pub mod fluent_bit;

#[cfg(all(target_arch = "wasm32", target_os = "wasi", target_env = "p1"))]
mod memcmp;

#[cfg(all(target_arch = "wasm32", target_os = "wasi", target_env = "p2"))]
pub mod component;

#[cfg(any(all(target_arch = "wasm32", target_os = "wasi"), test))]
pub mod config_file;

#[cfg(any(all(target_arch = "wasm32", target_os = "wasi"), not(target_arch = "wasm32")))]
pub mod state_file;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub mod js;
