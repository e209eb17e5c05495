//! The Fluent Bit modules' own `memcmp` (`wasm/src/memcmp.rs`, eight bytes
//! a step in place of wasi-libc's byte loop), called as the export it is
//! as a side effect of being defined in a cdylib (in the modules as linked,
//! which `cargo xtask dist` keeps in `target/linked/`: `dist/` has the
//! export taken out): every slice comparison and every ordered map of the
//! core goes through it, so its sign must be C's (the first differing
//! byte, unsigned) at every length and offset.

use crate::support::target_dir;
use wasmtime::{Engine, Linker, Module, Store};

/// `memcmp(a, b, n)` of the module as linked for `dist/` (the lean and the allocator
/// build link the same one), on copies of `a` and `b` placed at `at_a` and
/// `at_b` bytes past a word boundary.
struct Guest {
    store: Store<()>,
    memory: wasmtime::Memory,
    memcmp: wasmtime::TypedFunc<(u32, u32, u32), i32>,
    base: u32,
}

impl Guest {
    fn new(module: &str) -> Guest {
        let engine = Engine::default();
        let module = Module::from_file(&engine, target_dir().join("linked").join(module)).expect("cargo xtask dist first");
        let mut linker = Linker::new(&engine);
        // memcmp touches no import; nothing here runs `_initialize` either.
        linker.define_unknown_imports_as_traps(&module).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let memcmp = instance.get_typed_func(&mut store, "memcmp").expect("the module exports its memcmp");
        // Past everything the module placed: the top page of its memory.
        let base = (memory.data_size(&store) - 65536) as u32;
        Guest { store, memory, memcmp, base }
    }

    fn cmp(&mut self, a: &[u8], at_a: u32, b: &[u8], at_b: u32, n: usize) -> i32 {
        let (pa, pb) = (self.base + at_a, self.base + 32768 + at_b);
        self.memory.write(&mut self.store, pa as usize, a).unwrap();
        self.memory.write(&mut self.store, pb as usize, b).unwrap();
        self.memcmp.call(&mut self.store, (pa, pb, n as u32)).unwrap()
    }
}

#[test]
fn the_modules_memcmp_orders_as_c_does_at_every_length_and_offset() {
    for module in ["resetwatch.wasm", "resetwatch-lean.wasm"] {
        let mut g = Guest::new(module);
        let base: Vec<u8> = (0..80u32).map(|i| (i * 37 + 11) as u8).collect();
        let mut cases = 0;
        for n in 0..=70 {
            for (at_a, at_b) in [(0, 0), (1, 0), (3, 5), (7, 7)] {
                assert_eq!(g.cmp(&base, at_a, &base, at_b, n), 0, "{module}: equal, n {n}");
                // One byte differs at each place: below, above, and a high
                // byte against a low one (unsigned, as C compares).
                for k in 0..n {
                    for (x, y) in [(0x10, 0x11), (0x7f, 0x80), (0xff, 0x00)] {
                        let (mut a, mut b) = (base.clone(), base.clone());
                        a[k] = x;
                        b[k] = y;
                        // A later difference the first one must win over.
                        if k + 1 < n {
                            a[k + 1] = 0x00;
                            b[k + 1] = 0xff;
                        }
                        let got = g.cmp(&a, at_a, &b, at_b, n).signum();
                        let want = a[..n].cmp(&b[..n]) as i32;
                        assert_eq!(got, want, "{module}: n {n}, first difference at {k}: {x:#x} vs {y:#x}");
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 20_000, "{cases}");
    }
}
