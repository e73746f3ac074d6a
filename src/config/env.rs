//! Every environment variable cipwatch reads, declared once: its name, its kind and what it does.
//! Stages never call `std::env` themselves (a test checks): they read a variable through [`get`],
//! so this table is the whole list, and the docs' table of variables (docs/operations.md) is
//! generated from it and checked by a test.
//!
//! Kinds: a `setting` changes what a run uses (a secret key, a browser) but never its results'
//! bytes; a `diagnostic` changes how a run computes or what it logs, never its results; a `test
//! hook` is honoured by debug builds only.

use std::ffi::OsString;

/// What an environment variable is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Setting,
    Diagnostic,
    TestHook,
}

impl Kind {
    /// The kind as the docs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Setting => "setting",
            Kind::Diagnostic => "diagnostic",
            Kind::TestHook => "test hook (debug builds only)",
        }
    }
}

/// One environment variable: its name, kind and meaning (one sentence for the docs).
#[derive(Debug)]
pub struct Var {
    pub name: &'static str,
    pub kind: Kind,
    pub meaning: &'static str,
}

macro_rules! variables {
    ($($ident:ident = $name:literal, $kind:ident, $meaning:literal;)*) => {
        $(
            #[doc = $meaning]
            pub const $ident: &str = $name;
        )*
        /// Every variable, in the order the docs list them.
        pub const ALL: &[Var] = &[$(Var { name: $name, kind: Kind::$kind, meaning: $meaning },)*];
    };
}

variables! {
    LINK_KEY = "CIPWATCH_LINK_KEY", Setting,
        "The secret key of the account links' keyed hashes (at least 16 bytes); first of the key's sources.";
    LINK_KEY_FILE = "CIPWATCH_LINK_KEY_FILE", Setting,
        "A file holding the account links' secret key; used when `CIPWATCH_LINK_KEY` is not set.";
    CHROMIUM = "CIPWATCH_CHROMIUM", Setting,
        "The browser that prints the PDF documents, instead of `chromium` on `PATH`.";
    ENGINE = "CIPWATCH_ENGINE", Diagnostic,
        "`in-memory` runs the pass over every billing row in Polars' in-memory engine instead of the streaming one (the results must not differ; the benchmark checks).";
    ROWS_PER_PASS = "CIPWATCH_ROWS_PER_PASS", Diagnostic,
        "Billing rows per pass over a Parquet billing file (default 1,000,000; a whole number from 1): fewer hold less in memory and take longer (the results must not differ).";
    PURGE_DELAY = "MIMALLOC_PURGE_DELAY", Diagnostic,
        "mimalloc's delay (ms) before freed memory goes back to the system; cipwatch sets 20 unless this is set.";
    PROFILE = "CIPWATCH_PROFILE", Diagnostic,
        "A file to which each query's planning time (node `sql planning`, per part of a partitioned query) and its plan nodes' times are appended (`query<TAB>node<TAB>µs`).";
    TEST_PAUSE_AT = "CIPWATCH_TEST_PAUSE_AT", TestHook,
        "Stops a run at the named publish step so a test can kill it there (`sinks::publish::PAUSE_STEPS`).";
    TEST_NO_EXCHANGE = "CIPWATCH_TEST_NO_EXCHANGE", TestHook,
        "Publishes by two renames instead of one atomic exchange.";
}

/// The value of `name` (one of [`ALL`]), when set and not empty.
pub fn get(name: &str) -> Option<OsString> {
    debug_assert!(ALL.iter().any(|v| v.name == name), "undeclared {name}");
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The value of `name` as text, when set, not empty and valid UTF-8.
pub fn text(name: &str) -> Option<String> {
    get(name).and_then(|v| v.into_string().ok())
}

/// The docs' table of variables (docs/operations.md, between its `environment` markers).
pub fn docs_table() -> String {
    let mut out = String::from("| variable | kind | what it does |\n|---|---|---|\n");
    for v in ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            v.name,
            v.kind.as_str(),
            v.meaning
        ));
    }
    out
}
