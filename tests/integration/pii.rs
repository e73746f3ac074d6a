//! Personal data on hostile input: card numbers and identifiers planted in every free-text field
//! of the registry come out masked in every output and message; link evidence carries no hash; the
//! link key is never written; invisible characters are named by the checklist and shown visibly.
//! Handed cases: `tests/cases/hostile/04-…` and `18-…` (inputs copied from the cases).

use crate::helpers::*;
use crate::leaks::{assert_masked, assert_private_and_masked};
use std::path::{Path, PathBuf};

const AS_OF: &str = "2026-11-26";
/// The cards of case 04 (in address, email, legal name, payment source, owner name).
const PLANTED: &[&str] = &[
    "4929 0000 1234 5674",
    "4929000012345674",
    "5454-5400-0011-1125",
    "6011000099887766",
    "3714 496353 98431",
    "NID-7731-2208-4419",
    "7731-2208",
];

/// A configuration over the samples whose registry is the handed case's `cip/` folder.
fn case_config(dir: &Path, case: &str) -> PathBuf {
    let cip = repo().join("tests/cases/hostile").join(case).join("cip");
    let file = |n: &str| cip.join(n).display().to_string();
    config_with(
        dir,
        &[
            ("customers", &file("customers.csv")),
            ("beneficial_owners", &file("beneficial_owners.csv")),
            ("access_log", &file("access_log.csv")),
            ("resellers", &file("resellers.csv")),
        ],
    )
}

#[test]
fn case_04_cards_and_ids_in_free_text_are_masked_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = case_config(dir.path(), "04-card-in-free-text-fields");
    let cfg = cfg.to_str().unwrap();
    let o = cipwatch(&["run", "--config", cfg]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_masked("stderr of run", &stderr(&o), PLANTED);
    assert_masked("stdout of run", &stdout(&o), PLANTED);
    let out = dir.path().join("out");
    assert_private_and_masked(&out, PLANTED);
    // The report is still there, with the masked values where the raw ones stood.
    let report = std::fs::read_to_string(
        out.join(AS_OF)
            .join("reports/420000000002/ai-training-report.md"),
    )
    .unwrap();
    assert!(
        report.contains(&md_mask("Zephyr 601100******7766 Pte Ltd")),
        "{report}"
    );
    assert!(
        report.contains(&md_mask("492900******5674, 1 Raffles Place")),
        "{report}"
    );
    assert!(report.contains(&md_mask("**************4419")), "{report}");
    // explain and diff print masked text too.
    for args in [
        vec!["explain", "420000000002", "--config", cfg],
        vec![
            "explain",
            "420000000002",
            "--config",
            cfg,
            "--format",
            "json",
        ],
    ] {
        let o = cipwatch(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_masked("explain", &stdout(&o), PLANTED);
    }
}

#[test]
fn case_18_link_evidence_carries_no_hash_and_the_key_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = case_config(dir.path(), "18-link-hash-reverses-card");
    let key = "a-secret-link-key-for-this-test-only";
    let o = cipwatch_env(
        &["run", "--config", cfg.to_str().unwrap()],
        &[("CIPWATCH_LINK_KEY", key)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run = dir.path().join("out").join(AS_OF);
    let entities = read_csv(&run.join("entities.csv"));
    let linked = entities
        .iter()
        .find(|e| e["members"] == "420000000002;420000000003")
        .expect("the two accounts sharing a card are one entity");
    assert_eq!(
        linked["strong_links"],
        "payment_instrument:L1->420000000003 | payment_instrument:L1->420000000002",
        "type, opaque id, counterpart"
    );
    for (name, bytes) in tree(&dir.path().join("out")) {
        let text = crate::leaks::decoded(Path::new(&name), &bytes);
        assert!(!text.contains(key), "{name} holds the link key");
        assert!(!text.contains("4929000012345674"), "{name}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["link_key"]["source"],
        "environment CIPWATCH_LINK_KEY"
    );
    assert_eq!(
        manifest["link_key"]["fingerprint"].as_str().unwrap().len(),
        16
    );

    // Without a key: a random key of this run only, the same links, the same published bytes.
    let again = tempfile::tempdir().unwrap();
    let cfg2 = case_config(again.path(), "18-link-hash-reverses-card");
    let o = cipwatch_env(
        &["run", "--config", cfg2.to_str().unwrap()],
        &[("CIPWATCH_LINK_KEY", "")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run2 = again.path().join("out").join(AS_OF);
    assert_eq!(
        std::fs::read(run.join("entities.csv")).unwrap(),
        std::fs::read(run2.join("entities.csv")).unwrap(),
        "links do not depend on the key"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run2.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["link_key"]["source"]
        .as_str()
        .unwrap()
        .starts_with("ephemeral"));
    assert!(manifest["link_key"]["fingerprint"].is_null());
}

#[test]
fn a_short_or_unreadable_link_key_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), &[]);
    let cfg = cfg.to_str().unwrap();
    let o = cipwatch_env(&["run", "--config", cfg], &[("CIPWATCH_LINK_KEY", "short")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("at least 16"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("short"), "the key is not echoed");
    let missing = dir.path().join("no-such-key");
    let o = cipwatch_env(
        &["run", "--config", cfg],
        &[("CIPWATCH_LINK_KEY_FILE", missing.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("link key file"), "{}", stderr(&o));

    // A key file named by the configuration: used, recorded by source and fingerprint only.
    std::fs::write(
        dir.path().join("link.key"),
        "a-key-kept-in-a-file-0123456789\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(cfg).unwrap() + "\n[links]\nkey_file = \"link.key\"\n";
    std::fs::write(cfg, text).unwrap();
    let o = cipwatch_env(&["run", "--config", cfg], &[("CIPWATCH_LINK_KEY", "")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m =
        std::fs::read_to_string(dir.path().join("out").join(AS_OF).join("manifest.json")).unwrap();
    let m: serde_json::Value = serde_json::from_str(&m).unwrap();
    assert_eq!(m["link_key"]["source"], "file named by [links] key_file");
    assert!(m["link_key"]["fingerprint"].is_string());
    assert!(!m.to_string().contains("a-key-kept-in-a-file"));
}

#[test]
fn invisible_controls_are_named_by_the_checklist_and_shown_in_documents() {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("data-samples/cip");
    let cust = std::fs::read_to_string(src.join("customers.csv"))
        .unwrap()
        .replace(
            "420000000002,Zephyr Frontier AI Pte. Ltd.,",
            "420000000002,Zephyr \u{202E}Frontier\u{200B} AI Pte. Ltd.,",
        );
    assert!(cust.contains('\u{202E}'), "the sample customer was edited");
    let owners = std::fs::read_to_string(src.join("beneficial_owners.csv"))
        .unwrap()
        .replacen("420000000002,", "420000000002,\u{2066}", 1);
    std::fs::write(dir.path().join("customers.csv"), cust).unwrap();
    std::fs::write(dir.path().join("owners.csv"), owners).unwrap();
    let cfg = config_in(
        dir.path(),
        &[
            ("customers", "customers.csv"),
            ("beneficial_owners", "owners.csv"),
        ],
    );
    let o = cipwatch(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stem = dir
        .path()
        .join("out")
        .join(AS_OF)
        .join("reports/420000000002/ai-training-report");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stem.with_extension("json")).unwrap()).unwrap();
    let item = json["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == "printable")
        .unwrap()
        .clone();
    assert_eq!(item["ok"], false);
    let detail = item["found"].to_string();
    assert!(detail.contains("customer.legal_name"), "{detail}");
    assert!(
        detail.contains("beneficial_owners[") && detail.contains("].name"),
        "{detail}"
    );
    for ext in ["md", "html", "json"] {
        let text = std::fs::read_to_string(stem.with_extension(ext)).unwrap();
        assert!(
            !text.contains('\u{202E}') && !text.contains('\u{200B}'),
            "{ext}"
        );
        assert!(
            text.contains("Zephyr [U+202E]Frontier[U+200B] AI Pte. Ltd."),
            "{ext}"
        );
    }
}

/// Runs the samples with one more customer row, quarantined (its `customer_type` is not a type)
/// so that its original values are written: a copy of the first customer with `extra` columns
/// added and `edit` applied to its cells. Returns the output folder and the quarantine file's text.
fn run_with_quarantined_customer(
    dir: &Path,
    extra: &[&str],
    edit: impl Fn(&mut Vec<String>),
) -> (PathBuf, String) {
    let src = std::fs::read_to_string(repo().join("data-samples/cip/customers.csv")).unwrap();
    let mut lines: Vec<String> = src.lines().map(String::from).collect();
    for column in extra {
        lines[0].push(',');
        lines[0].push_str(column);
    }
    for l in lines.iter_mut().skip(1) {
        l.push_str(&",".repeat(extra.len()));
    }
    let mut bad = split(&lines[1]);
    bad[2] = "not-a-type".into();
    edit(&mut bad);
    lines.push(
        bad.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(","),
    );
    std::fs::write(dir.join("customers.csv"), lines.join("\n") + "\n").unwrap();
    let cfg = config_in(dir, &[("customers", "customers.csv")]);
    let o = cipwatch(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.join("out");
    let q = std::fs::read_to_string(out.join(AS_OF).join("quarantine/customers.csv")).unwrap();
    (out, q)
}

#[test]
fn national_ids_in_every_column_keep_only_their_last_four_in_quarantine() {
    // An 18-digit national ID (card-length) and an ID in an extra column keep 4 characters.
    let dir = tempfile::tempdir().unwrap();
    let (_, q) = run_with_quarantined_customer(dir.path(), &["tax_id", "notes"], |bad| {
        let n = bad.len();
        bad[0] = "999000000001".into();
        bad[10] = "110105199001011234".into();
        bad[n - 2] = "TIN-88-1234567".into();
        bad[n - 1] = "call 4111 1111 1111 1111".into();
    });
    assert!(
        q.contains("999000000001"),
        "the quarantined row is there: {q}"
    );
    assert!(q.contains("**************1234"), "{q}");
    assert!(q.contains("**********4567"), "{q}");
    assert_masked(
        "quarantine/customers.csv",
        &q,
        &[
            "110105199001011234",
            "TIN-88-1234567",
            "4111 1111 1111 1111",
        ],
    );
}

#[test]
fn cards_written_with_odd_separators_and_ids_in_odd_columns_are_masked() {
    // Cards with no-break spaces, zero-width spaces, full-width digits, a card followed by another
    // digit group; an ID in a camel-case extra column.
    let dir = tempfile::tempdir().unwrap();
    let (out, q) = run_with_quarantined_customer(dir.path(), &["NationalID"], |bad| {
        let n = bad.len();
        bad[0] = "999000000002".into();
        bad[1] = "Odd 4929\u{00A0}0000\u{00A0}1234\u{00A0}5674 Ltd".into();
        bad[4] = "Unit ５４５４５４００００１１１１２５, 4929\u{200B}0000\u{200B}1234\u{200B}5674"
            .into();
        bad[9] = "pg 6011000099887766 1".into();
        bad[n - 1] = "NID-0000-7731-2208".into();
    });
    let secrets = [
        "4929000012345674",
        "5454540000111125",
        "6011000099887766",
        "NID-0000-7731-2208",
        "00007731",
    ];
    assert_private_and_masked(&out, &secrets);
    assert!(q.contains("999000000002") && q.contains("2208"), "{q}");
}

#[test]
fn flag_values_in_command_line_errors_are_masked() {
    let o = cipwatch(&["run", "--drafts", "4929000012345674"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("4929000012345674"), "{}", stderr(&o));
    assert!(stderr(&o).contains("492900******5674"), "{}", stderr(&o));
}

/// Identifiers written alone or next to another (a bare 18-digit number in an address, an ID
/// label followed by a number), in the new beneficial-owner columns, and typed by counsel into an
/// answers file come out masked in every default output; the filing copy keeps them.
#[test]
fn identifiers_alone_next_to_others_in_owner_columns_and_in_answers_are_masked() {
    const ALONE: &str = "987654321098765432";
    let dir = tempfile::tempdir().unwrap();
    let cip = repo().join("data-samples/cip");
    let customers = std::fs::read_to_string(cip.join("customers.csv"))
        .unwrap()
        .replace(
            "\"1 Raffles Place #40-01, Singapore 048616\",ops@zephyr.example",
            &format!("{ALONE},NID-7731-2208-4419 {ALONE}"),
        );
    let owners: String = std::fs::read_to_string(cip.join("beneficial_owners.csv"))
        .unwrap()
        .lines()
        .enumerate()
        .map(|(n, l)| match n {
            0 => format!("{l},payment_method\n"),
            _ if l.starts_with("420000000002,") => format!("{l},S1234567D\n"),
            _ => format!("{l},\n"),
        })
        .collect();
    std::fs::write(dir.path().join("customers.csv"), customers).unwrap();
    std::fs::write(dir.path().join("beneficial_owners.csv"), owners).unwrap();
    std::fs::create_dir_all(dir.path().join("answers")).unwrap();
    std::fs::write(
        dir.path().join("answers/420000000002.toml"),
        format!("narrative = \"id {ALONE} NID-7731-2208-4419\"\n"),
    )
    .unwrap();
    let cust = dir.path().join("customers.csv").display().to_string();
    let own = dir
        .path()
        .join("beneficial_owners.csv")
        .display()
        .to_string();
    let cfg = config_with(
        dir.path(),
        &[("customers", &cust), ("beneficial_owners", &own)],
    );
    let o = cipwatch(&["run", "--config", cfg.to_str().unwrap(), "--filing-copy"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let secrets = [ALONE, "7731-2208-4419", "S1234567D", "s1234567d"];
    assert_masked("stderr of run", &stderr(&o), &secrets);
    let day = dir.path().join("out").join(AS_OF);
    let copy = day.join("filing-copy-UNMASKED");
    let unmasked =
        std::fs::read_to_string(copy.join("reports/420000000002/ai-training-report.md")).unwrap();
    assert!(unmasked.contains(ALONE), "the filing copy keeps the values");
    std::fs::remove_dir_all(&copy).unwrap();
    assert_private_and_masked(&day, &secrets);
}

#[test]
fn a_card_split_by_tabs_is_masked_in_json_outputs_and_the_filing_log() {
    // JSON writes a tab as `\t`: masking its text would miss the card; values are masked first.
    let dir = tempfile::tempdir().unwrap();
    let card = "4929\t0000\t1234\t5674";
    let billing = dir.path().join("billing");
    std::fs::create_dir_all(&billing).unwrap();
    for name in ["focus-2026-10.csv", "focus-2026-11.csv"] {
        let text = std::fs::read_to_string(repo().join("data-samples/billing").join(name)).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines[1] = lines[1].replacen(",USD,", &format!(",{card},"), 1);
        for line in lines.iter_mut().filter(|l| l.starts_with("420000000002,")) {
            *line = line.replace(",us-east-2b,", &format!(",{card},"));
        }
        std::fs::write(billing.join(name), lines.join("\n") + "\n").unwrap();
    }
    let cfg = billing_config(dir.path(), &billing, None);
    let c = cfg.to_str().unwrap();
    let o = cipwatch(&["-q", "run", "--config", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    let run = published(&out);
    let manifest = std::fs::read_to_string(run.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("492900******5674"),
        "the planted currency is in the manifest"
    );
    let explained = cipwatch(&["explain", "420000000002", "--config", c, "--format", "json"]);
    assert!(explained.status.success(), "{}", stderr(&explained));
    let text = stdout(&explained);
    assert!(text.contains("492900******5674"), "{text}");
    assert_masked(
        "explain --format json",
        &crate::leaks::json_strings(&text),
        &[card],
    );
    let filed = cipwatch(&[
        "filed",
        "420000000002",
        "--reference",
        "REF 4929 0000 1234 5674",
        "--date",
        "2026-11-27",
        "--config",
        c,
    ]);
    assert!(filed.status.success(), "{}", stderr(&filed));
    assert_masked("filed stdout", &stdout(&filed), &["4929 0000 1234 5674"]);
    let o = cipwatch(&["-q", "run", "--config", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = std::fs::read_to_string(published(&out).join("summary.md")).unwrap();
    assert!(
        summary.contains(&md_mask("REF 492900******5674")),
        "the filing is found again by its masked log entry: {summary}"
    );
    assert_private_and_masked(&out, &[card, "4929 0000 1234 5674"]);
}
