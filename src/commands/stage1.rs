//! `cipwatch stage1`: the per-row stage alone, for billing too large for one machine. With the
//! default dialect it runs stage 1 here and writes a prepared dataset (or, with `--part`, one part
//! of it: what each task of a distributed engine does for its billing file); `run --prepared`
//! runs stage 2 from it. With `--dialect spark --emit DIR` it writes the job that
//! `engines/spark/stage1.py` runs on Spark: the command each task runs, the definitions stage 1
//! depends on and their fingerprints, so the driver holds no copy of any pattern, check or
//! mapping.

use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};
use crate::pipeline;
use crate::plan::{self, PlanArgs, Stage1Billing, Stage1Plan};
use crate::transforms::billed::parts;

/// The engine stage 1 runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// Here, in this process (Polars' streaming engine).
    Cipwatch,
    /// Apache Spark: `--emit` writes the job for `engines/spark/stage1.py`.
    Spark,
}

#[derive(Debug, clap::Args)]
pub struct Stage1Args {
    #[command(flatten)]
    pub common: PlanArgs,
    /// Billing files, folders or globs to read instead of the configuration's (repeatable).
    #[arg(long = "billing", value_name = "PATH")]
    pub billing: Vec<String>,
    /// Where stage 1 runs.
    #[arg(long, value_enum, default_value_t = Dialect::Cipwatch)]
    pub dialect: Dialect,
    /// With --dialect spark: the folder to write the Spark job into.
    #[arg(long, value_name = "DIR")]
    pub emit: Option<PathBuf>,
    /// The one --billing file's name where it was copied from (a path or a URI): the prepared
    /// dataset records it in the copy's place (the Spark driver sets it for files it ships).
    #[arg(long, value_name = "NAME", requires = "part")]
    pub source_name: Option<String>,
    /// Add one part to the dataset (a part of the same files is replaced) instead of making the
    /// folder hold this run's stage 1 only.
    #[arg(long)]
    pub part: bool,
}

/// Runs `cipwatch stage1`; prints one line (the part written, or the job emitted).
///
/// Errors: usage (exit 2) for a flag that does not fit the dialect; as stage 1's otherwise.
pub fn stage1(args: &Stage1Args) -> Result<i32> {
    match (args.dialect, &args.emit, &args.common.prepared) {
        (Dialect::Spark, Some(dir), None) => {
            emit_spark(args, &plan::build_stage1(&args.common, Stage1Billing::None)?, dir)
        }
        (Dialect::Cipwatch, None, Some(dir)) => {
            if dir.exists() && !dir.is_dir() {
                return Err(Error::Usage(format!(
                    "--prepared {}: not a folder",
                    dir.display()
                )));
            }
            crate::sinks::prepared_part::check_dataset_folder(dir)?;
            let billing = Stage1Billing::Named {
                specs: &args.billing,
                known_as: args.source_name.as_deref(),
            };
            let stage1_plan = plan::build_stage1(&args.common, billing)?;
            let out = pipeline::stage1(&stage1_plan, dir, !args.part)?;
            println!(
                "stage 1: {} billing files, {} rows read, {} quarantined, {} accelerator usage rows; wrote {}",
                out.files,
                out.rows_read,
                out.rows_quarantined,
                out.accelerator_rows,
                out.part.display()
            );
            Ok(crate::error::EXIT_OK)
        }
        _ => Err(Error::Usage(
            "stage1 takes either --prepared DIR (run stage 1 here) or --dialect spark --emit DIR (write the Spark job)".into(),
        )),
    }
}

/// Writes the Spark job into `dir`: `job.json` (the command line each task runs on its billing
/// file, with `{billing}` and `{prepared}` to fill in; the generator and the fingerprints of the
/// definitions stage 1 depends on) and, for the record, those definitions as loaded
/// (`reference/catalog.csv`, `reference/billing_options.json`, `reference/mappings.json`).
fn emit_spark(args: &Stage1Args, stage1_plan: &Stage1Plan, dir: &Path) -> Result<i32> {
    let catalog = pipeline::load_catalog(
        stage1_plan.catalog_dir.as_deref(),
        &stage1_plan.profile.params,
    )?;
    let input = pipeline::stage1_input(stage1_plan, &catalog);
    let job = serde_json::json!({
        "generator": parts::generator(),
        "contract_version": crate::sources::prepared_dataset::VERSION,
        "parameters": parts::parameters(&input),
        "command": task_command(args)?,
        "note": "each Spark task runs `command` on one billing file, {billing} being its local path and {prepared} the dataset folder; the per-row logic is cipwatch's own",
    });
    let reference = dir.join("reference");
    crate::sinks::publish::create_private_dir(&reference)?;
    let write_json = |value: &serde_json::Value, path: PathBuf| {
        let bytes = serde_json::to_vec_pretty(value).or_internal("the Spark job")?;
        crate::sinks::tables::write_bytes(&bytes, &path)
    };
    write_json(&job, dir.join("job.json"))?;
    write_json(
        &serde_json::to_value(&stage1_plan.billing).or_internal("billing options")?,
        reference.join("billing_options.json"),
    )?;
    write_json(
        &serde_json::to_value(&stage1_plan.mappings.hashes).or_internal("mappings")?,
        reference.join("mappings.json"),
    )?;
    crate::sinks::tables::write_csv(&catalog.instances, &reference.join("catalog.csv"))?;
    println!(
        "stage 1 for Spark: wrote {}",
        dir.join("job.json").display()
    );
    Ok(crate::error::EXIT_OK)
}

/// The command line each Spark task runs: this binary, the same configuration and overrides as
/// absolute paths, `--part`.
fn task_command(args: &Stage1Args) -> Result<Vec<String>> {
    let absolute = |p: &Path| -> Result<String> {
        std::path::absolute(p)
            .map(|a| a.display().to_string())
            .map_err(|e| Error::Usage(format!("{}: {e}", p.display())))
    };
    let exe = std::env::current_exe().or_internal("locating the cipwatch binary")?;
    let mut command = vec![exe.display().to_string(), "stage1".into()];
    let c = &args.common;
    let config = c.config.clone().or_else(|| {
        let local = PathBuf::from("cipwatch.toml");
        local.is_file().then_some(local)
    });
    for (flag, path) in [
        ("--config", &config),
        ("--params", &c.params_file),
        ("--queries", &c.queries),
    ] {
        if let Some(path) = path {
            command.extend([flag.to_string(), absolute(path)?]);
        }
    }
    for set in &c.sets {
        command.extend(["--set".to_string(), set.clone()]);
    }
    command.extend(
        [
            "--part",
            "--prepared",
            "{prepared}",
            "--billing",
            "{billing}",
        ]
        .map(String::from),
    );
    Ok(command)
}
