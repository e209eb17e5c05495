//! The AOT files `cargo xtask dist` makes with `flb-wamrc` (generic CPUs):
//! the x86_64 ones run every example in Fluent Bit 5.1.1 as the .wasm
//! modules do; the aarch64 one is checked by its header; Fluent Bit 4.0.2
//! refuses them with the error docs/fluent-bit.md quotes.

use super::fluent_bit;
use super::fluent_bit_4_0::assert_documented;
use super::fluent_bit_run::*;
use crate::support::real_host::{self, FLB_WAMRC, FLUENT_BIT, FLUENT_BIT_4_0};
use std::path::PathBuf;

/// What Fluent Bit 4.0.2 (WAMR 1.3.3) logs for an AOT file of format 5.
pub const REFUSED_AOT: &str = "Load wasm module failed. error: AOT module load failed: unknown binary version";

/// `dist/<name>`, when flb-wamrc is there to have made it (else `test` is
/// reported skipped: `cargo xtask dist` skips the AOT files without it).
fn aot_file(name: &str, test: &str) -> Option<PathBuf> {
    real_host::require(FLB_WAMRC, test)?;
    let path = real_host::root().join("dist").join(name);
    assert!(path.is_file(), "{} missing: run `cargo xtask dist` with FLB_WAMRC set", path.display());
    Some(path)
}

fn x86_64_host(test: &str) -> Option<(PathBuf, PathBuf, PathBuf)> {
    if std::env::consts::ARCH != "x86_64" {
        real_host::skip(test, "x86_64", "the x86_64 AOT files run only on x86_64");
        return None;
    }
    let fb = real_host::require(FLUENT_BIT, test)?;
    Some((fb, aot_file("resetwatch-x86_64.aot", test)?, aot_file("resetwatch-lean-x86_64.aot", test)?))
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_x86_64_aot_files_run_the_s05_examples_as_the_wasm_modules_do() {
    let Some((fb, full, lean)) = x86_64_host("the_x86_64_aot_files_run_the_s05_examples_as_the_wasm_modules_do") else { return };
    for (example, module) in
        [("fluent-bit.conf", &full), ("fluent-bit.yaml", &full), ("fluent-bit-lean.conf", &lean), ("fluent-bit-lean.yaml", &lean)]
    {
        fluent_bit::s05_example(&fb, example, Some(module));
    }
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_x86_64_aot_file_runs_the_jsz_and_kubernetes_examples_as_the_wasm_module_does() {
    let Some((fb, full, _)) = x86_64_host("the_x86_64_aot_file_runs_the_jsz_and_kubernetes_examples_as_the_wasm_module_does")
    else {
        return;
    };
    fluent_bit::jsz_example(&fb, Some(&full));
    fluent_bit::kubernetes_example(&fb, Some(&full));
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_x86_64_aot_file_posts_to_alertmanager_as_the_wasm_module_does() {
    let test = "the_x86_64_aot_file_posts_to_alertmanager_as_the_wasm_module_does";
    let Some((fb, full, _)) = x86_64_host(test) else { return };
    if fluent_bit::alertmanager_installed(test) {
        fluent_bit::alertmanager_example(&fb, Some(&full), "alertmanager-aot");
    }
}

/// WAMR's AOT header: `\0aot`, the format version (u32, little-endian),
/// then the target-info section, whose ELF machine and arch name say what
/// the code is for.
#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn every_aot_file_is_format_5_for_its_architecture() {
    let test = "every_aot_file_is_format_5_for_its_architecture";
    for (name, machine, arch) in [
        ("resetwatch-x86_64.aot", 62u16, "x86_64"),
        ("resetwatch-lean-x86_64.aot", 62, "x86_64"),
        ("resetwatch-aarch64.aot", 183, "aarch64v8"),
    ] {
        let Some(path) = aot_file(name, test) else { return };
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"\0aot", "{name}");
        assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 5, "{name}: WAMR 2.4.1 reads format 5");
        // Section 0 (target info): id, size, then bin_type, abi_type, e_type, e_machine (u16 each).
        assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 0, "{name}: target info first");
        assert_eq!(u16::from_le_bytes(bytes[22..24].try_into().unwrap()), machine, "{name}: ELF machine");
        let arch_name = &bytes[48..64];
        let end = arch_name.iter().position(|&b| b == 0).unwrap_or(16);
        assert_eq!(std::str::from_utf8(&arch_name[..end]).unwrap(), arch, "{name}");
    }
}

#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn fluent_bit_4_0_2_refuses_the_aot_file_with_the_documented_error() {
    let test = "fluent_bit_4_0_2_refuses_the_aot_file_with_the_documented_error";
    let Some(old) = real_host::require(FLUENT_BIT_4_0, test) else { return };
    let Some(full) = aot_file("resetwatch-x86_64.aot", test) else { return };
    let make = |_: &Tree| Config::example("fluent-bit.conf").module(&full.display().to_string());
    let run = run_against_do_nothing(&old, "4.0.2-aot", &make, &run_to_end);
    assert!(run.alerts.is_empty());
    let log = run.fluent_bit.log();
    assert!(log.contains(&format!("[error] {REFUSED_AOT}")), "{log}");
    assert_documented(REFUSED_AOT);
}
