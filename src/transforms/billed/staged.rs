//! The identified accelerator usage kept on disk, not in memory. A GPU cloud's month is tens of
//! millions of accelerator rows: held whole, they (and the group-by that compacts them) outgrow
//! one machine. So each streaming billing pass writes the identified rows to Parquet files in a
//! private staging folder, split into buckets by charge day (`day` modulo [`BUCKETS`]), and the
//! quarantined rows' keys to a bucket of their own ([`QUARANTINE`]);
//! compaction ([`compact`]) then runs one bucket at a time (a merged row lies within one UTC day,
//! so a bucket holds whole merges), and what it writes is the usage every later step scans:
//! each reads only the columns and rows it needs (the queries read it a range of days at a time).
//! A step that changes the usage (a quarantine, the catalog-gap bound) writes it again, and the
//! queries that run in parts write their results here (`transforms::run_all`).
//!
//! The staging folder is private (0700) and removed when the run's last holder of the usage drops
//! it (also on an error). A publishing run makes it in its output folder, as `.staging-usage…-<pid>`,
//! so that the next run, which holds the folder's lock, removes it if this one was killed; other
//! commands make it in the temporary folder (`TMPDIR`).

use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::compact;
use crate::error::{Context, Error, Result};
use polars::prelude::file_provider::{FileProviderArgs, FileProviderReturn, FileProviderType};

/// How many buckets the identified rows are split into by charge day: a month of usage puts about
/// one day in each, so compaction holds about a day's rows at a time.
pub const BUCKETS: i32 = 32;

/// The bucket the quarantined rows of the billing pass go to (their keys, rule and reason are
/// read back whole: [`Staging::quarantined`]); the day buckets are `0..BUCKETS`, and `BUCKETS`
/// holds the rows without a charge day.
pub const QUARANTINE: i32 = BUCKETS + 1;

/// Rows per row group of a bucket file (Polars' default is 122,880 per open file).
const BUCKET_ROW_GROUP: usize = 16_384;

/// How the run's scratch files (the buckets, the rewritten usage, partitioned query results) are
/// written: LZ4, not Polars' default Zstandard. They are read back once or twice within the run
/// and removed, so compressing them hard only costs time (Zstandard's encoder and decoder were
/// about 6% of a GPU cloud's run: benches/RESULTS.md, "Freed memory kept 20 ms, scratch files in
/// LZ4, …"; at the cost of about 40% more scratch space). The published tables and prepared
/// datasets keep Zstandard.
pub fn scratch_format() -> ParquetWriteOptions {
    ParquetWriteOptions {
        compression: ParquetCompression::Lz4Raw,
        ..Default::default()
    }
}

/// A private staging folder and the files written into it.
#[derive(Clone)]
pub struct Staging {
    dir: Arc<tempfile::TempDir>,
    written: Arc<AtomicUsize>,
}

/// The compacted usage on disk: the merged rows and each billing row's keys
/// ([`compact::Merged`]), as scans of their files.
pub struct Staged {
    pub rows: LazyFrame,
    pub keys: LazyFrame,
}

impl Staging {
    /// A new staging folder, mode 0700 from its creation: `<parent>/.staging-usage…-<pid>` (a
    /// folder the next run holding the output folder's lock removes if this process dies), or
    /// `cipwatch-usage-…` in the temporary folder without a parent.
    ///
    /// Errors: internal (exit 1) when the folder cannot be made.
    pub fn new(parent: Option<&Path>) -> Result<Staging> {
        use std::os::unix::fs::PermissionsExt;
        let mut builder = tempfile::Builder::new();
        builder.permissions(std::fs::Permissions::from_mode(0o700));
        let suffix = format!("-{}", std::process::id());
        let dir = match parent {
            Some(parent) => builder
                .prefix(".staging-usage")
                .suffix(&suffix)
                .tempdir_in(parent),
            None => builder.prefix("cipwatch-usage-").tempdir(),
        }
        .or_internal("making the staging folder for the accelerator usage")?;
        Ok(Staging {
            dir: Arc::new(dir),
            written: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The staging folder.
    pub fn folder(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A fresh file name in the folder: `stem-N.parquet`.
    fn fresh(&self, stem: &str) -> PathBuf {
        let n = self.written.fetch_add(1, Ordering::Relaxed);
        self.path(&format!("{stem}-{n}.parquet"))
    }

    /// The plan that writes the kept rows of one billing file (`kept`: the quarantined rows,
    /// with a rule, and the identified usage, with `day`) into the buckets, in row order within
    /// each: the quarantined rows to [`QUARANTINE`], the usage by charge day. Run it for each
    /// pass over the billing, `n` being the pass's place (so the files of a bucket sort in row
    /// order), then
    /// [`Staging::quarantined`] and [`Staging::compact`]. The files (`B_NNNNNNNN_M.parquet`,
    /// bucket `B`) go straight into a folder made here with mode 0700 (Polars would make a
    /// folder per bucket with the process's umask).
    ///
    /// Errors: internal (exit 1) when the folder cannot be made.
    pub fn bucket_sink(&self, kept: LazyFrame, n: usize) -> Result<LazyFrame> {
        let folder = self.path("buckets");
        private_folder(&folder)?;
        let day = (col("day") % lit(BUCKETS)).fill_null(lit(BUCKETS));
        let bucket = when(col(crate::sources::RULE).is_not_null())
            .then(lit(QUARANTINE))
            .otherwise(day);
        let name = PlanCallback::new(move |args: FileProviderArgs| {
            let key = args.partition_keys.columns()[0].get(0)?;
            Ok(FileProviderReturn::Path(format!(
                "{key}_{n:08}_{:08x}.parquet",
                args.index_in_partition
            )))
        });
        kept.sink(
            SinkDestination::Partitioned {
                base_path: PlRefPath::new(path_text(&folder)),
                file_path_provider: Some(FileProviderType::Function(name)),
                partition_strategy: PartitionStrategy::Keyed {
                    keys: vec![bucket.alias("_bucket")],
                    include_keys: false,
                    keys_pre_grouped: false,
                },
                max_rows_per_file: IdxSize::MAX,
                approximate_bytes_per_file: u64::MAX,
            },
            // A bucket's writer holds a row group until it is full: small ones keep the
            // buckets' buffers small however many there are.
            FileWriteFormat::Parquet(Arc::new(ParquetWriteOptions {
                row_group_size: Some(BUCKET_ROW_GROUP),
                ..scratch_format()
            })),
            UnifiedSinkArgs::default(),
        )
        .or_internal("staging accelerator usage")
    }

    /// The quarantined rows' keys the billing pass wrote to [`QUARANTINE`]: the columns of
    /// `keys` (an empty table of that schema when no row was quarantined), in file order.
    ///
    /// Errors: internal (exit 1) when the files cannot be read.
    pub fn quarantined(&self, keys: &Schema) -> Result<DataFrame> {
        let files = self.bucket_files(&QUARANTINE.to_string());
        let columns: Vec<Expr> = keys.iter_names().map(|c| col(c.clone())).collect();
        match files.exists {
            false => Ok(DataFrame::empty_with_schema(keys)),
            true => scan(&files.pattern)?
                .select(columns)
                .collect()
                .or_internal("reading the quarantined billing rows"),
        }
    }

    /// The files of bucket `label` (a glob) and whether there are any.
    fn bucket_files(&self, label: &str) -> BucketFiles {
        let buckets = self.path("buckets");
        let exists = std::fs::read_dir(&buckets)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .any(|e| bucket_of(&e.file_name().to_string_lossy()).as_deref() == Some(label))
            })
            .unwrap_or(false);
        BucketFiles {
            pattern: buckets.join(format!("{label}_*.parquet")),
            exists,
        }
    }

    /// Compacts the buckets [`Staging::bucket_sink`] wrote, one at a time, into the merged rows
    /// and keys files, and removes the buckets. `empty` is the usage's schema: the columns read
    /// from each bucket, and the schema of a billing with no accelerator rows.
    ///
    /// Errors: internal (exit 1) when a file cannot be read or written.
    pub fn compact(&self, empty: &Schema) -> Result<Staged> {
        let buckets = self.path("buckets");
        let quarantine = QUARANTINE.to_string();
        let mut labels: Vec<String> = std::fs::read_dir(&buckets)
            .or_internal("reading the day buckets")?
            .filter_map(|e| e.ok())
            .filter_map(|e| bucket_of(&e.file_name().to_string_lossy()))
            .filter(|label| *label != quarantine)
            .collect();
        labels.sort();
        labels.dedup();
        let columns: Vec<Expr> = empty.iter_names().map(|c| col(c.clone())).collect();
        let mut inputs: Vec<LazyFrame> = Vec::new();
        for label in &labels {
            inputs.push(scan(&self.bucket_files(label).pattern)?.select(columns.clone()));
        }
        if inputs.is_empty() {
            inputs.push(DataFrame::empty_with_schema(empty).lazy());
        }
        for (i, usage) in inputs.into_iter().enumerate() {
            let usage = usage
                .collect_with_engine(Engine::Streaming)
                .map(|r| r.unwrap_single())
                .or_internal("reading a day bucket of accelerator usage")?;
            let mut merged = compact::compact(usage).or_internal("merging accelerator usage")?;
            write_private(
                &mut merged.rows,
                &self.path(&format!("merged/{i:03}.parquet")),
            )?;
            write_private(
                &mut merged.keys,
                &self.path(&format!("keys/{i:03}.parquet")),
            )?;
        }
        if buckets.exists() {
            std::fs::remove_dir_all(&buckets).or_internal("removing the day buckets")?;
        }
        Ok(Staged {
            rows: scan(&self.path("merged/*.parquet"))?,
            keys: scan(&self.path("keys/*.parquet"))?,
        })
    }

    /// `usage` written to a new file of the folder (streaming, in order) and scanned back: the
    /// usage after a step that changes it, so later steps do not recompute the change.
    ///
    /// Errors: internal (exit 1) naming `what`.
    pub fn rewrite(&self, usage: LazyFrame, what: &str) -> Result<LazyFrame> {
        let path = self.fresh("usage");
        usage
            .sink(
                SinkDestination::File {
                    target: SinkTarget::Path(PlRefPath::new(path_text(&path))),
                },
                FileWriteFormat::Parquet(Arc::new(scratch_format())),
                UnifiedSinkArgs::default(),
            )
            .and_then(|lf| lf.collect_with_engine(Engine::Streaming))
            .or_internal(what)?;
        scan(&path)
    }
}

/// A bucket's files: a glob of them, and whether there is one.
struct BucketFiles {
    pattern: PathBuf,
    exists: bool,
}

/// The bucket a file written by [`Staging::bucket_sink`] belongs to (`B` of `B_NNNNNNNN_M.parquet`).
fn bucket_of(file_name: &str) -> Option<String> {
    file_name
        .split_once('_')
        .map(|(bucket, _)| bucket.to_string())
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A scan of the Parquet files `pattern` names (a path or a glob), in the order of their names.
///
/// Errors: internal (exit 1) when they cannot be read.
pub fn scan(pattern: &Path) -> Result<LazyFrame> {
    LazyFrame::scan_parquet(PlRefPath::new(path_text(pattern)), Default::default())
        .or_internal("reading the staged accelerator usage")
}

/// A folder only the owner may read, and any parents missing (nothing if it is there).
fn private_folder(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match path.is_dir() {
        true => Ok(()),
        false => std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(path)
            .map_err(|e| Error::internal(format!("making {}", path.display()), e)),
    }
}

/// `df` written to `path` as Parquet, owner-only (0600), its folders made private (0700) if
/// needed.
///
/// Errors: internal (exit 1) when the file cannot be written.
pub fn write_private(df: &mut DataFrame, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        private_folder(dir)?;
    }
    use std::os::unix::fs::OpenOptionsExt;
    // Owner-only like every file cipwatch writes (the folder is owner-only too).
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            Error::internal(
                format!("writing the staged accelerator usage {}", path.display()),
                e,
            )
        })?;
    ParquetWriter::new(file)
        .with_compression(scratch_format().compression)
        .finish(df)
        .or_internal("writing the staged accelerator usage")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// The buckets, merged rows and keys are written under private folders, and the usage is
    /// read back whole and in row order within each day.
    #[test]
    fn staged_usage_reads_back_every_row() {
        let staging = Staging::new(None).unwrap();
        let usage = df!(
            "row_id" => [0u32, 1, 2, 3],
            "day" => [Some(0i32), Some(1), Some(0), None],
            "accelerator_hours" => [8.0, 8.0, 8.0, 8.0],
        )
        .unwrap();
        staging
            .bucket_sink(
                usage
                    .clone()
                    .lazy()
                    .with_column(lit(NULL).cast(DataType::String).alias(crate::sources::RULE)),
                0,
            )
            .unwrap()
            .collect_with_engine(Engine::Streaming)
            .unwrap();
        let buckets = staging.path("buckets");
        let mode = std::fs::metadata(&buckets).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        let mut back = scan(&buckets.join("*.parquet"))
            .unwrap()
            .select([col("row_id"), col("day"), col("accelerator_hours")])
            .sort(["row_id"], Default::default())
            .collect()
            .unwrap();
        back.rechunk_mut();
        assert_eq!(back, usage);
    }
}
