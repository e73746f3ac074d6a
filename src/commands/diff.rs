//! `cipwatch diff [RUN_A] [RUN_B]`: what changed between two published runs: accounts that became
//! REPORTABLE, WATCH or CIP_GAP, accounts cleared, estimates that moved by more than a fraction (the
//! `--change` threshold, named in the output), the CIP facts and deadlines of accounts in both runs,
//! input files and quarantine counts, and parameters that differ. A run is a folder, or an as-of date under the output folder; by default
//! the two latest complete runs there.

use polars::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Args;

use super::Format;
use crate::config;
use crate::error::{Context, Error, Result, EXIT_OK};
use crate::state::published;
use crate::transforms::rows::FlagRow;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older run: a folder, or an as-of date under the output folder (default: second latest).
    pub run_a: Option<String>,
    /// The newer run (default: the latest).
    pub run_b: Option<String>,
    /// Configuration file, for its output folder.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output folder holding the runs (default: the configuration's [output] dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Report accounts whose estimate changed by more than this fraction.
    #[arg(long, default_value_t = 0.1)]
    pub change: f64,
    /// Output format: text, csv or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct Change {
    account_id: String,
    change: String,
    level_a: String,
    level_b: String,
    est_ops_a: Option<f64>,
    est_ops_b: Option<f64>,
    relative_change: Option<f64>,
    reasons_b: String,
}

/// One fact that differs between the two runs: of an account flagged in either (its CIP facts,
/// its deadlines), or of the run (an input's file hashes, an input's quarantined rows).
#[derive(Debug, Serialize)]
struct FactChange {
    /// The account id, or `run` for a fact of the run.
    subject: String,
    fact: String,
    a: String,
    b: String,
}

#[derive(Debug, Serialize)]
struct ParamChange {
    parameter: String,
    a: String,
    b: String,
}

#[derive(Debug, Serialize)]
struct Diff {
    run_a: String,
    run_b: String,
    /// `--change`: the relative change of an estimate that lists an account.
    change_threshold: f64,
    accounts: Vec<Change>,
    /// CIP facts and deadlines of accounts in both runs, input files and quarantine counts.
    facts: Vec<FactChange>,
    parameters: Vec<ParamChange>,
}

pub fn diff(args: &DiffArgs) -> Result<i32> {
    if !(args.change.is_finite() && args.change >= 0.0) {
        return Err(Error::Usage(format!(
            "--change {} must be a fraction of 0 or more (0.1 = 10%)",
            args.change
        )));
    }
    let out = match &args.out {
        Some(o) => o.clone(),
        None => {
            let (cfg, _, _, base) = config::load(args.config.as_deref())?;
            base.join(cfg.output.dir)
        }
    };
    let (a, b) = match (&args.run_a, &args.run_b) {
        (Some(a), Some(b)) => (published::locate(&out, a)?, published::locate(&out, b)?),
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::Usage("give both runs to compare, or neither".into()))
        }
        (None, None) => latest_two(&out)?,
    };
    let (flags_a, flags_b) = (read_flags(&a)?, read_flags(&b)?);
    let mut facts = account_facts(&flags_a, &flags_b);
    facts.extend(run_facts(
        &published::manifest(&a)?,
        &published::manifest(&b)?,
    ));
    let d = Diff {
        run_a: a.display().to_string(),
        run_b: b.display().to_string(),
        change_threshold: args.change,
        accounts: account_changes(&flags_a, &flags_b, args.change),
        facts,
        parameters: parameter_changes(&a, &b)?,
    };
    let printed = match args.format {
        // JSON is masked value by value before it is escaped (see `explain`).
        Format::Json => crate::pii::masked_json(&d, true).or_internal("diff")? + "\n",
        Format::Csv => crate::pii::redact(&csv(&d)?).into_owned(),
        Format::Text => crate::pii::redact(&text(&d)).into_owned(),
    };
    print!("{printed}");
    Ok(EXIT_OK)
}

/// The facts of each account flagged in both runs that `diff` compares beyond level and estimate:
/// CIP and reseller facts and the deadlines.
fn account_facts(a: &BTreeMap<String, FlagRow>, b: &BTreeMap<String, FlagRow>) -> Vec<FactChange> {
    let text = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let facts = |f: &FlagRow| -> [(&'static str, String); 7] {
        [
            ("foreign_basis", f.foreign_basis.clone()),
            ("cip_status", f.cip_status.clone()),
            ("verification_method", text(f.verification_method.clone())),
            (
                "reseller_cip_on_file",
                text(f.reseller_cip_on_file.map(|v| v.to_string())),
            ),
            ("knowledge_date", text(f.knowledge_date.clone())),
            ("report_due_date", text(f.report_due_date.clone())),
            ("provisional_due_date", text(f.provisional_due_date.clone())),
        ]
    };
    let mut out = Vec::new();
    for (id, fa) in a {
        let Some(fb) = b.get(id) else { continue };
        for ((fact, va), (_, vb)) in facts(fa).into_iter().zip(facts(fb)) {
            if va != vb {
                out.push(FactChange {
                    subject: id.clone(),
                    fact: fact.to_string(),
                    a: va,
                    b: vb,
                });
            }
        }
    }
    out
}

/// The run's own facts that differ: each input's file hashes and quarantined rows.
fn run_facts(a: &serde_json::Value, b: &serde_json::Value) -> Vec<FactChange> {
    let inputs = |m: &serde_json::Value| -> BTreeMap<String, (String, String)> {
        m["inputs"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(name, input)| {
                        let hashes: Vec<&str> = input["files"]
                            .as_array()
                            .map(|f| f.iter().filter_map(|f| f["sha256"].as_str()).collect())
                            .unwrap_or_default();
                        let quarantined = input["rows"]["rows_quarantined"].to_string();
                        (name.clone(), (hashes.join(";"), quarantined))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ia, ib) = (inputs(a), inputs(b));
    let names: BTreeSet<&String> = ia.keys().chain(ib.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let (va, vb) = (ia.get(name).cloned(), ib.get(name).cloned());
        let (va, vb) = (va.unwrap_or_default(), vb.unwrap_or_default());
        let fact = |what: &str, x: &str, y: &str| FactChange {
            subject: "run".into(),
            fact: format!("{name} {what}"),
            a: x.to_string(),
            b: y.to_string(),
        };
        if va.0 != vb.0 {
            let short = |h: &str| {
                h.split(';')
                    .map(|h| h.get(..12).unwrap_or(h))
                    .collect::<Vec<_>>()
                    .join(";")
            };
            out.push(fact("files (SHA-256)", &short(&va.0), &short(&vb.0)));
        }
        if va.1 != vb.1 {
            out.push(fact("rows quarantined", &va.1, &vb.1));
        }
    }
    out
}

/// The two latest complete runs (by as-of date) in the output folder.
fn latest_two(out: &Path) -> Result<(PathBuf, PathBuf)> {
    match published::runs(out)?.as_slice() {
        [.., a, b] => Ok((a.clone(), b.clone())),
        _ => Err(Error::Usage(format!(
            "{} holds fewer than two complete filing runs to compare: name two runs \
             (`cipwatch diff RUN_A RUN_B`; a scenario is scenarios/NAME/AS_OF, a backfill's past days \
             scenarios/backfill/AS_OF), or publish another filing run (a later as-of date, or \
             `cipwatch run --as-of YYYY-MM-DD --filing`)",
            out.display()
        ))),
    }
}

fn read_flags(run: &Path) -> Result<BTreeMap<String, FlagRow>> {
    Ok(published::table::<FlagRow>(run, "flags")?
        .into_iter()
        .map(|f| (f.account_id.clone(), f))
        .collect())
}

fn account_changes(
    a: &BTreeMap<String, FlagRow>,
    b: &BTreeMap<String, FlagRow>,
    threshold: f64,
) -> Vec<Change> {
    let ids: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out = Vec::new();
    for id in ids {
        let (fa, fb) = (a.get(id), b.get(id));
        let level = |f: Option<&FlagRow>| {
            f.map(|f| f.level.to_string())
                .unwrap_or_else(|| "absent".into())
        };
        let (la, lb) = (level(fa), level(fb));
        let (ea, eb) = (fa.map(|f| f.est_ops), fb.map(|f| f.est_ops));
        let relative = match (ea, eb) {
            (Some(x), Some(y)) if x > 0.0 => Some((y - x) / x),
            _ => None,
        };
        let change = if la != lb {
            match lb.as_str() {
                "REPORTABLE" | "WATCH" | "CIP_GAP" => format!("became {lb}"),
                _ => format!("cleared (was {la})"),
            }
        } else if relative.is_some_and(|r| r.abs() > threshold) {
            "estimate changed".to_string()
        } else {
            continue;
        };
        out.push(Change {
            account_id: id.clone(),
            change,
            level_a: la,
            level_b: lb,
            est_ops_a: ea,
            est_ops_b: eb,
            relative_change: relative,
            reasons_b: fb.and_then(|f| f.reasons.clone()).unwrap_or_default(),
        });
    }
    out
}

fn parameter_changes(a: &Path, b: &Path) -> Result<Vec<ParamChange>> {
    let params = |run: &Path| -> Result<BTreeMap<String, String>> {
        // A damaged or missing manifest is the run folder's fault, not cipwatch's.
        let m = published::manifest(run)?;
        let object = m["parameters"].as_object().cloned().unwrap_or_default();
        let show = |v: &serde_json::Value| {
            let text = match v.as_f64() {
                Some(f) if f.abs() >= 1e6 => format!("{f:e}"),
                _ => v.to_string(),
            };
            crate::pii::mask_value(&text)
        };
        let described = |(k, v): (String, serde_json::Value)| {
            let text = format!(
                "{} ({})",
                show(&v["value"]),
                v["source"].as_str().unwrap_or("")
            );
            (k, text)
        };
        Ok(object.into_iter().map(described).collect())
    };
    let (pa, pb) = (params(a)?, params(b)?);
    let keys: BTreeSet<&String> = pa.keys().chain(pb.keys()).collect();
    Ok(keys
        .into_iter()
        .filter(|k| {
            pa.get(*k).map(|v| v.split(' ').next()) != pb.get(*k).map(|v| v.split(' ').next())
        })
        .map(|k| ParamChange {
            parameter: k.clone(),
            a: pa.get(k).cloned().unwrap_or_default(),
            b: pb.get(k).cloned().unwrap_or_default(),
        })
        .collect())
}

fn fmt_ops(v: Option<f64>) -> String {
    v.map(crate::documents::filters::sci)
        .unwrap_or_else(|| "-".into())
}

fn text(d: &Diff) -> String {
    let mut s = format!(
        "A: {}\nB: {}\nestimates compared with --change {} (a relative change above {}%)\n\n",
        d.run_a,
        d.run_b,
        d.change_threshold,
        d.change_threshold * 100.0
    );
    if d.accounts.is_empty() {
        s += "No account changed level or estimate.\n";
    } else {
        s += &format!(
            "{:<16} {:<22} {:>10} {:>10} {:>9} {:>9} {:>8}\n",
            "account", "change", "level A", "level B", "est A", "est B", "delta"
        );
        for c in &d.accounts {
            let delta = c
                .relative_change
                .map(|r| format!("{:+.0}%", r * 100.0))
                .unwrap_or_else(|| "-".into());
            s += &format!(
                "{:<16} {:<22} {:>10} {:>10} {:>9} {:>9} {:>8}\n",
                c.account_id,
                c.change,
                c.level_a,
                c.level_b,
                fmt_ops(c.est_ops_a),
                fmt_ops(c.est_ops_b),
                delta
            );
        }
    }
    if d.facts.is_empty() {
        s += "\nCIP facts, deadlines, input files and quarantine counts: identical.\n";
    } else {
        s += "\nFacts that differ:\n";
        for f in &d.facts {
            s += &format!("  {} {}: {} -> {}\n", f.subject, f.fact, f.a, f.b);
        }
    }
    if d.parameters.is_empty() {
        s += "\nParameters: identical.\n";
    } else {
        s += "\nParameters that differ:\n";
        for p in &d.parameters {
            s += &format!("  {}: {} -> {}\n", p.parameter, p.a, p.b);
        }
    }
    s
}

/// The account changes as CSV, through the one CSV sink (masking, formula neutralisation, quoting).
fn csv(d: &Diff) -> Result<String> {
    let text = |f: fn(&Change) -> &str| {
        Column::new(
            "".into(),
            d.accounts
                .iter()
                .map(|c| f(c).to_string())
                .collect::<Vec<_>>(),
        )
    };
    let num = |f: fn(&Change) -> Option<f64>| {
        Column::new("".into(), d.accounts.iter().map(f).collect::<Vec<_>>())
    };
    let columns = vec![
        text(|c| &c.account_id).with_name("account_id".into()),
        text(|c| &c.change).with_name("change".into()),
        text(|c| &c.level_a).with_name("level_a".into()),
        text(|c| &c.level_b).with_name("level_b".into()),
        num(|c| c.est_ops_a).with_name("est_ops_a".into()),
        num(|c| c.est_ops_b).with_name("est_ops_b".into()),
        num(|c| c.relative_change).with_name("relative_change".into()),
        text(|c| &c.reasons_b).with_name("reasons_b".into()),
    ];
    let df = DataFrame::new(d.accounts.len(), columns).or_internal("diff table")?;
    let bytes = crate::sinks::tables::csv_bytes(&df)?;
    String::from_utf8(bytes).or_internal("diff CSV")
}
