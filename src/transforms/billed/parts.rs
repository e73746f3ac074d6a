//! Stage 1's result to and from the prepared dataset (`sources::prepared_dataset` is the contract): the
//! tables of one part from a [`Scanned`], and the [`Scanned`] of a whole dataset from its parts,
//! with each part's `row_id` offset so that the rows keep the order a single-machine run gives them
//! and stage 2 computes the same bytes. Also what stage 1's result depends on (`parameters`), which
//! stage 2 checks before it uses a part.

use polars::prelude::*;
use std::collections::BTreeMap;

use super::{BillingInput, Scanned};
use crate::error::{Context, Error, Location, Result};
use crate::fingerprint::sha256_bytes;
use crate::sources::prepared_dataset::{Part, PartFile, PartManifest, VERSION};
use crate::sources::{billing, files, Loaded};
use crate::sources::{REASON, ROW, RULE, SOURCE_FILE};
use crate::transforms::billed::compact;
use std::path::Path;

/// The program that made a part: `cipwatch <version> (polars <version>)`.
pub fn generator() -> String {
    format!(
        "cipwatch {} (polars {})",
        env!("CARGO_PKG_VERSION"),
        crate::fingerprint::POLARS_VERSION
    )
}

/// What stage 1's result depends on besides the billing files, each as a SHA-256: the `[billing]`
/// options (patterns, limits, columns), the forced format, the native mappings, and the catalog
/// as loaded (its files and the peak figures taken at the profile's precision).
pub fn parameters(input: &BillingInput) -> BTreeMap<String, String> {
    let options = serde_json::to_vec(input.options).unwrap_or_default();
    let mappings = serde_json::to_vec(&input.mappings.hashes).unwrap_or_default();
    // The catalog by content (each file's name and SHA-256, not the path as the configuration
    // spells it) and the figures as loaded.
    let mut catalog = Vec::new();
    for (file, sha256) in &input.catalog.files {
        let name = std::path::Path::new(file).file_name().unwrap_or_default();
        catalog.extend(format!("{}={sha256}\n", name.to_string_lossy()).as_bytes());
    }
    catalog.extend(input.catalog.key_pattern.as_bytes());
    for column in input.catalog.instances.columns() {
        for value in column.as_materialized_series().iter() {
            catalog.extend(format!("{value}\u{1f}").as_bytes());
        }
    }
    BTreeMap::from([
        ("billing_options".into(), sha256_bytes(&options)),
        (
            "billing_format".into(),
            sha256_bytes(input.format.unwrap_or("detected per file").as_bytes()),
        ),
        ("mappings".into(), sha256_bytes(&mappings)),
        ("catalog".into(), sha256_bytes(&catalog)),
    ])
}

/// The manifest of a part: the `files` stage 1 read under `input`'s definitions (in order, with
/// their `formats`; an earlier delivery of a report left out is not among them), `rows_read`.
pub fn manifest(
    input: &BillingInput,
    files: &[files::InputFile],
    formats: &[String],
    rows_read: u64,
) -> PartManifest {
    let files = files
        .iter()
        .zip(formats)
        .map(|(f, format)| PartFile {
            // Where the file lives (not the copy stage 1 read, which may be gone), absolute, so
            // stage 2 finds it again from any folder.
            path: match &f.origin {
                Some(origin) => origin.clone(),
                None => std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone()),
            },
            display: f.display.clone(),
            sha256: f.sha256.clone(),
            bytes: f.bytes,
            format: format.clone(),
        })
        .collect();
    PartManifest {
        version: VERSION,
        generator: generator(),
        parameters: parameters(input),
        files,
        rows_read,
        tables: BTreeMap::new(),
    }
}

/// A part's name: the first 16 hex digits of the SHA-256 of its files' shown paths and contents
/// (the same files give the same name, so stage 1 run again replaces its part; a copy of a file
/// under another name is another part, which stage 2 then refuses).
pub fn part_name(files: &[PartFile]) -> String {
    let joined: Vec<String> = files
        .iter()
        .map(|f| format!("{}\0{}", f.display, f.sha256))
        .collect();
    sha256_bytes(joined.join("\n").as_bytes())
        .chars()
        .take(16)
        .collect()
}

impl Scanned {
    /// The part's tables by file stem: the merged accelerator usage and the other results as they
    /// are; `quarantine` is the quarantine table.
    pub fn part_tables(&self, quarantine: DataFrame) -> Result<Vec<(&'static str, DataFrame)>> {
        // Sorted, so that stage 1 run again writes the same bytes (groups come in any order).
        let sorted = |lf: LazyFrame, key: &str| {
            lf.sort([key], Default::default())
                .collect()
                .or_internal(format!("the part's table by {key}"))
        };
        Ok(vec![
            (
                "accelerator_usage",
                self.accelerator
                    .clone()
                    .sort(["row_id"], Default::default())
                    .collect()
                    .or_internal("accelerator usage")?,
            ),
            (
                "accelerator_keys",
                self.accelerator_keys
                    .clone()
                    .collect()
                    .or_internal("accelerator keys")?,
            ),
            // A reason may quote a cell (`unit '…'`): masked as in every reason cipwatch writes
            // (stage 2 takes the reasons it shows from the quarantine table, masked the same way).
            (
                "quarantined",
                crate::transforms::quarantine::mask_reasons(self.quarantined.clone(), REASON)?,
            ),
            ("quarantine", quarantine),
            (
                "totals",
                sorted(self.totals.clone().lazy(), "billing_currency")?,
            ),
            (
                "egress",
                sorted(self.egress.clone().lazy(), "billing_account_id")?,
            ),
            (
                "charge_days",
                sorted(self.plain_days.clone().lazy(), "day")?,
            ),
        ])
    }

    /// The stage 1 result of a whole prepared dataset: the parts' tables combined in the order of
    /// their files, `row_id` (and the keys' `merged_row_id`) offset by the rows of the parts before.
    ///
    /// Errors (exit 4): a part made by another program or under other definitions than `input`'s
    /// (naming which), the same billing file in two parts, parts whose files interleave.
    pub fn from_parts(parts: &[Part], input: &BillingInput) -> Result<Scanned> {
        check_parts(parts, input)?;
        let mut offset = 0u64;
        let mut frames: BTreeMap<&str, Vec<LazyFrame>> = BTreeMap::new();
        for part in parts {
            for (name, lf) in &part.tables {
                let mut lf = lf.clone();
                let schema = lf.collect_schema().map_err(|e| unlike(name, e))?;
                for id in ["row_id", compact::MERGED_ROW_ID] {
                    if schema.contains(id) {
                        lf = lf.with_column(
                            (col(id).cast(DataType::UInt64) + lit(offset))
                                .cast(IDX_DTYPE)
                                .alias(id),
                        );
                    }
                }
                frames.entry(name).or_default().push(lf);
            }
            offset += part.manifest.rows_read;
        }
        let mut take = |name: &str| -> Result<LazyFrame> {
            concat(
                frames.remove(name).unwrap_or_default(),
                UnionArgs::default(),
            )
            .map_err(|e| unlike(name, e))
        };
        let collect = |lf: LazyFrame, what: &str| lf.collect().map_err(|e| unlike(what, e));
        Ok(Scanned {
            rows_read: offset,
            // In row order already: each part's rows are, and the parts are in file order.
            accelerator: take("accelerator_usage")?,
            accelerator_keys: take("accelerator_keys")?,
            staging: super::staged::Staging::new(input.scratch)?,
            quarantined: collect(
                take("quarantined")?.sort(["row_id"], Default::default()),
                "prepared quarantine keys",
            )?,
            totals: collect(take("totals")?, "prepared totals")?,
            egress: collect(take("egress")?, "prepared egress")?,
            plain_days: collect(take("charge_days")?, "prepared charge days")?,
        })
    }
}

/// A part's tables that cannot be combined (another shape than this cipwatch writes): exit 4.
fn unlike(what: &str, e: PolarsError) -> Error {
    Error::Reference(format!(
        "prepared dataset: {what}: the parts' tables do not have the columns this cipwatch writes ({e}); make the prepared dataset again"
    ))
}

/// Each part was made by this program under `input`'s definitions, and the parts' files are
/// distinct and in path order.
fn check_parts(parts: &[Part], input: &BillingInput) -> Result<()> {
    let expected = parameters(input);
    let mut seen = BTreeMap::new();
    let mut last: Option<&PartFile> = None;
    for part in parts {
        let m = &part.manifest;
        let place = part.dir.display();
        if m.generator != generator() {
            return Err(Error::Reference(format!(
                "prepared part {place} was made by {} and this is {}: make the prepared dataset again",
                m.generator,
                generator()
            )));
        }
        let differ: Vec<&str> = expected
            .iter()
            .filter(|(k, v)| m.parameters.get(*k) != Some(*v))
            .map(|(k, _)| k.as_str())
            .collect();
        if !differ.is_empty() {
            return Err(Error::Reference(format!(
                "prepared part {place} was made under other definitions than this run's: {} differ{}; make the prepared dataset again with this configuration and these --set/--params values",
                differ.join(", "),
                match differ.contains(&"catalog") {
                    true => " (catalog: its files, or the peak figures taken at the profile's peak_precision and peak_precision_fallback)",
                    false => "",
                }
            )));
        }
        for file in &m.files {
            if let Some(first) = seen.insert(file.sha256.as_str(), file.display.as_str()) {
                return Err(Error::input(
                    Location::file(&file.display),
                    format!(
                        "same content (SHA-256) as billing file {first} (prepared part {place}): a file given twice would count its usage twice; remove one of the two"
                    ),
                ));
            }
            if last.is_some_and(|l| l.display >= file.display) {
                return Err(Error::Reference(format!(
                    "prepared part {place}: its billing file {} comes before a file of another part; each part must hold files in path order, one part after another",
                    file.display
                )));
            }
            last = Some(file);
        }
        check_rows_read(part)?;
    }
    Ok(())
}

/// A part is consistent with itself: the rows its `part.json` says were read are the rows its
/// totals table counts (every row read is in the totals, used or quarantined). A part whose
/// counts were edited, or whose totals lost rows with the hashes updated, is refused (exit 4).
fn check_rows_read(part: &Part) -> Result<()> {
    let place = part.dir.display();
    let counted = match part.tables.get("totals") {
        Some(totals) => totals
            .clone()
            .select([col("rows").cast(DataType::UInt64).sum().alias("rows")])
            .collect()
            .ok()
            .and_then(|df| df.column("rows").ok()?.get(0).ok()?.extract::<u64>()),
        None => None,
    };
    match counted {
        Some(rows) if rows == part.manifest.rows_read => Ok(()),
        counted => Err(Error::Reference(format!(
            "prepared part {place} is not consistent: part.json says {} rows were read, its totals table counts {}; make the prepared dataset again",
            part.manifest.rows_read,
            counted.map_or("none".to_string(), |r| r.to_string())
        ))),
    }
}

/// The SHA-256 of every table of `parts`, in their order: part of a prepared run's identity, so
/// a part's tables changed (with their hashes) give another run id.
pub fn table_hashes(parts: &[Part]) -> Vec<String> {
    parts
        .iter()
        .flat_map(|p| p.manifest.tables.values().cloned())
        .collect()
}

/// The quarantine table of a prepared run: the parts' tables, plus the rows stage 2 quarantined
/// itself (implausible charge days, `--allow-stale` missing peaks), whose original values are read
/// again from the billing files by `raw_table`; sorted by file and row as a single-machine run's.
pub fn quarantine_table(
    parts: &[Part],
    keys: &DataFrame,
    raw_table: impl FnOnce(&DataFrame) -> Result<DataFrame>,
) -> Result<DataFrame> {
    let stored = concat(
        parts
            .iter()
            .filter_map(|p| p.tables.get("quarantine").cloned())
            .collect::<Vec<_>>(),
        UnionArgs::default(),
    )
    .and_then(|lf| lf.collect())
    .or_internal("the parts' quarantine tables")?;
    let marked = stored.clone().lazy().select([
        col("source_file").alias(SOURCE_FILE),
        col("row")
            .cast(keys.schema().get(ROW).cloned().unwrap_or(IDX_DTYPE))
            .alias(ROW),
        lit(true).alias("_stored"),
    ]);
    let missing = keys
        .clone()
        .lazy()
        .join(
            marked,
            [col(SOURCE_FILE), col(ROW)],
            [col(SOURCE_FILE), col(ROW)],
            JoinArgs::new(JoinType::Left),
        )
        .filter(col("_stored").is_null())
        .select([SOURCE_FILE, ROW, RULE, REASON].map(col))
        .collect()
        .or_internal("rows quarantined in stage 2")?;
    let all = match missing.height() {
        0 => stored.lazy(),
        _ => concat(
            [stored.lazy(), raw_table(&missing)?.lazy()],
            UnionArgs::default(),
        )
        .or_internal("the quarantine table")?,
    };
    all.sort(["source_file", "row"], Default::default())
        .collect()
        .or_internal("the quarantine table")
}

/// The billing files of a prepared dataset read again, each checked to be the file stage 1 read:
/// only when stage 2 must quarantine rows stage 1 could not judge alone (rows on implausible charge
/// days that are not accelerator usage, `--allow-stale` missing peaks) with their original values.
///
/// Errors (exit 4): a file that cannot be read here, or whose content changed since stage 1.
pub fn reload(input: &BillingInput) -> Result<Loaded> {
    const WHY: &str = "stage 2 reads billing files again only to quarantine rows on implausible charge days, or rows whose accelerator has no catalog peak under --allow-stale, with their original values";
    let mut files = Vec::with_capacity(input.files.len());
    for recorded in input.files {
        let size = std::fs::metadata(&recorded.path).map(|m| m.len());
        if size.as_ref().is_ok_and(|n| *n != recorded.bytes) {
            return Err(Error::Reference(format!(
                "billing file {} changed since stage 1 read it (its size differs); make the prepared dataset again",
                recorded.display
            )));
        }
        let mut again = files::inspect(&recorded.path, Path::new("/")).map_err(|e| {
            Error::Reference(format!(
                "billing file {} of the prepared dataset cannot be read here ({e}); {WHY}",
                recorded.display
            ))
        })?;
        if again.sha256 != recorded.sha256 {
            return Err(Error::Reference(format!(
                "billing file {} changed since stage 1 read it (its SHA-256 differs); make the prepared dataset again",
                recorded.display
            )));
        }
        again.display = recorded.display.clone();
        files.push(again);
    }
    billing::load(files, input.options, input.mappings, input.format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_number_quoted_in_a_reason_is_masked_in_the_part() {
        let card = "4929000012345674";
        let empty = |name: &str| df!(name => Vec::<String>::new()).unwrap();
        let scanned = Scanned {
            rows_read: 1,
            plain_days: df!("day" => Vec::<i32>::new()).unwrap(),
            totals: empty("billing_currency"),
            egress: empty("billing_account_id"),
            quarantined: df!(
                "row_id" => [0u32],
                SOURCE_FILE => ["billing/a.csv"],
                ROW => [2i64],
                RULE => ["unknown_unit"],
                REASON => [format!("unit '{card}' is not a time unit cipwatch knows")],
            )
            .unwrap(),
            accelerator: empty("row_id").lazy(),
            accelerator_keys: empty("row_id").lazy(),
            staging: crate::transforms::billed::staged::Staging::new(None).unwrap(),
        };
        let tables = scanned.part_tables(empty("source_file")).unwrap();
        let (_, keys) = tables.iter().find(|(n, _)| *n == "quarantined").unwrap();
        let reason = keys
            .column(REASON)
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .unwrap()
            .to_string();
        assert!(
            !reason.contains(card) && reason.contains("5674"),
            "{reason}"
        );
        assert_eq!(
            keys.column(SOURCE_FILE).unwrap().str().unwrap().get(0),
            Some("billing/a.csv")
        );
    }
}
