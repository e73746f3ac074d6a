//! Bad invocations and bad inputs: each gets its exit code and a message naming file, row and column.

use crate::helpers::*;
use std::path::Path;

fn run_with(dir: &Path, inputs: &[(&str, &str)]) -> std::process::Output {
    let cfg = config_with(dir, inputs);
    cipwatch(&["run", "--config", cfg.to_str().unwrap()])
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

fn sample_billing_header() -> String {
    let text =
        std::fs::read_to_string(repo().join("data-samples/billing/focus-2026-11.csv")).unwrap();
    text.lines().next().unwrap().to_string()
}

#[test]
fn usage_errors_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--set", "trainin_ops=1"], "valid keys"),
        (
            &["run", "--set", "assumed_utilization=2"],
            "assumed_utilization",
        ),
        // Two letters that are not an assigned ISO 3166-1 code (Great Britain is GB).
        (
            &["run", "--set", "subject_countries=[\"UK\"]"],
            "subject_countries = [\"UK\"] is out of range",
        ),
        (&["run", "--as-of", "26/11/2026"], "--as-of"),
        (&["run", "--config", "no/such/cipwatch.toml"], "cannot read"),
        (&["run", "--bogus"], "--bogus"),
    ];
    for (args, needle) in cases {
        let o = cipwatch(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn unknown_config_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), &[]);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("[output]", "[output]\ndirr = \"x\"");
    std::fs::write(&cfg, text).unwrap();
    let o = cipwatch(&["validate", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("dirr"), "{}", stderr(&o));
    let line = std::fs::read_to_string(&cfg)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("dirr"))
        .unwrap()
        + 1;
    assert!(
        stderr(&o).contains(&format!("line {line}, column 1")),
        "the fault's line and column: {}",
        stderr(&o)
    );
}

#[test]
fn a_config_that_does_not_parse_names_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), &[]);
    let text = std::fs::read_to_string(&cfg).unwrap();
    let line = text.lines().position(|l| l == "[output]").unwrap() + 2;
    std::fs::write(&cfg, text.replace("[output]", "[output]\nx = 1 =")).unwrap();
    let o = cipwatch(&["validate", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("line {line}, column 7")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn diff_refuses_a_change_that_is_not_a_fraction() {
    for change in ["--change=NaN", "--change=inf", "--change=-0.5"] {
        let o = cipwatch(&["diff", change]);
        assert_eq!(o.status.code(), Some(2), "{change}: {}", stderr(&o));
        assert!(stderr(&o).contains("--change"), "{}", stderr(&o));
    }
}

#[test]
fn missing_file_and_missing_column_exit_3_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_with(dir.path(), &[("customers", "nowhere.csv")]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("nowhere.csv") && stderr(&o).contains("not found"));

    let header = sample_billing_header().replace("ChargePeriodEnd,", "");
    let billing = write(dir.path(), "billing.csv", format!("{header}\n").as_bytes());
    let o = run_with(dir.path(), &[("billing", &billing)]);
    assert_eq!(o.status.code(), Some(3));
    let e = stderr(&o);
    assert!(
        e.contains("billing.csv") && e.contains("row 1") && e.contains("column ChargePeriodEnd"),
        "{e}"
    );
}

#[test]
fn empty_file_wrong_delimiter_and_encoding_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.csv", b"");
    let o = run_with(dir.path(), &[("resellers", &empty)]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("empty.csv") && stderr(&o).contains("empty"),
        "{}",
        stderr(&o)
    );

    let semi = write(
        dir.path(),
        "semi.csv",
        b"reseller_id;name;country;cip_on_file;cip_attested_at\nR1;X;NL;true;\n",
    );
    let o = run_with(dir.path(), &[("resellers", &semi)]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("';'-delimited"), "{}", stderr(&o));

    let latin1 = write(
        dir.path(),
        "latin1.csv",
        b"reseller_id,name,country,cip_on_file,cip_attested_at\nR1,M\xfcller,DE,true,\n",
    );
    let o = run_with(dir.path(), &[("resellers", &latin1)]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("latin1.csv, row 2") && stderr(&o).contains("UTF-8"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_rows_are_quarantined_with_reasons_and_original_values() {
    let dir = tempfile::tempdir().unwrap();
    let telemetry = write(
        dir.path(),
        "telemetry.csv",
        concat!(
            "resource_id,billing_account_id,period_start,period_end,instance_type,accelerator_count,avg_utilization,availability_zone,cluster_id\n",
            "r1,420000000002,2026-11-20T00:00:00Z,2026-11-19T00:00:00Z,p5.48xlarge,8,0.4,z,c\n",
            "r2,420000000002,not a time,2026-11-19T00:00:00Z,p5.48xlarge,8,0.4,z,c\n",
            "r3,420000000002,2026-11-18T00:00:00Z,2026-11-19T00:00:00Z,p5.48xlarge,-8,0.4,z,c\n",
            "r4,420000000002,2026-11-18T00:00:00Z,2026-11-19T00:00:00Z,p5.48xlarge,eight,0.4,z,c\n",
            ",420000000002,2026-11-18T00:00:00Z,2026-11-19T00:00:00Z,p5.48xlarge,8,0.4,z,c\n",
            "r6,420000000002,2026-11-18T00:00:00Z,2026-11-19T00:00:00Z,p5.48xlarge,8,0.4,z,c\n",
        )
        .as_bytes(),
    );
    let cfg = config_with(dir.path(), &[("telemetry", &telemetry)]);
    let o = cipwatch(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q = read_csv(&dir.path().join("out/2026-11-26/quarantine/telemetry.csv"));
    let got: Vec<(String, String)> = q
        .iter()
        .map(|r| (r["row"].clone(), r["rule"].clone()))
        .collect();
    let want = [
        ("2", "end_not_after_start"),
        ("3", "bad_timestamp"),
        ("4", "out_of_range"),
        ("5", "bad_number"),
        ("6", "missing_value"),
    ];
    assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
    assert!(q[1]["reason"].contains("'not a time'"));
    assert!(q[3]["original_values"].contains("\"accelerator_count\":\"eight\""));
}

/// A catalog gap (the H100 without its peak figure) never hides the other accounts: the run
/// publishes every account, the H100 accounts estimated at the bound and marked CATALOG_GAP, and
/// exits 4 naming the gap; with `--allow-stale` the same flags and exit 0.
#[test]
fn a_catalog_without_the_peak_figure_publishes_at_the_bound_and_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    std::fs::create_dir(&catalog).unwrap();
    let acc = std::fs::read_to_string(repo().join("src/config/catalog/accelerators.csv")).unwrap();
    let acc: String = acc
        .lines()
        .filter(|l| !l.starts_with("nvidia-h100-sxm,"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(catalog.join("accelerators.csv"), acc).unwrap();
    std::fs::copy(
        repo().join("src/config/catalog/instance-types.csv"),
        catalog.join("instance-types.csv"),
    )
    .unwrap();
    let cfg = config_with(dir.path(), &[]);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("[output]", "catalog = \"catalog\"\n\n[output]");
    std::fs::write(&cfg, text).unwrap();
    let o = cipwatch(&["run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("p5.48xlarge (nvidia-h100-sxm)"),
        "{}",
        stderr(&o)
    );
    let out = dir.path().join("out/2026-11-26");
    let flags = read_csv(&out.join("flags.csv"));
    let gaps: Vec<_> = flags
        .iter()
        .filter(|r| r["reasons"].contains("CATALOG_GAP"))
        .collect();
    assert!(!gaps.is_empty(), "{flags:?}");
    assert!(
        flags.iter().any(|r| !r["reasons"].contains("CATALOG_GAP")),
        "the accounts without H100s are published as usual"
    );
    let before = std::fs::read(out.join("flags.csv")).unwrap();

    let o = cipwatch(&["run", "--allow-stale", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(out.join("flags.csv")).unwrap(),
        before,
        "the same flags"
    );
}

/// A sample run with `04_colocation_peak.sql` replaced by `select` (under a valid header).
fn run_with_query_04(select: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("04_colocation_peak.sql"),
        format!("-- Purpose: p\n-- Inputs: i\n-- Output: o\n{select}"),
    )
    .unwrap();
    let out = dir.path().join("out");
    cipwatch(&[
        "run",
        "--queries",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn a_query_override_with_an_error_names_the_file() {
    let o = run_with_query_04("SELECT no_such_column FROM colocation_sweep");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("04_colocation_peak.sql"),
        "{}",
        stderr(&o)
    );
}

/// The published tables and the results later stages read are contracts: a query override
/// whose result lacks a column a published table is made from (`first_flagged_day` removed from
/// `10_flags.sql`'s SELECT, or `run_seq` renamed in `05_training_runs.sql`) or one a later stage
/// reads (`source_rows` of the usage slots, `foreign_customers` of the certification's
/// `11_cert_customers_by_country.sql`) stops before any query runs, with exit 2 naming the file,
/// the column and what needs it, and publishes nothing; so does one whose declared partition names
/// a column its table lacks.
#[test]
fn a_query_override_that_breaks_its_contract_fails_before_the_queries_run() {
    for (file, from, to, column) in [
        (
            "10_flags.sql",
            "    CASE WHEN reportable THEN screening_knowledge_day END AS first_flagged_day,\n",
            "",
            "'first_flagged_day': the published flags table's column 'first_flagged_date' (date) is made from it",
        ),
        (
            "05_training_runs.sql",
            "    colocation_group,\n    run_seq,\n",
            "    colocation_group,\n    run_seq AS segment,\n",
            "'run_seq': the published training_runs table's column 'run' (integer) is made from it",
        ),
        (
            "02_usage_slots.sql",
            "SUM(source_rows) AS source_rows,",
            "SUM(source_rows) AS billing_rows,",
            "'source_rows': read by usage_by_type and the reports as the usage_slots column 'source_rows' (integer)",
        ),
        (
            "11_cert_customers_by_country.sql",
            "END) AS foreign_customers",
            "END) AS foreign",
            "'foreign_customers': read by the certification as the cert_customers_by_country column 'foreign_customers' (integer)",
        ),
        (
            "02_usage_slots.sql",
            "-- Partition: accelerator_usage.day",
            "-- Partition: accelerator_usage.no_such_day",
            "Partition: accelerator_usage.no_such_day",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let sql = std::fs::read_to_string(repo().join("queries").join(file)).unwrap();
        assert!(sql.contains(from), "{file} still holds the line this test removes");
        std::fs::write(dir.path().join(file), sql.replacen(from, to, 1)).unwrap();
        let out = dir.path().join("out");
        let o = cipwatch(&[
            "run",
            "--queries",
            dir.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(file) && stderr(&o).contains(column),
            "{}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("queries run"), "no query ran: {}", stderr(&o));
        assert!(!out.join("2026-11-26").exists(), "nothing published");
    }
}

/// The sample billing as Parquet (typed columns) and as gzip-compressed CSV gives the same flags
/// as the CSV; so do Parquet billing and customers whose account ids are stored as floating-point
/// numbers (as pandas writes an integer column with nulls).
#[test]
fn parquet_and_gzip_billing_give_the_same_flags_as_csv() {
    use polars::prelude::*;
    let csv_out = tempfile::tempdir().unwrap();
    run_samples(csv_out.path(), &["-q"]);
    let expected = std::fs::read_to_string(csv_out.path().join("2026-11-26/flags.csv")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let read = |source: &std::path::Path| {
        CsvReadOptions::default()
            .try_into_reader_with_file_path(Some(source.to_path_buf()))
            .unwrap()
            .finish()
            .unwrap()
    };
    let write = |mut df: DataFrame, path: std::path::PathBuf| {
        ParquetWriter::new(std::fs::File::create(path).unwrap())
            .finish(&mut df)
            .unwrap();
    };
    let as_float = |df: DataFrame, column: &str| {
        df.lazy()
            .with_column(col(column).cast(DataType::Float64))
            .collect()
            .unwrap()
    };
    let (pq, gz, fl) = (
        dir.path().join("parquet"),
        dir.path().join("gzip"),
        dir.path().join("float-ids"),
    );
    for folder in [&pq, &gz, &fl] {
        std::fs::create_dir_all(folder).unwrap();
    }
    let customers = dir.path().join("customers.parquet");
    write(
        as_float(
            read(&repo().join("data-samples/cip/customers.csv")),
            "account_id",
        ),
        customers.clone(),
    );
    for name in ["focus-2026-10", "focus-2026-11"] {
        let source = repo().join(format!("data-samples/billing/{name}.csv"));
        let df = read(&source);
        write(
            as_float(df.clone(), "BillingAccountId"),
            fl.join(format!("{name}.parquet")),
        );
        write(df, pq.join(format!("{name}.parquet")));
        let mut encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(gz.join(format!("{name}.csv.gz"))).unwrap(),
            flate2::Compression::fast(),
        );
        std::io::Write::write_all(&mut encoder, &std::fs::read(&source).unwrap()).unwrap();
        encoder.finish().unwrap();
    }
    for folder in [&pq, &gz, &fl] {
        let sub = tempfile::tempdir().unwrap();
        let mut inputs = vec![("billing", folder.to_str().unwrap())];
        if folder == &fl {
            inputs.push(("customers", customers.to_str().unwrap()));
        }
        let cfg = config_with(sub.path(), &inputs);
        let o = cipwatch(&["-q", "run", "--config", cfg.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", folder.display(), stderr(&o));
        let got = std::fs::read_to_string(sub.path().join("out/2026-11-26/flags.csv")).unwrap();
        assert_eq!(got, expected, "{}", folder.display());
    }
}

/// A query that plans but fails while it runs is an internal error (exit 1): the message names
/// the query file and keeps the engine's cause, and a second line says it is a bug and what to
/// report.
#[test]
fn a_query_failing_while_it_runs_is_internal_with_its_cause_and_a_bug_report_line() {
    let o = run_with_query_04(
        "SELECT billing_account_id, CAST(CAST(colocation_group AS INTEGER) AS DOUBLE) AS peak_colocated_ops_per_s, \
         running_accelerators AS peak_colocated_accelerators FROM colocation_sweep",
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("internal error: query 04_colocation_peak.sql"),
        "{err}"
    );
    assert!(
        err.contains("conversion from `str` to `i32` failed"),
        "{err}"
    );
    assert!(err.contains("this is a bug in cipwatch"), "{err}");
}

#[test]
fn a_blank_utilization_is_not_read_as_idle() {
    // Found case: every telemetry row but each resource's first has no avg_utilization. A blank
    // once weighed as 0% busy and dropped the account from REPORTABLE to WATCH.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("data-samples/telemetry/accelerator-usage.csv"))
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut cells: Vec<&str> = l.split(',').collect();
            if i > 0 && !seen.insert(cells[0].to_string()) {
                cells[6] = "";
            }
            cells.join(",")
        })
        .collect();
    let telemetry = write(
        dir.path(),
        "telemetry.csv",
        (lines.join("\n") + "\n").as_bytes(),
    );
    let o = run_with(dir.path(), &[("telemetry", &telemetry)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let day = dir.path().join("out/2026-11-26");
    let zephyr = flag(&read_csv(&day.join("flags.csv")), "420000000002");
    assert_eq!(zephyr["level"], "REPORTABLE", "{zephyr:?}");
    assert!(read_csv(&day.join("quarantine/telemetry.csv")).is_empty());
}

#[test]
fn a_folder_holding_an_export_cipwatch_cannot_read_is_refused() {
    // Found case: a .csv.zst beside a .csv in the billing folder was skipped without a word, its
    // rows lost. Notes, manifests and hidden files beside the data are not data.
    for (extra, refused) in [
        ("focus-2026-12.csv.zst", true),
        ("focus-2026-12.csv.gzip", true),
        ("BILLING_PERIOD=2026-12/part-0.parquet", true),
        ("notes/readme.txt", false),
        ("Manifest.json", false),
        (".part-0.parquet.crc", false),
        ("_SUCCESS", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let billing = dir.path().join("billing");
        std::fs::create_dir_all(&billing).unwrap();
        for name in ["focus-2026-10.csv", "focus-2026-11.csv"] {
            std::fs::copy(
                repo().join("data-samples/billing").join(name),
                billing.join(name),
            )
            .unwrap();
        }
        let path = billing.join(extra);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"\x28\xb5\x2f\xfd not read").unwrap();
        let o = run_with(dir.path(), &[("billing", billing.to_str().unwrap())]);
        match refused {
            true => {
                assert_eq!(o.status.code(), Some(3), "{extra}: {}", stderr(&o));
                let named = extra.split('/').next().unwrap();
                assert!(stderr(&o).contains(named), "{}", stderr(&o));
            }
            false => assert!(o.status.success(), "{extra}: {}", stderr(&o)),
        }
    }
}

/// Found cases: a Parquet export with a list, binary or whole-float extra column failed as an
/// internal error once any of its rows was quarantined (its original values could not be written
/// as text), and a card stored as a float was written in full as `4112502830217073.0`.
#[test]
fn quarantined_parquet_rows_keep_nested_binary_and_numeric_originals_as_masked_text() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let billing = dir.path().join("billing");
    std::fs::create_dir_all(&billing).unwrap();
    let source = repo().join("data-samples/billing/focus-2026-11.csv");
    let mut df = CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(source))
        .unwrap()
        .finish()
        .unwrap();
    let n = df.height();
    let tags: Vec<Series> = (0..n)
        .map(|_| Series::new("".into(), ["team-a", "prod"]))
        .collect();
    df.with_column(Column::new("x_Tags".into(), tags)).unwrap();
    df.with_column(Column::new("x_Blob".into(), vec![&b"\xff\xfe"[..]; n]))
        .unwrap();
    df.with_column(Column::new("x_Ref".into(), vec![4112502830217073.0f64; n]))
        .unwrap();
    ParquetWriter::new(std::fs::File::create(billing.join("focus-2026-11.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
    std::fs::copy(
        repo().join("data-samples/billing/focus-2026-10.csv"),
        billing.join("focus-2026-10.csv"),
    )
    .unwrap();
    let o = run_with(dir.path(), &[("billing", billing.to_str().unwrap())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q = read_csv(&dir.path().join("out/2026-11-26/quarantine/billing.csv"));
    let parquet_row = q
        .iter()
        .find(|r| r["source_file"].ends_with(".parquet"))
        .expect("a quarantined Parquet row");
    let original = &parquet_row["original_values"];
    assert!(
        original.contains("team-a") && original.contains("prod"),
        "{original}"
    );
    assert!(original.contains("411250******7073"), "{original}");
    assert!(!original.contains("4112502830217073"), "{original}");
}

/// Found case: one Parquet timestamp in milliseconds around the year 302000 fits an i64 but no
/// calendar; formatting it panicked. Its row is quarantined (`bad_timestamp`), the rest counts.
#[test]
fn a_typed_timestamp_beyond_the_year_9999_is_quarantined_not_a_panic() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let billing = dir.path().join("billing");
    std::fs::create_dir_all(&billing).unwrap();
    let source = repo().join("data-samples/billing/focus-2026-11.csv");
    let mut df = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(source))
        .unwrap()
        .finish()
        .unwrap();
    for name in ["ChargePeriodStart", "ChargePeriodEnd"] {
        // Cells that are not RFC 3339 (the sample's odd rows) are left empty.
        let millis: Vec<Option<i64>> = df
            .column(name)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, v)| match i {
                0 => Some(9_530_000_000_000_000),
                _ => v
                    .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
                    .map(|t| t.timestamp_millis()),
            })
            .collect();
        let typed = Column::new(name.into(), millis)
            .cast(&DataType::Datetime(
                TimeUnit::Milliseconds,
                Some(TimeZone::UTC),
            ))
            .unwrap();
        df.with_column(typed).unwrap();
    }
    ParquetWriter::new(std::fs::File::create(billing.join("focus-2026-11.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
    let o = run_with(dir.path(), &[("billing", billing.to_str().unwrap())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q = read_csv(&dir.path().join("out/2026-11-26/quarantine/billing.csv"));
    let far: Vec<_> = q.iter().filter(|r| r["row"] == "1").collect();
    assert_eq!(far.len(), 1, "{q:?}");
    assert_eq!(far[0]["rule"], "bad_timestamp");
    assert!(far[0]["reason"].contains("outside the years 1-9999"));
}

/// Found case: an extra column named like cipwatch's own line number (`_row`) rejected the file
/// with an engine message. It is an extra column like any other; line numbers stay right.
#[test]
fn an_input_column_named_row_is_an_extra_column() {
    let dir = tempfile::tempdir().unwrap();
    let billing = dir.path().join("billing");
    std::fs::create_dir_all(&billing).unwrap();
    for name in ["focus-2026-10.csv", "focus-2026-11.csv"] {
        let text = std::fs::read_to_string(repo().join("data-samples/billing").join(name)).unwrap();
        let lines: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                format!(
                    "{l},{}",
                    if i == 0 {
                        "_row".to_string()
                    } else {
                        i.to_string()
                    }
                )
            })
            .collect();
        std::fs::write(billing.join(name), lines.join("\n") + "\n").unwrap();
    }
    let o = run_with(dir.path(), &[("billing", billing.to_str().unwrap())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q = read_csv(&dir.path().join("out/2026-11-26/quarantine/billing.csv"));
    let sample = tempfile::tempdir().unwrap();
    run_samples(sample.path(), &["-q"]);
    let want = read_csv(&sample.path().join("2026-11-26/quarantine/billing.csv"));
    let rows = |q: &[std::collections::BTreeMap<String, String>]| -> Vec<(String, String)> {
        q.iter()
            .map(|r| (r["row"].clone(), r["rule"].clone()))
            .collect()
    };
    assert_eq!(rows(&q), rows(&want));
    assert!(
        q[0]["original_values"].contains("_row_as_written"),
        "{:?}",
        q[0]
    );
}

/// Found case: a correction taking back 100 hours of a resource billed for fewer was netted into
/// negative accelerator-hours and a run of negative accelerators. It is quarantined
/// (`over_correction`); the resource keeps the hours it was billed.
#[test]
fn a_correction_taking_back_more_than_was_billed_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let billing = dir.path().join("billing");
    std::fs::create_dir_all(&billing).unwrap();
    std::fs::copy(
        repo().join("data-samples/billing/focus-2026-10.csv"),
        billing.join("focus-2026-10.csv"),
    )
    .unwrap();
    let november =
        std::fs::read_to_string(repo().join("data-samples/billing/focus-2026-11.csv")).unwrap();
    let correction = "420000000011,Chen Wei,420000000011-01,Chen Wei production,USD,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,2026-11-02T00:00:00Z,2026-11-02T03:00:00Z,Usage,Correction,$0.526 per On Demand Linux g4dn.xlarge Instance Hour,Usage-Based,-100,Hours,-100,Hours,Standard,1.578,-50,1.578,Example Cloud,Example Cloud,Example Cloud Corp.,us-west-2,us-west-2a,i-cw-g4-0,instance,Compute,Amazon Elastic Compute Cloud,SKUF66ABEB9,,";
    std::fs::write(
        billing.join("focus-2026-11.csv"),
        format!("{}\n{correction}\n", november.trim_end()),
    )
    .unwrap();
    let baseline = tempfile::tempdir().unwrap();
    run_samples(baseline.path(), &["-q"]);
    let o = run_with(dir.path(), &[("billing", billing.to_str().unwrap())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let day = dir.path().join("out/2026-11-26");
    assert_eq!(
        hours_of(&day, "420000000011"),
        hours_of(&baseline.path().join("2026-11-26"), "420000000011")
    );
    let q = read_csv(&day.join("quarantine/billing.csv"));
    assert!(q.iter().any(|r| r["rule"] == "over_correction"), "{q:?}");
    let runs = read_csv(&day.join("training_runs.csv"));
    assert!(
        runs.iter()
            .all(|r| !r["accelerator_hours"].starts_with('-')),
        "no negative run"
    );
}
