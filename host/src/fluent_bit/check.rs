//! Static checks of a module against what Fluent Bit's WAMR can load.
//!
//! wasmtime runs more of WebAssembly than Fluent Bit's WAMR build does, and a
//! module that wasmtime accepts may still fail to load in Fluent Bit (SIMD is
//! the classic case; reference types before Fluent Bit 4.0.3 another). This
//! module lists imports, exports and the proposals a module actually uses, and
//! [`check_fluent_bit_module`] turns the known incompatibilities into errors.
//!
//! "Actually uses" is decided by wasmparser's own validator: a proposal is in
//! use when the module stops validating with that proposal switched off. That
//! catches types (v128 in a signature or local), operators, section encodings
//! (overlong `call_indirect` table immediates) and memory flags alike.

use std::fmt;

use anyhow::{bail, Context as _, Result};
use wasmparser::{Encoding, ExternalKind, Parser, Payload, TypeRef, ValType, Validator, WasmFeatures};

use crate::fluent_bit::abi::{DEFAULT_FUNCTION_NAME, NO_MEMORY_EXPORT};
// The WAMR feature table and the WASI module name were defined here; they
// are re-exported so that `wasm_check::Feature` and friends keep working.
pub use crate::fluent_bit::abi::WASI_P1_MODULE;
pub use crate::fluent_bit::wamr::{wamr_disabled_features, Feature, Support};

/// A core function type, e.g. `(i32, i32) -> i32`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncSig {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl FuncSig {
    /// The Fluent Bit JSON-mode filter type: `(i32 x6) -> i32`.
    pub fn fluent_bit_filter() -> Self {
        FuncSig { params: vec![ValType::I32; 6], results: vec![ValType::I32] }
    }
}

impl fmt::Display for FuncSig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[ValType]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
        write!(f, "({}) -> ({})", list(&self.params), list(&self.results))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
    /// `func`, `table`, `memory`, `global` or `tag`.
    pub kind: &'static str,
    pub signature: Option<FuncSig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub kind: &'static str,
    pub signature: Option<FuncSig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryInfo {
    pub imported: bool,
    pub initial_pages: u64,
    pub maximum_pages: Option<u64>,
    pub shared: bool,
    pub memory64: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureUse {
    pub feature: Feature,
    /// The validator's message with the feature switched off (with offset).
    pub evidence: String,
}

/// What a module imports, exports and uses.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub imports: Vec<Import>,
    pub exports: Vec<Export>,
    pub memories: Vec<MemoryInfo>,
    pub features: Vec<FeatureUse>,
}

impl Report {
    pub fn uses(&self, feature: Feature) -> bool {
        self.features.iter().any(|f| f.feature == feature)
    }

    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// Which allocator WAMR would copy records with, if any.
    pub fn allocator(&self) -> Option<&'static str> {
        let func =
            |name: &str, sig: FuncSig| self.export(name).is_some_and(|e| e.kind == "func" && e.signature.as_ref() == Some(&sig));
        let sig = |p: usize, r: usize| FuncSig { params: vec![ValType::I32; p], results: vec![ValType::I32; r] };
        if func("malloc", sig(1, 1)) && func("free", sig(1, 0)) {
            Some("malloc/free")
        } else if func("__new", sig(2, 1)) && func("__pin", sig(1, 1)) && func("__unpin", sig(1, 0)) {
            Some("__new/__pin/__unpin")
        } else {
            None
        }
    }

    /// Reasons Fluent Bit would not load or call this module.
    pub fn fluent_bit_errors(&self, function_name: &str) -> Vec<String> {
        let mut errors = Vec::new();
        for f in &self.features {
            if matches!(f.feature.fluent_bit_support(), Support::No | Support::Unknown) {
                let why = if f.feature.fluent_bit_support() == Support::No {
                    "Fluent Bit builds WAMR without it"
                } else {
                    "not known to be in Fluent Bit's WAMR build"
                };
                errors.push(format!("uses {} ({why}): {}", f.feature.name(), f.evidence));
            }
        }
        for i in &self.imports {
            if i.module != WASI_P1_MODULE {
                errors.push(format!("imports {}::{} ({}); Fluent Bit provides only {WASI_P1_MODULE}", i.module, i.name, i.kind));
            }
        }
        match self.export(function_name) {
            None => errors.push(format!("does not export `{function_name}`")),
            Some(e) if e.signature.as_ref() != Some(&FuncSig::fluent_bit_filter()) => errors.push(format!(
                "exports `{function_name}` as {} {}; Fluent Bit calls it as func {}",
                e.kind,
                e.signature.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                FuncSig::fluent_bit_filter()
            )),
            Some(_) => {}
        }
        if !self.exports.iter().any(|e| e.kind == "memory" && e.name == "memory") {
            errors.push(NO_MEMORY_EXPORT.to_string());
        }
        errors
    }

    /// Caveats that do not stop loading on current Fluent Bit.
    pub fn fluent_bit_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for f in &self.features {
            if let Support::Since(version) = f.feature.fluent_bit_support() {
                warnings.push(format!("uses {}: loads only on Fluent Bit >= {version}", f.feature.name()));
            }
        }
        if self.allocator().is_none() {
            warnings.push(
                "exports no allocator: records are copied into WAMR's app heap and one larger than \
                 Wasm_Heap_Size (default 8 KiB) arrives as pointer 0"
                    .to_string(),
            );
        }
        warnings
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "imports:")?;
        for i in &self.imports {
            let sig = i.signature.as_ref().map(|s| format!(" {s}")).unwrap_or_default();
            writeln!(f, "  {}::{} {}{sig}", i.module, i.name, i.kind)?;
        }
        writeln!(f, "exports:")?;
        for e in &self.exports {
            let sig = e.signature.as_ref().map(|s| format!(" {s}")).unwrap_or_default();
            writeln!(f, "  {} {}{sig}", e.name, e.kind)?;
        }
        writeln!(f, "memories:")?;
        for m in &self.memories {
            let max = m.maximum_pages.map(|p| p.to_string()).unwrap_or_else(|| "none".into());
            writeln!(
                f,
                "  {}initial {} pages, maximum {max}{}{}",
                if m.imported { "imported, " } else { "" },
                m.initial_pages,
                if m.shared { ", shared" } else { "" },
                if m.memory64 { ", 64-bit" } else { "" },
            )?;
        }
        writeln!(f, "features used:")?;
        for u in &self.features {
            let support = match u.feature.fluent_bit_support() {
                Support::Yes => "ok".to_string(),
                Support::Since(v) => format!("Fluent Bit >= {v}"),
                Support::Unknown => "not in Fluent Bit's WAMR build?".to_string(),
                Support::No => "NOT SUPPORTED by Fluent Bit".to_string(),
            };
            writeln!(f, "  {} [{support}]", u.feature.name())?;
        }
        Ok(())
    }
}

/// Lists what a core module imports, exports and uses. Errors only when the
/// bytes are not a valid core module.
pub fn analyze(bytes: &[u8]) -> Result<Report> {
    let types =
        Validator::new_with_features(WasmFeatures::all()).validate_all(bytes).context("not a valid WebAssembly module")?;
    let types = types.as_ref();
    let sig_of = |func_index: u32| {
        let ty = types[types.core_function_at(func_index)].unwrap_func();
        FuncSig { params: ty.params().to_vec(), results: ty.results().to_vec() }
    };
    let mut report = Report::default();
    read_sections(bytes, &sig_of, &mut report)?;
    report.features = features_in_use(bytes);
    Ok(report)
}

/// The import, memory and export sections into `report`. Function
/// signatures come from the validator's types (`sig_of`), indexed as the
/// module indexes functions: imports first.
fn read_sections(bytes: &[u8], sig_of: &dyn Fn(u32) -> FuncSig, report: &mut Report) -> Result<()> {
    let mut func_imports = 0u32;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::Version { encoding: Encoding::Component, .. } => {
                bail!("this is a component; Fluent Bit (WAMR) loads only core modules")
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let (kind, signature) = match import.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                            func_imports += 1;
                            ("func", Some(sig_of(func_imports - 1)))
                        }
                        TypeRef::Table(_) => ("table", None),
                        TypeRef::Memory(m) => {
                            report.memories.push(memory_info(&m, true));
                            ("memory", None)
                        }
                        TypeRef::Global(_) => ("global", None),
                        TypeRef::Tag(_) => ("tag", None),
                    };
                    report.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind,
                        signature,
                    });
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    report.memories.push(memory_info(&memory?, false));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let (kind, signature) = match export.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => ("func", Some(sig_of(export.index))),
                        ExternalKind::Table => ("table", None),
                        ExternalKind::Memory => ("memory", None),
                        ExternalKind::Global => ("global", None),
                        ExternalKind::Tag => ("tag", None),
                    };
                    report.exports.push(Export { name: export.name.to_string(), kind, signature });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The proposals the module uses: those without which it stops validating
/// (the validator's message is the evidence).
fn features_in_use(bytes: &[u8]) -> Vec<FeatureUse> {
    let mut used = Vec::new();
    for feature in Feature::ALL {
        let without = WasmFeatures::all().difference(feature.flags());
        if let Err(err) = Validator::new_with_features(without).validate_all(bytes) {
            used.push(FeatureUse { feature, evidence: format!("{} (at offset {:#x})", err.message(), err.offset()) });
        }
    }
    used
}

fn memory_info(m: &wasmparser::MemoryType, imported: bool) -> MemoryInfo {
    MemoryInfo { imported, initial_pages: m.initial, maximum_pages: m.maximum, shared: m.shared, memory64: m.memory64 }
}

/// Fails unless `bytes` is a module of the WebAssembly MVP (1.0 without
/// even mutable-global imports/exports): what Fluent Bit releases before
/// 4.0.3 load whatever their WAMR build enables. The validator itself
/// decides, with every post-MVP proposal switched off, so an instruction,
/// a type or an encoding (the overlong `call_indirect`) all count.
pub fn check_mvp_module(bytes: &[u8]) -> Result<()> {
    Validator::new_with_features(WasmFeatures::MVP)
        .validate_all(bytes)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("not a WebAssembly MVP module: {} (at offset {:#x})", e.message(), e.offset()))
}

/// [`analyze`], then fail if Fluent Bit could not load the module or call
/// `resetwatch_filter` as a JSON-mode filter.
pub fn check_fluent_bit_module(bytes: &[u8]) -> Result<Report> {
    check_fluent_bit_module_for(bytes, DEFAULT_FUNCTION_NAME)
}

/// [`check_fluent_bit_module`] for another `Function_Name`.
pub fn check_fluent_bit_module_for(bytes: &[u8], function_name: &str) -> Result<Report> {
    let report = analyze(bytes)?;
    let errors = report.fluent_bit_errors(function_name);
    if !errors.is_empty() {
        bail!("Fluent Bit cannot use this module:\n  - {}", errors.join("\n  - "));
    }
    Ok(report)
}
