//! The word-wise `memory.copy`/`memory.fill` of `dist/resetwatch-mvp.wasm`
//! (`tools/binaryen/mvp.mjs`, run by `cargo xtask dist`): a tiny module
//! that exports both instructions, lowered by the same script, against
//! binaryen's byte-wise lowering, the bulk-memory original and a reference
//! in Rust. The filter's own calls cannot be reached from outside (the
//! functions are not exported), and its data never hits the edges this
//! tries: overlaps 1..16 bytes apart both ways, every length 0..40 and the
//! 8-byte chunk boundaries, the memory's end, i32 wrap-around.
//! Needs `tools/binaryen/node_modules` (`cargo xtask dist` installs it).

use crate::support::root;
use resetwatch_host::wasm_check;
use std::path::Path;
use std::process::Command;
use wasmtime::{Config, Engine, Instance, Memory, Module, Store, TypedFunc};

const BULK_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2))))"#;

const PAGE: u32 = 65536;

fn node(args: &[&std::ffi::OsStr]) {
    let out = Command::new("node").current_dir(root()).args(args).output().expect("node runs");
    assert!(out.status.success(), "node {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// (bulk-memory original, binaryen's byte-wise lowering, the shipped word-wise one).
fn modules() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let bulk = wat::parse_str(BULK_WAT).unwrap();
    let dir = std::env::temp_dir().join(format!("resetwatch-mvp-lowering-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (input, old, new) = (dir.join("bulk.wasm"), dir.join("byte.wasm"), dir.join("word.wasm"));
    std::fs::write(&input, &bulk).unwrap();
    let wasm_opt = root().join("tools/binaryen/node_modules/binaryen/bin/wasm-opt");
    assert!(wasm_opt.exists(), "{}: run `cargo xtask dist` first", wasm_opt.display());
    let o = |p: &Path| p.as_os_str().to_owned();
    node(&[
        &o(&wasm_opt),
        &o(&input),
        "--mvp-features".as_ref(),
        "--enable-bulk-memory".as_ref(),
        "--enable-bulk-memory-opt".as_ref(),
        "--llvm-memory-copy-fill-lowering".as_ref(),
        "-o".as_ref(),
        &o(&old),
    ]);
    node(&[&o(&root().join("tools/binaryen/mvp.mjs")), &o(&input), &o(&new)]);
    let read = |p: &Path| std::fs::read(p).unwrap();
    let modules = (bulk, read(&old), read(&new));
    std::fs::remove_dir_all(&dir).unwrap();
    modules
}

struct Runner {
    store: Store<()>,
    memory: Memory,
    copy: TypedFunc<(u32, u32, u32), ()>,
    fill: TypedFunc<(u32, u32, u32), ()>,
}

impl Runner {
    fn new(engine: &Engine, wasm: &[u8]) -> Runner {
        let mut store = Store::new(engine, ());
        store.set_fuel(u64::MAX).unwrap();
        let instance = Instance::new(&mut store, &Module::new(engine, wasm).unwrap(), &[]).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let copy = instance.get_typed_func(&mut store, "copy").unwrap();
        let fill = instance.get_typed_func(&mut store, "fill").unwrap();
        Runner { store, memory, copy, fill }
    }

    /// Memory after `op` on `start`, or None if it trapped; and the fuel it took.
    fn run(&mut self, start: &[u8], op: Op) -> (Option<Vec<u8>>, u64) {
        self.memory.data_mut(&mut self.store).copy_from_slice(start);
        let before = self.store.get_fuel().unwrap();
        let result = match op {
            Op::Copy { dst, src, n } => self.copy.call(&mut self.store, (dst, src, n)),
            Op::Fill { dst, val, n } => self.fill.call(&mut self.store, (dst, val, n)),
        };
        let fuel = before - self.store.get_fuel().unwrap();
        (result.ok().map(|()| self.memory.data(&self.store).to_vec()), fuel)
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Copy { dst: u32, src: u32, n: u32 },
    Fill { dst: u32, val: u32, n: u32 },
}

/// What binaryen's byte-wise functions do: trap when dst + n or src + n,
/// added as i32 (wrapping), is past the memory's end; else memmove / memset
/// of `val`'s low byte. When the i32 sum wraps, the check passes but the
/// loop reaches an address past the end and traps there.
fn reference(mem: &[u8], op: Op) -> Option<Vec<u8>> {
    let end = mem.len() as u32;
    let past = |p: u32, n: u32| p.wrapping_add(n) > end || u64::from(p) + u64::from(n) > u64::from(end);
    let mut m = mem.to_vec();
    match op {
        Op::Copy { dst, src, n } => {
            if past(dst, n) || past(src, n) {
                return None;
            }
            m.copy_within(src as usize..(src + n) as usize, dst as usize);
        }
        Op::Fill { dst, val, n } => {
            if past(dst, n) {
                return None;
            }
            m[dst as usize..(dst + n) as usize].fill(val as u8);
        }
    }
    Some(m)
}

fn cases() -> Vec<Op> {
    let mut ops = Vec::new();
    // Overlaps both ways (src < dst copies backwards) at distances 0..16,
    // every length 0..40 and some longer ones, from an aligned and an odd base.
    for base in [4096, 4099] {
        for d in 0..=16 {
            for n in (0..=40).chain([63, 64, 65, 1000, 4093]) {
                ops.push(Op::Copy { dst: base + d, src: base, n });
                ops.push(Op::Copy { dst: base, src: base + d, n });
            }
        }
        for n in (0..=40).chain([100, 4093]) {
            ops.push(Op::Copy { dst: base + 2000, src: base + 7, n }); // apart, forwards
            ops.push(Op::Copy { dst: base + 7, src: base + 2000, n }); // apart, backwards
            for val in [0, 0xab, 0x1ff, 0xffff_ff80, u32::MAX] {
                ops.push(Op::Fill { dst: base + 3, val, n });
            }
        }
    }
    // The memory's end: ending on it is fine (n = 0 at the end too), one past traps.
    for n in [0, 1, 7, 8, 9, 40] {
        for over in [0, 1, 8] {
            let at = PAGE - n + over;
            ops.push(Op::Copy { dst: at, src: 100, n });
            ops.push(Op::Copy { dst: 100, src: at, n });
            ops.push(Op::Copy { dst: at, src: at - 3, n });
            ops.push(Op::Fill { dst: at, val: 0x5a, n });
        }
    }
    // i32 wrap-around: binaryen's check passes, the accesses trap.
    for (p, n) in [(u32::MAX, 1), (u32::MAX - 15, 32), (1, u32::MAX), (2, u32::MAX - 1)] {
        ops.push(Op::Copy { dst: p, src: 0, n });
        ops.push(Op::Copy { dst: 0, src: p, n });
        ops.push(Op::Copy { dst: p, src: p, n });
        ops.push(Op::Fill { dst: p, val: 1, n });
    }
    ops.push(Op::Copy { dst: 2, src: 1, n: u32::MAX });
    ops.push(Op::Copy { dst: 1, src: 2, n: u32::MAX });
    ops
}

/// Every byte different from its neighbours, so a chunk copied from the
/// wrong place or in the wrong order shows.
fn pattern() -> Vec<u8> {
    let mut x = 0x9e37_79b9_u32;
    (0..PAGE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn word_wise_copy_and_fill_do_what_binaryens_byte_wise_ones_do() {
    let (bulk, old, new) = modules();
    // The lowering happened: nothing post-MVP is left.
    wasm_check::check_mvp_module(&old).unwrap();
    wasm_check::check_mvp_module(&new).unwrap();
    let engine = Engine::new(Config::new().consume_fuel(true)).unwrap();
    let mut runners =
        [("bulk memory", bulk), ("binaryen", old), ("word-wise", new)].map(|(name, wasm)| (name, Runner::new(&engine, &wasm)));
    let start = pattern();
    let ops = cases();
    let mut traps = 0;
    for &op in &ops {
        let want = reference(&start, op);
        traps += usize::from(want.is_none());
        for (name, runner) in &mut runners {
            let (got, _) = runner.run(&start, op);
            // Not `assert_eq!` on the memories: 64 KiB of diff is no help.
            match (&want, &got) {
                (None, None) => {}
                (Some(w), Some(g)) if w == g => {}
                (Some(w), Some(g)) => {
                    let at = w.iter().zip(g).position(|(a, b)| a != b).unwrap();
                    panic!("{name}: {op:?}: byte {at} is {}, want {}", g[at], w[at]);
                }
                _ => panic!("{name}: {op:?}: trapped {}, want {}", got.is_none(), want.is_none()),
            }
        }
    }
    assert!(traps > 40 && traps < ops.len() / 4, "{traps} of {} cases trap", ops.len());

    // What it is for: a 4 KiB copy or fill takes a fraction of binaryen's fuel.
    for op in [
        Op::Copy { dst: 8192, src: 4096, n: 4096 },
        Op::Copy { dst: 4096, src: 8192, n: 4096 },
        Op::Fill { dst: 4096, val: 7, n: 4096 },
    ] {
        let [_, (_, old), (_, new)] = &mut runners;
        let (old_fuel, new_fuel) = (old.run(&start, op).1, new.run(&start, op).1);
        assert!(new_fuel * 4 < old_fuel, "{op:?}: {new_fuel} fuel, binaryen's {old_fuel}");
    }
}
