// node tools/binaryen/mvp.mjs IN OUT: IN (rustc's wasm32-wasip1 module)
// lowered to WebAssembly MVP at OUT, for Fluent Bit before 4.0.3 (see `mvp`
// in xtask/src/main.rs, which runs this and then validates OUT with MVP
// features only).
//
// The same as `wasm-opt IN <features> --signext-lowering
// --llvm-memory-copy-fill-lowering --llvm-nontrapping-fptoint-lowering
// --strip-target-features -o OUT`, with one change: binaryen's
// `__memory_copy` and `__memory_fill` (what every memory.copy/memory.fill
// becomes) move one byte per loop iteration, about 17 instructions a byte,
// which made the MVP module cost 28,078 wasmtime fuel per "apply error"
// event line against 16,075 for the bulk-memory module. Their bodies are
// replaced here by loops that move 8 bytes per iteration (i64 loads and
// stores, align=1: unaligned access is legal in wasm), then the 0-7 bytes
// left one at a time, with binaryen's bounds check and trap kept as they are.
import fs from "node:fs";
import binaryen from "binaryen";

const [input, output] = process.argv.slice(2);
if (!input || !output || process.argv.length !== 4) {
  console.error("usage: node mvp.mjs IN.wasm OUT.wasm");
  process.exit(2);
}

const F = binaryen.Features;
// What rustc's wasm32-wasip1 output may use, so the input validates.
const INPUT_FEATURES =
  F.MVP | F.SignExt | F.BulkMemory | F.BulkMemoryOpt | F.NontrappingFPToInt | F.ReferenceTypes |
  F.CallIndirectOverlong | F.MutableGlobals | F.Multivalue;

const module = binaryen.readBinary(fs.readFileSync(input));
module.setFeatures(INPUT_FEATURES);
module.runPasses(["signext-lowering", "llvm-memory-copy-fill-lowering", "llvm-nontrapping-fptoint-lowering"]);

const i32 = binaryen.i32;
const i64 = binaryen.i64;
const none = binaryen.none;
const get = (index, type = i32) => module.local.get(index, type);
const set = (index, value) => module.local.set(index, value);
const add = (index, k) => set(index, module.i32.add(get(index), module.i32.const(k)));
const sub = (index, k) => set(index, module.i32.sub(get(index), module.i32.const(k)));
const memoryEnd = () => module.i32.shl(module.memory.size(), module.i32.const(16));
const beyond = (ptr, size, end) => module.i32.gt_u(module.i32.add(get(ptr), get(size)), end);

// `block $label { loop { br_if $label (exit); ...body; br loop } }`
let labels = 0;
function whileNot(exit, body) {
  const out = `out${labels}`;
  const loop = `loop${labels++}`;
  return module.block(out, [module.loop(loop, module.block(null, [module.br(out, exit), ...body, module.br(loop)]))]);
}

// The pass names its functions so, and adds each only if the module needs it.
// Same name and type as binaryen's, so its calls still resolve.
function replace(name, params, vars, body) {
  const ref = module.getFunction(name);
  if (ref === 0) return false;
  const info = binaryen.getFunctionInfo(ref);
  if (info.params !== params || info.results !== none) {
    throw new Error(`${name}: binaryen's type changed (params ${binaryen.expandType(info.params)})`);
  }
  module.removeFunction(name);
  module.addFunction(name, params, none, vars, body);
  return true;
}

// __memory_copy(dst, src, n): memmove. Each 8-byte chunk is loaded before it
// is stored, and chunks go from the end down when src < dst (from the start
// up otherwise), so no chunk reads bytes an earlier one wrote, for any overlap.
const [DST, SRC, N, END] = [0, 1, 2, 3];
const copied = replace("__memory_copy", binaryen.createType([i32, i32, i32]), [i32], module.block(null, [
  // binaryen's check, as it is: dst + n or src + n (i32, wrapping) past the memory's end traps.
  set(END, memoryEnd()),
  module.if(module.i32.or(beyond(DST, N, get(END)), beyond(SRC, N, get(END))), module.unreachable()),
  module.if(
    module.i32.lt_u(get(SRC), get(DST)),
    // Backwards: n counts the bytes not yet copied, at the start of both ranges.
    module.block(null, [
      whileNot(module.i32.lt_u(get(N), module.i32.const(8)), [
        sub(N, 8),
        module.i64.store(0, 1, module.i32.add(get(DST), get(N)), module.i64.load(0, 1, module.i32.add(get(SRC), get(N)))),
      ]),
      whileNot(module.i32.eqz(get(N)), [
        sub(N, 1),
        module.i32.store8(0, 1, module.i32.add(get(DST), get(N)), module.i32.load8_u(0, 1, module.i32.add(get(SRC), get(N)))),
      ]),
    ]),
    // Forwards: dst and src step up, n counts down.
    module.block(null, [
      whileNot(module.i32.lt_u(get(N), module.i32.const(8)), [
        module.i64.store(0, 1, get(DST), module.i64.load(0, 1, get(SRC))),
        add(DST, 8),
        add(SRC, 8),
        sub(N, 8),
      ]),
      whileNot(module.i32.eqz(get(N)), [
        module.i32.store8(0, 1, get(DST), module.i32.load8_u(0, 1, get(SRC))),
        add(DST, 1),
        add(SRC, 1),
        sub(N, 1),
      ]),
    ]),
  ),
]));

// __memory_fill(dst, val, n): the low byte of val, 8 at a time, then the rest.
const [VAL, WORD] = [1, 3];
const filled = replace("__memory_fill", binaryen.createType([i32, i32, i32]), [i64], module.block(null, [
  module.if(beyond(DST, N, memoryEnd()), module.unreachable()),
  set(WORD, module.i64.mul(
    module.i64.extend_u(module.i32.and(get(VAL), module.i32.const(0xff))),
    module.i64.const(0x0101010101010101n),
  )),
  whileNot(module.i32.lt_u(get(N), module.i32.const(8)), [
    module.i64.store(0, 1, get(DST), get(WORD, i64)),
    add(DST, 8),
    sub(N, 8),
  ]),
  whileNot(module.i32.eqz(get(N)), [
    module.i32.store8(0, 1, get(DST), get(VAL)),
    add(DST, 1),
    sub(N, 1),
  ]),
]));

module.runPasses(["strip-target-features"]);
if (!module.validate()) {
  console.error(`${output}: binaryen's validator refused the lowered module`);
  process.exit(1);
}
fs.writeFileSync(output, module.emitBinary());
console.error(`mvp.mjs: ${output}: word-wise __memory_copy ${copied ? "yes" : "not needed"}, __memory_fill ${filled ? "yes" : "not needed"}`);
