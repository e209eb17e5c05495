//! WAMR as Fluent Bit builds it: which WebAssembly proposals it loads
//! ([`Feature`], [`Support`]), and wasmtime configured to refuse what it
//! refuses ([`wamr_like_config`]). The one table both the stand-in host and
//! the static checks ([`super::check`]) read, so it lives in neither.

use wasmparser::WasmFeatures;
use wasmtime::Config;

/// A post-MVP proposal a module may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    MutableGlobals,
    SaturatingFloatToInt,
    SignExtension,
    ReferenceTypes,
    MultiValue,
    BulkMemory,
    Simd,
    RelaxedSimd,
    Threads,
    Exceptions,
    TailCall,
    Memory64,
    MultiMemory,
    ExtendedConst,
    FunctionReferences,
    Gc,
    WideArithmetic,
    CustomPageSizes,
    StackSwitching,
}

/// Whether Fluent Bit's WAMR build loads modules using a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Yes,
    /// Loads from this Fluent Bit version on.
    Since(&'static str),
    /// Not known to be in Fluent Bit's WAMR build: treat as not loadable.
    Unknown,
    /// Fluent Bit's WAMR is built without it: the module will not load.
    No,
}

impl Feature {
    pub const ALL: [Feature; 19] = [
        Feature::MutableGlobals,
        Feature::SaturatingFloatToInt,
        Feature::SignExtension,
        Feature::ReferenceTypes,
        Feature::MultiValue,
        Feature::BulkMemory,
        Feature::Simd,
        Feature::RelaxedSimd,
        Feature::Threads,
        Feature::Exceptions,
        Feature::TailCall,
        Feature::Memory64,
        Feature::MultiMemory,
        Feature::ExtendedConst,
        Feature::FunctionReferences,
        Feature::Gc,
        Feature::WideArithmetic,
        Feature::CustomPageSizes,
        Feature::StackSwitching,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Feature::MutableGlobals => "mutable-globals",
            Feature::SaturatingFloatToInt => "nontrapping-float-to-int",
            Feature::SignExtension => "sign-ext",
            Feature::ReferenceTypes => "reference-types",
            Feature::MultiValue => "multi-value",
            Feature::BulkMemory => "bulk-memory",
            Feature::Simd => "simd128",
            Feature::RelaxedSimd => "relaxed-simd",
            Feature::Threads => "threads/atomics",
            Feature::Exceptions => "exception-handling",
            Feature::TailCall => "tail-call",
            Feature::Memory64 => "memory64",
            Feature::MultiMemory => "multi-memory",
            Feature::ExtendedConst => "extended-const",
            Feature::FunctionReferences => "function-references",
            Feature::Gc => "gc",
            Feature::WideArithmetic => "wide-arithmetic",
            Feature::CustomPageSizes => "custom-page-sizes",
            Feature::StackSwitching => "stack-switching",
        }
    }

    /// The wasmparser flags that gate this feature.
    pub fn flags(self) -> WasmFeatures {
        use WasmFeatures as F;
        match self {
            Feature::MutableGlobals => F::MUTABLE_GLOBAL,
            Feature::SaturatingFloatToInt => F::SATURATING_FLOAT_TO_INT,
            Feature::SignExtension => F::SIGN_EXTENSION,
            // Includes the overlong `call_indirect` encoding rustc 1.82+ emits
            // (fluent-bit issue 10196).
            Feature::ReferenceTypes => F::REFERENCE_TYPES,
            Feature::MultiValue => F::MULTI_VALUE,
            Feature::BulkMemory => F::BULK_MEMORY,
            Feature::Simd => F::SIMD.union(F::RELAXED_SIMD),
            Feature::RelaxedSimd => F::RELAXED_SIMD,
            Feature::Threads => F::THREADS.union(F::SHARED_EVERYTHING_THREADS),
            Feature::Exceptions => F::EXCEPTIONS.union(F::LEGACY_EXCEPTIONS),
            Feature::TailCall => F::TAIL_CALL,
            Feature::Memory64 => F::MEMORY64,
            Feature::MultiMemory => F::MULTI_MEMORY,
            Feature::ExtendedConst => F::EXTENDED_CONST,
            Feature::FunctionReferences => F::FUNCTION_REFERENCES,
            Feature::Gc => F::GC,
            Feature::WideArithmetic => F::WIDE_ARITHMETIC,
            Feature::CustomPageSizes => F::CUSTOM_PAGE_SIZES,
            Feature::StackSwitching => F::STACK_SWITCHING,
        }
    }

    pub fn fluent_bit_support(self) -> Support {
        match self {
            Feature::MutableGlobals
            | Feature::SaturatingFloatToInt
            | Feature::SignExtension
            | Feature::MultiValue
            | Feature::BulkMemory => Support::Yes,
            Feature::ReferenceTypes => Support::Since("4.0.3 (fluent-bit issue 10196)"),
            Feature::Simd | Feature::RelaxedSimd | Feature::Threads | Feature::Exceptions | Feature::Memory64 => Support::No,
            Feature::TailCall
            | Feature::MultiMemory
            | Feature::ExtendedConst
            | Feature::FunctionReferences
            | Feature::Gc
            | Feature::WideArithmetic
            | Feature::CustomPageSizes
            | Feature::StackSwitching => Support::Unknown,
        }
    }
}

/// Proposals the Fluent Bit stand-in host switches off so that wasmtime
/// refuses what WAMR refuses. Extended-const is left on (harmless, unknown).
pub fn wamr_disabled_features() -> WasmFeatures {
    Feature::ALL
        .iter()
        .filter(|f| matches!(f.fluent_bit_support(), Support::No | Support::Unknown) && **f != Feature::ExtendedConst)
        .fold(WasmFeatures::empty(), |acc, f| acc.union(f.flags()))
}

/// wasmtime configured with the proposals Fluent Bit's WAMR build has: MVP
/// plus the post-MVP features rustc emits (bulk memory, reference types,
/// multi-value, sign-ext, saturating float-to-int, mutable globals).
/// With `mvp_only`, every post-MVP proposal is off (older Fluent Bit).
pub(crate) fn wamr_like_config(fuel: bool, mvp_only: bool) -> Config {
    let mut config = Config::new();
    let off = if mvp_only { WasmFeatures::all().difference(WasmFeatures::MVP) } else { wamr_disabled_features() };
    config.consume_fuel(fuel).wasm_features(off, false);
    config
}
