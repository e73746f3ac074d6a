//! A run's outputs: the flags and runs tables in their published form, and writing, auditing and
//! publishing everything through the staging folder.

use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{as_date, as_timestamp, Outcome};
use crate::documents;
use crate::documents::rows::FlagRow;
use crate::error::{Context, Error, Result};
use crate::plan::Plan;
use crate::publish::Staging;
use crate::sinks::tables;

/// Flags with dates and timestamps in calendar form, the columns first, sorted by account.
pub fn present_flags(flags: DataFrame) -> Result<DataFrame> {
    let first = [
        "account_id",
        "is_foreign",
        "foreign_basis",
        "cip_status",
        "reseller_id",
        "accelerator_hours",
        "est_ops",
        "upper_ops",
        "peak_colocated_ops_per_s",
        "max_interconnect_gbps",
        "level",
        "reasons",
    ];
    let mut exprs: Vec<Expr> = first.iter().map(|c| col(*c)).collect();
    exprs.extend([
        as_date("knowledge_day"),
        as_date("report_due_day"),
        as_date("projected_crossing_day"),
        as_date("crossing_day"),
        as_date("provisional_due_day"),
    ]);
    let skip = [
        "knowledge_day",
        "report_due_day",
        "projected_crossing_day",
        "crossing_day",
        "provisional_due_day",
        "first_usage_s",
        "last_usage_s",
    ];
    let rest: Vec<String> = flags
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| !first.contains(&c.as_str()) && !skip.contains(&c.as_str()))
        .collect();
    exprs.extend(rest.iter().map(|c| col(c.as_str())));
    exprs.extend([
        as_timestamp("first_usage_s", "first_usage"),
        as_timestamp("last_usage_s", "last_usage"),
    ]);
    let df = flags
        .lazy()
        .select(exprs)
        .sort(["account_id"], Default::default())
        .collect()
        .or_internal("flags table")?;
    tables::stable(df)
}

pub fn present_runs(runs: DataFrame) -> Result<DataFrame> {
    let df = runs
        .lazy()
        .sort(
            ["billing_account_id", "colocation_group", "run_seq"],
            Default::default(),
        )
        .select([
            col("billing_account_id").alias("account_id"),
            col("colocation_group"),
            col("run_seq").cast(DataType::Int64).alias("run"),
            as_timestamp("run_start_s", "start"),
            as_timestamp("run_end_s", "end"),
            col("ongoing"),
            col("class"),
            col("confidence"),
            col("class_reasons"),
            col("training_like"),
            col("duration_hours"),
            col("accelerators"),
            col("instance_types"),
            col("peak_accelerators"),
            col("peak_ops_per_s"),
            col("max_interconnect_gbps"),
            col("accelerator_hours"),
            col("est_ops_low"),
            col("est_ops"),
            col("upper_ops"),
        ])
        .collect()
        .or_internal("training runs table")?;
    tables::stable(df)
}

pub fn count_levels(flags: &[FlagRow]) -> BTreeMap<String, u64> {
    let mut levels = BTreeMap::new();
    for f in flags {
        *levels.entry(f.level.clone()).or_insert(0) += 1;
    }
    levels
}

/// Writes every table (CSV and Parquet) and the manifest into staging, then publishes.
pub fn write(plan: &Plan, outcome: &Outcome, mut doc: serde_json::Value) -> Result<PathBuf> {
    let staging = Staging::begin(&plan.publish_root(), &outcome.as_of.to_string())?;
    let mut expected = Vec::new();
    let mut outputs = serde_json::Map::new();
    for (stem, df) in &outcome.tables {
        let formats: &[&str] = if stem.starts_with("quarantine/") {
            &["csv"]
        } else {
            &["csv", "parquet"]
        };
        for ext in formats {
            let rel = format!("{stem}.{ext}");
            let path = staging.path(&rel)?;
            match *ext {
                "csv" => tables::write_csv(df, &path)?,
                _ => tables::write_parquet(df, &path)?,
            }
            let sha = crate::sources::files::sha256_bytes(
                &std::fs::read(&path).or_internal("hashing output")?,
            );
            outputs.insert(
                rel.clone(),
                serde_json::json!({ "rows": df.height(), "sha256": sha }),
            );
            expected.push(rel);
        }
    }
    let texts = outcome.documents.iter().map(|(r, t)| (r, t.as_bytes()));
    let pdfs = outcome.pdfs.iter().map(|(r, b)| (r, b.as_slice()));
    for (rel, bytes) in texts.chain(pdfs) {
        tables::write_bytes(bytes, &staging.path(rel)?)?;
        let sha = crate::sources::files::sha256_bytes(bytes);
        outputs.insert(rel.clone(), serde_json::json!({ "sha256": sha }));
        expected.push(rel.clone());
    }
    doc["outputs"] = serde_json::Value::Object(outputs);
    let text = serde_json::to_string_pretty(&doc).or_internal("manifest")? + "\n";
    // Masked by value like every output: a card planted in a currency code, an account id or a
    // file name does not reach the manifest (hashes and numbers are left alone).
    let text = crate::pii::redact(&text);
    tables::write_bytes(text.as_bytes(), &staging.path("manifest.json")?)?;
    expected.push("manifest.json".into());
    audit(&staging.dir, outcome, plan)?;
    staging.commit(&expected)
}

/// The audit before publishing: every staged CSV has as many rows as its table, every account that
/// needs a report draft has one, and the input counts reconcile (read = used + quarantined).
fn audit(dir: &std::path::Path, outcome: &Outcome, plan: &Plan) -> Result<()> {
    let fail = |what: String| {
        Err(Error::Internal(format!(
            "audit before publishing failed: {what}; nothing published"
        )))
    };
    for (stem, df) in &outcome.tables {
        let staged = CsvReadOptions::default()
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(dir.join(format!("{stem}.csv"))))
            .and_then(|r| r.finish())
            .or_internal(format!("audit: reading back {stem}.csv"))?;
        if staged.height() != df.height() {
            return fail(format!(
                "{stem}.csv has {} rows, its table {}",
                staged.height(),
                df.height()
            ));
        }
    }
    let mut folders = std::collections::BTreeSet::new();
    for f in documents::drafted(&outcome.flag_rows, plan.drafts) {
        let folder = documents::report_folder(&f.account_id);
        if !folders.insert(folder.clone()) {
            return fail(format!("two report drafts would share reports/{folder}"));
        }
        let stem = format!("reports/{folder}/ai-training-report");
        for ext in ["md", "html", "json"] {
            if !dir.join(format!("{stem}.{ext}")).is_file() {
                return fail(format!("{stem}.{ext} was not rendered"));
            }
        }
    }
    for (name, c) in &outcome.counts {
        if !c.reconciles() {
            return fail(format!(
                "{name}: {} read != {} used + {} quarantined",
                c.rows_read, c.rows_used, c.rows_quarantined
            ));
        }
    }
    Ok(())
}
