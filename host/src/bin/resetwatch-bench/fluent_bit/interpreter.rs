//! What WAMR's interpreter, as the Fluent Bit build embeds it, charges for
//! each kind of wasm work, in Fluent Bit's own instructions
//! (`resetwatch-bench fluent-bit --interpreter-costs`).
//!
//! Each row is the do-nothing filter with one kind of work added 200 times
//! to the function Fluent Bit calls for every record; the figure is what
//! the row costs a record over the unchanged filter, counted under
//! callgrind as the main benchmark counts (the 10,000-record `nats` corpus
//! less its first 1,000 records), divided by 200. Fuel counts every wasm
//! instruction as one; these figures say which of them the interpreter
//! really charges for, and that a function's constants and locals cost on
//! every call whether or not the record reaches the code that uses them.

use super::{config, corpus, counted, fluent_bit_version, wasm_section, Options, CORPORA};
use std::fs;
use std::path::Path;

/// The units added per variant.
const UNITS: usize = 200;

/// (what one unit is, the unit's WAT, where it goes, its fuel: the wasm
/// instructions it executes). Locals 6 and 7 are `i32` zeros, 8 and 9
/// `i64`; param 4 is the record's address.
const VARIANTS: &[(&str, &str, Place, u32)] = &[
    ("`i32.add` of two locals into a local", "local.get 6 local.get 7 i32.add local.set 6", Place::Body, 4),
    ("`i64.xor` of two locals into a local", "local.get 8 local.get 9 i64.xor local.set 8", Place::Body, 4),
    ("`i64.and` with a constant", "local.get 8 i64.const 81985529216486895 i64.and local.set 8", Place::Body, 4),
    ("`i32.load8_u` of a record byte into a local", "local.get 4 i32.load8_u offset=5 local.set 6", Place::Body, 3),
    ("`i64.load` of record bytes into a local", "local.get 4 i64.load offset=5 align=1 local.set 8", Place::Body, 3),
    (
        "a table lookup (`i32.load8_u` of a byte, then of the table at it)",
        "local.get 4 i32.load8_u offset=5 i32.load8_u offset=1000 local.set 6",
        Place::Body,
        4,
    ),
    ("`br_if`, not taken", "local.get 6 br_if 0", Place::Body, 2),
    ("`i32.eq` with a constant, then `br_if`, not taken", "local.get 6 i32.const 46 i32.eq br_if 0", Place::Body, 4),
    ("`local.tee` (a load and an add around it, less the same without)", TEE, Place::Tee, 1),
    (
        "a call with two arguments to a function that returns the first",
        "local.get 4 local.get 5 call 3 local.set 6",
        Place::Body,
        5,
    ),
    ("an `i64` constant (two cells) in code the record never reaches", "i64.const $K local.set 8", Place::Untaken, 0),
    ("an `i32` local, declared and never used", "i32", Place::Local, 0),
];

/// The `local.tee` row's unit, and [`NO_TEE`] the same without it.
const TEE: &str = "local.get 4 i32.load8_u offset=3 local.tee 6 local.get 7 i32.add local.set 7";
const NO_TEE: &str = "local.get 4 i32.load8_u offset=3 local.get 7 i32.add local.set 7";

#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// In the record's path, `UNITS` times.
    Body,
    /// As `Body`, and the row less the same unit without its `local.tee`.
    Tee,
    /// `UNITS` times (each with its own constant) behind a branch not taken.
    Untaken,
    /// `UNITS` locals declared.
    Local,
}

/// The do-nothing filter with `body` in its exported function and
/// `locals` more locals declared.
fn module(body: &str, locals: &str) -> String {
    format!(
        r#"(module
  (type (;0;) (func))
  (type (;1;) (func (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (;0;) 16)
  (global (;0;) (mut i32) i32.const 1048576)
  (export "memory" (memory 0))
  (export "_initialize" (func 1))
  (export "resetwatch_filter" (func 2))
  (func (;0;) (type 0))
  (func (;1;) (type 0) call 0)
  (func (;2;) (type 1) (param i32 i32 i32 i32 i32 i32) (result i32)
    (local i32 i32 i64 i64) {locals}
    block
    {body}
    end
    local.get 4)
  (func (;3;) (param i32 i32) (result i32) local.get 0)
)"#
    )
}

fn variant(unit: &str, place: Place) -> String {
    let repeat = |u: &str| (0..UNITS).map(|k| u.replace("$K", &(1_000_003 + k).to_string())).collect::<Vec<_>>().join("\n    ");
    match place {
        Place::Body | Place::Tee => module(&repeat(unit), ""),
        Place::Untaken => module(&format!("local.get 6\n    if\n    {}\n    end", repeat(unit)), ""),
        Place::Local => module("", &format!("(local {})", vec![unit; UNITS].join(" "))),
    }
}

/// Prints the table.
pub fn run(o: &Options) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let dir = o.work.join("interpreter");
    fs::create_dir_all(&dir).map_err(io)?;
    let accessible = o.work.join("config");
    fs::create_dir_all(&accessible).map_err(io)?;
    let nats = CORPORA.iter().find(|k| k.name == "nats").ok_or("no nats corpus")?;
    let (long_n, short_n) = (10_000, 1_000);
    let (long, short) = (o.work.join(format!("nats-{long_n}.log")), o.work.join(format!("nats-{short_n}.log")));
    corpus(nats, long_n, &long).map_err(io)?;
    corpus(nats, short_n, &short).map_err(io)?;
    // Fluent Bit's instructions a record over the first records' (start
    // taken off), for a module written from `wat`.
    let mut counting = None;
    let mut per_record = |name: &str, wat_text: &str| -> Result<f64, String> {
        let path = dir.join(format!("{name}.wasm"));
        fs::write(&path, wat::parse_str(wat_text).map_err(|e| format!("{name}: {e}"))?).map_err(io)?;
        let mut count = |input: &Path| -> Result<u64, String> {
            let conf = dir.join(format!("{name}-{}.conf", input.file_stem().and_then(|s| s.to_str()).unwrap_or("input")));
            fs::write(&conf, config(&o.work, input, false, Some(&wasm_section(&path, true, &accessible)))).map_err(io)?;
            counted(o, &mut counting, &conf, &dir.join("callgrind.out"), None)
        };
        let (a, b) = (count(&long)?, count(&short)?);
        Ok(a.saturating_sub(b) as f64 / (long_n - short_n) as f64)
    };
    eprintln!("bench: interpreter costs, the base");
    let base = per_record("base", &module("", ""))?;
    let no_tee = per_record("no-tee", &variant(NO_TEE, Place::Body))?;
    println!("## Real host: what {}'s interpreter charges, in its instructions\n", fluent_bit_version(&o.fluent_bit));
    println!(
        "The do-nothing filter with one kind of work added {UNITS} times to its exported function; per unit, \
         Fluent Bit's instructions a record over the unchanged filter ({base:.0} a record), under callgrind \
         on the `nats` corpus ({long_n} records less the first {short_n}). Fuel counts each wasm instruction \
         as one.\n"
    );
    println!("| one unit | Fluent Bit instructions a record | fuel |\n|---|---:|---:|");
    for (k, &(what, unit, place, fuel)) in VARIANTS.iter().enumerate() {
        eprintln!("bench: interpreter costs, {what}");
        let got = per_record(&format!("v{k}"), &variant(unit, place))?;
        let over = if place == Place::Tee { got - no_tee } else { got - base };
        println!("| {what} | {:.1} | {fuel} |", over / UNITS as f64);
    }
    println!();
    Ok(())
}
