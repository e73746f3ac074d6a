//! Tables as CSV and Parquet, written the same way every time (floats arrive rounded by
//! `transforms::rounding`, so that a parallel sum's last-bit wobble cannot change the bytes), timestamps as
//! `YYYY-MM-DDTHH:MM:SSZ`, and CSV text cells that a spreadsheet would run as a formula
//! (`= + - @`, tab, carriage return) prefixed with `'`, as is each such element of a `;`-joined list. Numbers, and text that is a number, are
//! left alone. Every text cell is masked (`pii::mask_frame`: card numbers by value, identifier and
//! registry free-text columns by column) before it is written, in CSV and Parquet alike. Cells
//! holding quotes, commas, CR or LF are quoted. Files are created readable by their owner only,
//! and synced before they are closed.

use polars::prelude::*;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::{Context, Result};

/// Text cells starting with a formula trigger get a leading `'`; numeric text does not. So does
/// each element of a `;`-joined list (`accelerators`, `sub_accounts`) that starts with one: a
/// spreadsheet whose list separator is `;` splits the cell there (`-` only before a non-number).
pub fn neutralise(df: DataFrame) -> Result<DataFrame> {
    let exprs: Vec<Expr> = df
        .schema()
        .iter()
        .map(|(name, dt)| match dt {
            DataType::String => {
                let c = col(name.clone());
                let risky = c.clone().str().contains(lit(r"^[=+\-@\t\r]"), false);
                let numeric = c.clone().cast(DataType::Float64).is_not_null();
                let elements = c.clone().str().replace_all(
                    lit(r";([=+@\t\r]|-[^0-9.;])"),
                    lit(";'${1}"),
                    false,
                );
                when(risky.and(numeric.not()))
                    .then(concat_str([lit("'"), elements.clone()], "", false))
                    .otherwise(elements)
                    .alias(name.clone())
            }
            _ => col(name.clone()),
        })
        .collect();
    df.lazy()
        .select(exprs)
        .collect()
        .or_internal("neutralising CSV text cells")
}

/// Creates (truncating) a file readable and writable by its owner only.
pub fn create_private(path: &Path) -> Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).with_context_path(path)
}

trait WithPath<T> {
    fn with_context_path(self, path: &Path) -> Result<T>;
}

impl<T> WithPath<T> for std::io::Result<T> {
    fn with_context_path(self, path: &Path) -> Result<T> {
        self.or_internal(format!("writing {}", path.display()))
    }
}

/// `df` as every table sink writes it: text masked (`pii::mask_frame`).
fn masked(df: &DataFrame) -> Result<DataFrame> {
    crate::pii::mask_frame(df).or_internal("masking output text")
}

/// `df` as CSV text: masked, neutralised, quoted where needed. The one way cipwatch writes CSV
/// (tables, quarantine files, `diff --format csv`).
pub fn csv_bytes(df: &DataFrame) -> Result<Vec<u8>> {
    let mut safe = neutralise(masked(df)?)?;
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .with_quote_style(QuoteStyle::Necessary)
        .with_datetime_format(Some("%Y-%m-%dT%H:%M:%SZ".into()))
        .with_date_format(Some("%Y-%m-%d".into()))
        .finish(&mut safe)
        .or_internal("writing CSV")?;
    Ok(bytes)
}

/// Writes `df` as CSV ([`csv_bytes`]) to `path`.
pub fn write_csv(df: &DataFrame, path: &Path) -> Result<()> {
    write_bytes(&csv_bytes(df)?, path)
}

/// Writes `df` as Parquet to `path`, text masked.
pub fn write_parquet(df: &DataFrame, path: &Path) -> Result<()> {
    let mut df = masked(df)?;
    let mut file = create_private(path)?;
    ParquetWriter::new(&mut file)
        .finish(&mut df)
        .or_internal(format!("writing {}", path.display()))?;
    file.sync_all().with_context_path(path)
}

/// Writes bytes (a manifest, a marker, a document) to `path` and syncs them to disk.
pub fn write_bytes(bytes: &[u8], path: &Path) -> Result<()> {
    let mut file = create_private(path)?;
    file.write_all(bytes).with_context_path(path)?;
    file.sync_all().with_context_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_are_not() {
        let df = df!("t" => ["=HYPERLINK(\"x\")", "+1 call", "-5", "@SUM(A1)", "plain", "-1.5e3", "a;=2+5;-x;-5;@b", "=1;+2"], "n" => [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]).unwrap();
        let out = neutralise(df).unwrap();
        let t: Vec<&str> = out
            .column("t")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(
            t,
            [
                "'=HYPERLINK(\"x\")",
                "'+1 call",
                "-5",
                "'@SUM(A1)",
                "plain",
                "-1.5e3",
                "a;'=2+5;'-x;-5;'@b",
                "'=1;'+2"
            ]
        );
        assert_eq!(out.column("n").unwrap().f64().unwrap().get(0), Some(-1.0));
    }

    #[test]
    fn csv_cells_are_masked_quoted_and_neutralised() {
        let df = df!(
            "account_id" => ["420000000002", "7"],
            "note" => ["card 4929 0000 1234 5674", "line\r\nbreak, \"quoted\""],
            "national_id" => ["110105199001011234", "=cmd"]
        )
        .unwrap();
        let text = String::from_utf8(csv_bytes(&df).unwrap()).unwrap();
        assert!(text.contains("card 492900******5674"), "{text}");
        assert!(text.contains("\"line\r\nbreak, \"\"quoted\"\"\""), "{text}");
        assert!(text.contains("**************1234"), "{text}");
        assert!(!text.contains("=cmd"), "{text}");
        assert!(text.contains("420000000002"), "{text}");
    }

    #[test]
    fn private_files_are_not_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        write_bytes(b"x", &p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
