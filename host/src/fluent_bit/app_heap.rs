//! WAMR's app heap, for modules that export no allocator: how large WAMR
//! makes it of `Wasm_Heap_Size` ([`wamr_app_heap_size`]) and the heap
//! itself, emulated host-side ([`AppHeap`]), where a record that does not
//! fit arrives as pointer 0.

use std::collections::BTreeMap;

use anyhow::{anyhow, Context as _, Result};
use wasmtime::{Memory, Store};

use crate::loading::wt;

/// Per-allocation overhead of the emulated app heap, close to WAMR's.
pub const APP_HEAP_HEADER: u32 = 8;

const WASM_PAGE: u64 = 65536;

/// The app heap WAMR (Fluent Bit 4.1+, WAMR 2.4.1: `memory_instantiate`)
/// makes of a `Wasm_Heap_Size` of `configured` bytes for a module without
/// allocator exports. Seen in Fluent Bit 5.1.1: a do-nothing filter with
/// one page of memory drops a 9 KB record on the default 8 KiB heap, while
/// rustc's lean module takes records up to about 64 KB. WAMR:
/// - a memory of exactly one page that cannot grow (no maximum above 1 and
///   no `memory.grow`, which WAMR reads as maximum = initial) gets the heap
///   appended as is;
/// - a module that exports `__heap_base` gets it inserted there, as is;
/// - any other gets whole new 64 KiB pages for it, less 1 KiB: 8 KiB
///   becomes 63 KiB (rustc's cdylibs export no `__heap_base`).
pub fn wamr_app_heap_size(wasm: &[u8], configured: u32) -> Result<u32> {
    if configured == 0 {
        return Ok(0);
    }
    let (mut initial, mut maximum, mut grows, mut heap_base) = (0u64, None, false, false);
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload? {
            wasmparser::Payload::MemorySection(memories) => {
                if let Some(m) = memories.into_iter().next() {
                    let m = m?;
                    (initial, maximum) = (m.initial, m.maximum);
                }
            }
            wasmparser::Payload::ExportSection(exports) => {
                for e in exports {
                    let e = e?;
                    heap_base |= e.name == "__heap_base" && e.kind == wasmparser::ExternalKind::Global;
                }
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                let mut ops = body.get_operators_reader()?;
                while !ops.eof() {
                    grows |= matches!(ops.read()?, wasmparser::Operator::MemoryGrow { .. });
                }
            }
            _ => {}
        }
    }
    let maximum = maximum.unwrap_or(if grows { 65536 } else { initial });
    if (initial == 1 && maximum == 1) || heap_base {
        return Ok(configured);
    }
    let pages = u64::from(configured).div_ceil(WASM_PAGE);
    u32::try_from(pages * WASM_PAGE - 1024).map_err(|_| anyhow!("a {configured}-byte app heap does not fit in wasm32"))
}

/// WAMR's app heap, emulated host-side: a region appended to linear memory
/// and managed first-fit with a small header per allocation, so a record of
/// about `Wasm_Heap_Size` bytes does not fit.
pub(crate) struct AppHeap {
    pub(crate) base: u32,
    pub(crate) size: u32,
    /// Free blocks: offset -> length (relative to `base`), coalesced.
    free: BTreeMap<u32, u32>,
    /// Live allocations: user pointer -> (block offset, block length).
    used: BTreeMap<u32, (u32, u32)>,
}

impl AppHeap {
    pub(crate) fn append_to<T: 'static>(memory: &Memory, store: &mut Store<T>, size: u32) -> Result<Self> {
        let base_bytes = memory.data_size(&*store) as u64;
        let pages = (size as u64).div_ceil(WASM_PAGE);
        if pages > 0 {
            wt(memory.grow(&mut *store, pages))
                .with_context(|| format!("cannot grow linear memory by {pages} pages for a {size}-byte app heap"))?;
        }
        let base = u32::try_from(base_bytes).map_err(|_| anyhow!("linear memory too large for an app heap"))?;
        let mut free = BTreeMap::new();
        if size > 0 {
            free.insert(0, size);
        }
        Ok(AppHeap { base, size, free, used: BTreeMap::new() })
    }

    /// First fit; `None` when no free block is large enough.
    pub(crate) fn alloc(&mut self, size: u32) -> Option<u32> {
        let need = size.checked_add(7)? / 8 * 8 + APP_HEAP_HEADER;
        let (&off, &len) = self.free.iter().find(|(_, &len)| len >= need)?;
        self.free.remove(&off);
        if len > need {
            self.free.insert(off + need, len - need);
        }
        let ptr = self.base + off + APP_HEAP_HEADER;
        self.used.insert(ptr, (off, need));
        Some(ptr)
    }

    pub(crate) fn free(&mut self, ptr: u32) {
        let Some((mut off, mut len)) = self.used.remove(&ptr) else {
            return;
        };
        // Coalesce with the following and the preceding free block.
        if let Some(next_len) = self.free.remove(&(off + len)) {
            len += next_len;
        }
        if let Some((&prev_off, &prev_len)) = self.free.range(..off).next_back() {
            if prev_off + prev_len == off {
                self.free.remove(&prev_off);
                off = prev_off;
                len += prev_len;
            }
        }
        self.free.insert(off, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap(size: u32) -> AppHeap {
        let mut free = BTreeMap::new();
        free.insert(0, size);
        AppHeap { base: 65536, size, free, used: BTreeMap::new() }
    }

    #[test]
    fn app_heap_first_fit_and_coalescing() {
        let mut h = heap(8192);
        assert_eq!(h.alloc(8192), None, "heap_size bytes must not fit (header overhead)");
        let a = h.alloc(100).unwrap();
        let b = h.alloc(100).unwrap();
        assert_eq!(a, 65536 + APP_HEAP_HEADER);
        assert!(b > a);
        h.free(a);
        h.free(b);
        assert_eq!(h.free.len(), 1, "blocks coalesce back into one");
        assert!(h.alloc(8192 - APP_HEAP_HEADER).is_some());
    }
}
