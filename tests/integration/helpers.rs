//! Running the binary and reading its outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Public reference samples copied into the repository (`tests/reference/`), so a clean clone
/// runs every test.
pub fn reference() -> PathBuf {
    repo().join("tests/reference")
}

/// Runs `cipwatch <args>` from the repository root.
pub fn cipwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cipwatch"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run cipwatch")
}

/// Runs `cipwatch <args>` from `dir`.
pub fn cipwatch_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cipwatch"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run cipwatch")
}

/// Runs `cipwatch <args>` from the repository root with extra environment variables.
pub fn cipwatch_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cipwatch"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo())
        .output()
        .expect("run cipwatch")
}

/// Runs the default (sample) pipeline into `out` with extra flags; asserts success.
pub fn run_samples(out: &Path, extra: &[&str]) -> Output {
    let out_s = out.to_str().unwrap();
    let mut args = vec!["run", "--out", out_s];
    args.extend_from_slice(extra);
    let o = cipwatch(&args);
    assert!(o.status.success(), "cipwatch failed: {}", stderr(&o));
    o
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A CSV file as rows of name → value (the outputs are plain, so a split on commas outside quotes
/// is enough).
pub fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = split(lines.next().expect("header"));
    lines
        .map(|l| header.iter().cloned().zip(split(l)).collect())
        .collect()
}

pub fn split(line: &str) -> Vec<String> {
    let (mut cells, mut cur, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

/// The flags row of one account.
pub fn flag(rows: &[BTreeMap<String, String>], account: &str) -> BTreeMap<String, String> {
    rows.iter()
        .find(|r| r["account_id"] == account)
        .cloned()
        .unwrap_or_else(|| panic!("no flags row for {account}"))
}

/// Every file below `dir`, relative path → bytes.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// Writes a configuration in `dir` whose inputs are the samples except those replaced by `inputs`
/// (key → path, absolute or relative to `dir`).
pub fn config_with(dir: &Path, inputs: &[(&str, &str)]) -> PathBuf {
    let samples = repo().join("data-samples");
    let mut text = std::fs::read_to_string(samples.join("cipwatch.toml")).unwrap();
    for key in [
        "billing",
        "telemetry",
        "customers",
        "beneficial_owners",
        "access_log",
        "resellers",
    ] {
        let line_start = text
            .find(&format!("\n{key} = "))
            .expect("key in sample config")
            + 1;
        let line_end = line_start + text[line_start..].find('\n').unwrap();
        let value = match inputs.iter().find(|(k, _)| *k == key) {
            Some((_, v)) => v.to_string(),
            None => {
                let old = text[line_start..line_end]
                    .split('"')
                    .nth(1)
                    .unwrap()
                    .to_string();
                samples.join(old).display().to_string()
            }
        };
        text.replace_range(line_start..line_end, &format!("{key} = \"{value}\""));
    }
    text = text.replace("dir = \"../out\"", "dir = \"out\"");
    let path = dir.join("cipwatch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// As [`config_with`], each input a file name inside `dir`.
pub fn config_in(dir: &Path, inputs: &[(&str, &str)]) -> PathBuf {
    let paths: Vec<(&str, String)> = inputs
        .iter()
        .map(|(key, file)| (*key, dir.join(file).display().to_string()))
        .collect();
    let refs: Vec<(&str, &str)> = paths.iter().map(|(k, p)| (*k, p.as_str())).collect();
    config_with(dir, &refs)
}

/// Flags that restore the unmodified rule's numbers over the sample configuration's lowered ones.
pub const UNMODIFIED_RULE: [&str; 4] = [
    "--set",
    "training_ops=1e26",
    "--set",
    "cluster_peak_ops_per_s=1e20",
];

/// A `[registry]` table giving the sample registry's export date. The public billing samples are
/// dated years before every sample registry record, and records after the as-of date do not make
/// the registry fresh: the export date does.
pub const SAMPLE_REGISTRY_EXPORT: &str = "\n[registry]\nexported_at = \"2026-11-26\"\n";
/// Writes a CSV file from a header and rows, quoting cells that need it; returns its path.
pub fn write_csv(dir: &Path, name: &str, header: &[&str], rows: &[Vec<&str>]) -> PathBuf {
    let quote = |v: &str| match v.contains([',', '"', '\n', '\r']) {
        true => format!("\"{}\"", v.replace('"', "\"\"")),
        false => v.to_string(),
    };
    let mut text = header
        .iter()
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for row in rows {
        text += &(row.iter().map(|v| quote(v)).collect::<Vec<_>>().join(",") + "\n");
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A configuration in `dir` reading `billing` (a file or folder) with the sample registry and no
/// telemetry (unless `telemetry` is given).
pub fn billing_config(dir: &Path, billing: &Path, telemetry: Option<&Path>) -> PathBuf {
    let cfg = config_with(dir, &[("billing", billing.to_str().unwrap())]);
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text: String = text
        .lines()
        .map(|l| match (l.starts_with("telemetry ="), telemetry) {
            (true, Some(t)) => format!("telemetry = \"{}\"\n", t.display()),
            (true, None) => String::new(),
            (false, _) => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// The published run folder under `out` (the one with `_SUCCESS`).
pub fn published(out: &Path) -> PathBuf {
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("_SUCCESS").is_file())
        .expect("a published run")
}

/// The manifest of the published run under `out`.
pub fn manifest_of(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(published(out).join("manifest.json")).unwrap()).unwrap()
}

/// Accelerator-hours of `account` in a run folder's flags (0 when it has no flags row); panics when
/// the account has more than one row.
pub fn hours_of(day: &Path, account: &str) -> f64 {
    let flags = read_csv(&day.join("flags.csv"));
    let rows: Vec<_> = flags
        .iter()
        .filter(|r| r["account_id"] == account)
        .collect();
    assert!(rows.len() <= 1, "{account}: {} flags rows", rows.len());
    rows.first()
        .map_or(0.0, |r| r["accelerator_hours"].parse().unwrap())
}
/// Where a run with [`UNMODIFIED_RULE`] publishes, below the output folder: it is a scenario.
pub const UNMODIFIED_SCENARIO: &str = "scenarios/training_ops-1e26_cluster_peak_ops_per_s-1e20";

/// Text as a Markdown document writes it: a mask's stars backslash-escaped.
pub fn md_mask(text: &str) -> String {
    text.replace('*', "\\*")
}

/// Makes sure headless Chromium and poppler's PDF tools are installed, by the project's own script
/// (`tests/browser/setup.sh`: Debian's packages, once; it does nothing when they are there), so that
/// `cargo test` on a fresh machine checks the PDFs instead of failing for a missing tool.
pub fn ensure_pdf_tools() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        let o = Command::new("bash")
            .arg(repo().join("tests/browser/setup.sh"))
            .output()
            .expect("run tests/browser/setup.sh");
        assert!(
            o.status.success(),
            "tests/browser/setup.sh failed (it installs chromium and poppler-utils with apt-get): {}",
            String::from_utf8_lossy(&o.stderr)
        );
    });
}

/// A document's text as a reader sees it: the HTML's `<span class="nobr">` wrappers (which keep a
/// date, code or id on one printed line) removed, so a test can look for a sentence in it.
pub fn text_of(document: &str) -> String {
    document
        .replace("<span class=\"nobr\">", "")
        .replace("</span>", "")
}

/// [`text_of`] with its whitespace runs (the templates' line breaks) made single spaces, so a
/// test can look for a sentence however the template wraps it.
pub fn prose_of(document: &str) -> String {
    text_of(document)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
