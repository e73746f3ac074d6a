//! The code's shape, checked: no import cycles between modules, no function over 100 lines, and
//! the documentation's lists of code facts (the parameter table in docs/configuration.md, the tables
//! registered for the queries in docs/documents.md, the source tree in CONTRIBUTING.md) agree with
//! the code; the paths and links the documents name exist, and README links every page of docs/.

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::helpers::repo;

/// Module path (`["sources", "billing"]`) → its source text, for every module of the library.
fn modules() -> BTreeMap<Vec<String>, String> {
    let mut out = BTreeMap::new();
    let root = repo().join("src");
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(&root).unwrap();
            if path.is_dir() && rel != Path::new("bin") {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut parts: Vec<String> = rel
                    .with_extension("")
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                if ["mod", "lib", "main"].contains(&parts.last().unwrap().as_str()) {
                    parts.pop();
                }
                if rel != Path::new("main.rs") {
                    out.insert(parts, std::fs::read_to_string(&path).unwrap());
                }
            }
        }
    }
    out
}

/// The module a path names: its longest prefix that is a module.
fn resolve(names: &BTreeSet<Vec<String>>, path: &[String]) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| names.contains(p))
}

/// Module → the modules it names (`crate::a::b`, `crate::a::{b, c}`, `super::x`), itself excluded.
fn imports(
    modules: &BTreeMap<Vec<String>, String>,
) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let names: BTreeSet<Vec<String>> = modules.keys().cloned().collect();
    let comment = Regex::new(r"//[^\n]*").unwrap();
    let crate_path = Regex::new(r"crate::([A-Za-z_][\w:]*)(::\{([^}]*)\})?").unwrap();
    let super_path = Regex::new(r"\bsuper::([A-Za-z_][\w:]*)").unwrap();
    let split = |s: &str| -> Vec<String> {
        s.split("::")
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect()
    };
    let mut edges = BTreeMap::new();
    for (module, text) in modules {
        let text = comment.replace_all(text, "");
        let mut targets: Vec<Vec<String>> = Vec::new();
        for c in crate_path.captures_iter(&text) {
            let base = split(&c[1]);
            targets.push(base.clone());
            for part in c.get(3).map(|m| m.as_str()).unwrap_or("").split(',') {
                let part = part.trim().split(" as ").next().unwrap_or("");
                if !part.is_empty() && part != "self" {
                    targets.push([base.clone(), split(part)].concat());
                }
            }
        }
        for c in super_path.captures_iter(&text) {
            let parent = &module[..module.len().saturating_sub(1)];
            targets.push([parent.to_vec(), split(&c[1])].concat());
        }
        let found: BTreeSet<Vec<String>> = targets
            .iter()
            .filter_map(|t| resolve(&names, t))
            .filter(|t| t != module)
            .collect();
        edges.insert(module.clone(), found);
    }
    edges
}

/// The sibling modules an import between `a` and `b` connects (`sources` and `sinks` for
/// `sources::billing` → `sinks::tables`); `None` when one contains the other.
fn siblings(a: &[String], b: &[String]) -> Option<(Vec<String>, Vec<String>)> {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if common == a.len() || common == b.len() {
        return None;
    }
    Some((a[..=common].to_vec(), b[..=common].to_vec()))
}

/// Cycles among sibling modules at every level, each as its members with one import per edge.
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<String> {
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut why: BTreeMap<(Vec<String>, Vec<String>), String> = BTreeMap::new();
    for (a, targets) in edges {
        for b in targets {
            if let Some((x, y)) = siblings(a, b) {
                graph.entry(x.clone()).or_default().insert(y.clone());
                why.entry((x, y))
                    .or_insert_with(|| format!("{} -> {}", a.join("::"), b.join("::")));
            }
        }
    }
    // A node is on a cycle when it reaches itself; report each such node with its witnesses.
    let reaches = |from: &Vec<String>| -> BTreeSet<Vec<String>> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Vec<String>> = graph.get(from).into_iter().flatten().cloned().collect();
        while let Some(n) = stack.pop() {
            if seen.insert(n.clone()) {
                stack.extend(graph.get(&n).into_iter().flatten().cloned());
            }
        }
        seen
    };
    let mut found = Vec::new();
    for node in graph.keys() {
        if reaches(node).contains(node) {
            let out: Vec<&String> = graph[node]
                .iter()
                .filter(|n| reaches(n).contains(node))
                .filter_map(|n| why.get(&(node.clone(), n.clone())))
                .collect();
            found.push(format!("{} on a cycle via {out:?}", node.join("::")));
        }
    }
    found
}

#[test]
fn modules_import_each_other_without_cycles() {
    let found = cycles(&imports(&modules()));
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let m = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    let mut edges = BTreeMap::new();
    edges.insert(m("sources::billing"), BTreeSet::from([m("sinks::tables")]));
    edges.insert(m("sinks::manifest"), BTreeSet::from([m("sources::files")]));
    edges.insert(m("plan"), BTreeSet::from([m("sources")]));
    let found = cycles(&edges);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("sinks::manifest -> sources::files"),
        "{found:?}"
    );
}

#[test]
fn no_function_is_over_100_lines_outside_the_sample_generator() {
    let start = Regex::new(r"^(\s*)(pub(\([^)]*\))? )?(const )?(async )?fn (\w+)").unwrap();
    let mut long = Vec::new();
    for (module, text) in modules() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(c) = start.captures(line) else {
                continue;
            };
            if line.trim_end().ends_with(';') {
                continue;
            }
            let indent = c[1].len();
            let end = lines[i + 1..]
                .iter()
                .position(|l| {
                    l.len() > indent
                        && l[indent..].starts_with('}')
                        && l[..indent].trim().is_empty()
                })
                .map_or(lines.len(), |p| i + 1 + p);
            if end - i + 1 > 100 {
                long.push(format!(
                    "{}::{} ({} lines)",
                    module.join("::"),
                    &c[6],
                    end - i + 1
                ));
            }
        }
    }
    assert!(long.is_empty(), "functions over 100 lines: {long:?}");
}

/// The text of `file` (relative to the repository) between `<!-- NAME:begin ... -->` and
/// `<!-- NAME:end -->`; with `UPDATE_DOCS=1` a generated section (`wanted`) is rewritten instead
/// (under a lock: the tests run in parallel).
fn doc_section(file: &str, name: &str, wanted: Option<&str>) -> String {
    static DOCS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = DOCS.lock().unwrap_or_else(|e| e.into_inner());
    let path = repo().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let begin = text
        .find(&format!("<!-- {name}:begin"))
        .unwrap_or_else(|| panic!("{file}: no {name}:begin marker"));
    let body = begin + text[begin..].find("-->\n").unwrap() + 4;
    let end = text
        .find(&format!("<!-- {name}:end -->"))
        .unwrap_or_else(|| panic!("{file}: no {name}:end marker"));
    if let (Some(wanted), Some(_)) = (wanted, std::env::var_os("UPDATE_DOCS")) {
        let updated = format!("{}{wanted}{}", &text[..body], &text[end..]);
        std::fs::write(&path, updated).unwrap();
        return wanted.to_string();
    }
    text[body..end].to_string()
}

/// Every Markdown document of the tree a reader is sent to: README.md, CONTRIBUTING.md,
/// benches/RESULTS.md and every `.md` under docs/ (relative paths, sorted).
fn documents() -> Vec<String> {
    let mut out = vec![
        "README.md".to_string(),
        "CONTRIBUTING.md".to_string(),
        "benches/RESULTS.md".to_string(),
    ];
    out.extend(files_under("docs", "md"));
    out.sort();
    out
}

/// Every file with extension `ext` below the repository's folder `dir` (relative paths, sorted).
fn files_under(dir: &str, ext: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![repo().join(dir)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                let rel = path.strip_prefix(repo()).unwrap();
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn docs_parameter_table_is_the_declared_parameter_table() {
    let wanted = cipwatch::config::profile::markdown_table().unwrap();
    assert_generated(
        "docs/configuration.md",
        "parameters",
        &wanted,
        "src/config/parameters.rs",
    );
}

#[test]
fn docs_list_the_tables_registered_for_the_queries_and_query_headers_name_only_those() {
    let registered = cipwatch::transforms::REGISTERED_TABLES;
    let wanted = format!(
        "Tables registered before the queries: `{}`.\n",
        registered.join(", ")
    );
    assert_generated(
        "docs/documents.md",
        "tables",
        &wanted,
        "src/transforms/mod.rs",
    );
    let mut known: BTreeSet<String> = registered.iter().map(|t| t.to_string()).collect();
    let set = cipwatch::transforms::queries::load(None).unwrap();
    let bracketed = Regex::new(r"\([^)]*\)").unwrap();
    for q in &set.queries {
        let inputs = q
            .sql
            .lines()
            .find_map(|l| l.strip_prefix("-- Inputs:"))
            .unwrap_or_else(|| panic!("{}: no Inputs header", q.file_name()));
        let unbracketed = bracketed.replace_all(inputs, "");
        for table in unbracketed
            .split(',')
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
        {
            let table = table.split_whitespace().next().unwrap();
            assert!(
                known.contains(table),
                "{}: Inputs names '{table}', neither registered nor an earlier query's",
                q.file_name()
            );
        }
        known.insert(q.name.clone());
    }
}

#[test]
fn contributing_source_tree_names_every_top_level_module_and_only_existing_paths() {
    let tree = doc_section("CONTRIBUTING.md", "tree", None);
    let paths: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|p| p.contains('/'))
        .collect();
    for p in &paths {
        assert!(
            repo().join(p).exists(),
            "CONTRIBUTING.md's tree names {p}, which does not exist"
        );
    }
    for entry in std::fs::read_dir(repo().join("src")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let listed = paths
            .iter()
            .any(|p| p.trim_end_matches('/') == format!("src/{}", name.trim_end_matches('/')));
        assert!(listed, "CONTRIBUTING.md's tree does not list src/{name}");
    }
}

#[test]
fn every_source_path_the_docs_name_exists() {
    let path = Regex::new(r"`((?:src|queries|templates|tests|benches)/[A-Za-z0-9_./-]*)`").unwrap();
    let mut missing = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(repo().join(&doc)).unwrap();
        missing.extend(
            path.captures_iter(&text)
                .map(|c| c.get(1).unwrap().as_str().to_string())
                // Name patterns (`queries/NN_name.sql`, `queries/11_…`) are not paths.
                .filter(|p| !p.contains("NN") && !p.ends_with('_'))
                .filter(|p| !repo().join(p).exists())
                .map(|p| format!("{doc}: {p}")),
        );
    }
    assert!(
        missing.is_empty(),
        "the docs name paths that do not exist: {missing:?}"
    );
}

#[test]
fn every_relative_link_in_the_docs_reaches_a_file_and_readme_links_every_doc() {
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut broken = Vec::new();
    let mut from_readme = BTreeSet::new();
    for doc in documents() {
        let text = std::fs::read_to_string(repo().join(&doc)).unwrap();
        let dir = Path::new(&doc).parent().unwrap();
        for c in link.captures_iter(&text) {
            let target = c.get(1).unwrap().as_str();
            let file = target.split('#').next().unwrap();
            if file.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let resolved = repo().join(dir).join(file);
            if !resolved.exists() {
                broken.push(format!("{doc}: {target}"));
            } else if doc == "README.md" {
                let rel = resolved.canonicalize().unwrap();
                from_readme.insert(rel);
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to files that do not exist: {broken:?}"
    );
    let unlinked: Vec<String> = documents()
        .into_iter()
        .filter(|d| d != "README.md")
        .filter(|d| !from_readme.contains(&repo().join(d).canonicalize().unwrap()))
        .collect();
    assert!(
        unlinked.is_empty(),
        "README.md links no page of: {unlinked:?}"
    );
}

/// The column lists of docs/outputs.md are the declarations of the published tables and of the
/// query results read after the queries.
#[test]
fn docs_column_tables_are_the_declared_tables() {
    use cipwatch::transforms::rows::certification::*;
    use cipwatch::transforms::rows::{
        ENTITIES, FLAGS, SCREENING, TRAINING_RUNS, USAGE_BY_TYPE, USAGE_SLOTS,
    };
    for table in [
        FLAGS,
        TRAINING_RUNS,
        USAGE_BY_TYPE,
        ENTITIES,
        SCREENING,
        USAGE_SLOTS,
        CERT_CUSTOMERS_BY_COUNTRY,
        CERT_FOREIGN_OWNERS_BY_COUNTRY,
        CERT_UNVERIFIED_FOREIGN,
        CERT_VERIFICATION_STATS,
        CERT_FOREIGN_RESELLERS,
        CERT_FAILED_VERIFICATIONS,
        CERT_RETENTION,
        CERT_RECONCILIATION,
    ] {
        assert_generated(
            "docs/outputs.md",
            &format!("table-{}", table.name),
            &table.markdown(),
            "src/transforms/rows/",
        );
    }
}

/// The CIP registry's column lists in docs/inputs.md are the registry tables' declarations.
#[test]
fn docs_registry_tables_are_the_declared_tables() {
    for table in cipwatch::sources::registry::REGISTRY {
        let section = format!("registry-{}", table.name);
        assert_generated(
            "docs/inputs.md",
            &section,
            &table.markdown(),
            "src/sources/registry.rs",
        );
    }
}

/// Asserts that the generated `section` of the document `file` is `wanted` (made from the
/// declarations in `source`); with `UPDATE_DOCS` set, rewrites it.
fn assert_generated(file: &str, section: &str, wanted: &str, source: &str) {
    assert_eq!(
        doc_section(file, section, Some(wanted)),
        wanted,
        "{file}'s {section} differs from its declaration in {source}: UPDATE_DOCS=1 cargo test --test integration architecture"
    );
}

/// Every `.rs` file under src/ (relative paths) with its text.
fn source_files() -> Vec<(String, String)> {
    files_under("src", "rs")
        .into_iter()
        .map(|rel| {
            let text = std::fs::read_to_string(repo().join(&rel)).unwrap();
            (rel, text)
        })
        .collect()
}

/// The environment is read in one place: `config::env` declares every variable, the docs' table
/// of them is generated from it, and no other file calls `std::env::var` (but for `PATH`, to find
/// the browser).
#[test]
fn environment_variables_are_declared_once_and_documented() {
    let wanted = cipwatch::config::env::docs_table();
    assert_generated(
        "docs/operations.md",
        "environment",
        &wanted,
        "src/config/env.rs",
    );
    let call = Regex::new(r#"std::env::var(_os)?\(([^)]*)\)"#).unwrap();
    for (file, text) in source_files() {
        if file == "src/config/env.rs" {
            continue;
        }
        for c in call.captures_iter(&text) {
            assert_eq!(
                &c[2], "\"PATH\"",
                "{file} reads the environment itself: {}",
                &c[0]
            );
        }
    }
}
