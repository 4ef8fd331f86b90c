//! Contracts of the repository itself: it stands on its own (nothing reads a
//! path outside it) and every rule code the code cites is defined in
//! `docs/RULES.md`, with tests that exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::repo_root;

/// Every file of the checkout, without build output and git's own folder.
fn repo_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != ".git" {
                out.extend(repo_files(&path));
            }
        } else {
            out.push(path);
        }
    }
    out
}

/// The files that code, tests, benches and scripts consist of: everything
/// that could read a path at build, test or run time.
fn code_files(root: &Path) -> Vec<PathBuf> {
    repo_files(root)
        .into_iter()
        .filter(|path| {
            let relative = path.strip_prefix(root).unwrap_or(path);
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let script = relative.starts_with("scripts") || relative.starts_with(".ci");
            script || matches!(ext, "rs" | "toml" | "py" | "sh" | "yml" | "yaml")
        })
        .collect()
}

/// The directory a relative path in `file` is resolved against: a Rust
/// file's package (tests and `include_str!` paths join `CARGO_MANIFEST_DIR`),
/// the repository root for scripts (they `cd` there first), and the file's
/// own folder for everything else (compose files, configuration).
fn base_of(root: &Path, file: &Path) -> PathBuf {
    let relative = file.strip_prefix(root).unwrap_or(file);
    if relative.starts_with("scripts") || relative.starts_with(".ci") {
        return root.to_path_buf();
    }
    let folder = file.parent().unwrap_or(root);
    if file.extension().is_some_and(|e| e == "rs") {
        return folder
            .ancestors()
            .take_while(|dir| dir.starts_with(root))
            .find(|dir| dir.join("Cargo.toml").is_file())
            .map_or_else(|| root.to_path_buf(), Path::to_path_buf);
    }
    folder.to_path_buf()
}

/// Each run of `../` in `text` with the path it starts.
fn parent_references(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("../").map(|i| i + from) {
        // The whole path: back to its start, forward to its end.
        let is_path = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-');
        let start = text[..at].char_indices().rev().find(|&(_, c)| !is_path(c)).map_or(0, |(i, c)| i + c.len_utf8());
        let end = text[at..].char_indices().find(|&(_, c)| !is_path(c)).map_or(text.len(), |(i, _)| at + i);
        let line = text[..at].matches('\n').count() + 1;
        out.push((line, text[start..end].to_owned()));
        from = end.max(at + 3);
    }
    out
}

/// Whether `reference`, read from `base`, leaves `root`.
fn escapes(root: &Path, base: &Path, reference: &str) -> bool {
    let mut depth = base.strip_prefix(root).map_or(0, |inside| inside.components().count());
    for part in reference.trim_start_matches("./").split('/') {
        match part {
            ".." if depth == 0 => return true,
            ".." => depth -= 1,
            "" | "." => {}
            _ => depth += 1,
        }
    }
    false
}

/// CI may point cargo-deny at an advisory database beside the checkout, and
/// only there (the machines that run it cannot fetch one).
fn allowed(file: &Path, reference: &str) -> bool {
    file.ends_with(".ci/run") && reference.contains("shared/advisory-db")
}

#[test]
fn nothing_reads_a_path_outside_the_repository() {
    let root = repo_root();
    let mut outside = Vec::new();
    for file in code_files(&root) {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let base = base_of(&root, &file);
        let own_folder = file.parent().unwrap_or(&root).to_path_buf();
        for (line, reference) in parent_references(&text) {
            // `include_str!("../x")` is relative to the file that says it.
            let literal_include = text.contains(&format!("include_str!(\"{reference}"))
                || text.contains(&format!("include_bytes!(\"{reference}"));
            let base = if literal_include { &own_folder } else { &base };
            if escapes(&root, base, &reference) && !allowed(&file, &reference) {
                outside.push(format!("{}:{line}: {reference}", file.strip_prefix(&root).unwrap_or(&file).display()));
            }
        }
    }
    assert!(outside.is_empty(), "paths outside the repository:\n{}", outside.join("\n"));
}

#[test]
fn the_outside_path_check_sees_a_reference_out_of_a_crate() {
    // The check above must be able to fail: the kind of reference this
    // repository once had, from a crate's tests to a folder beside it.
    let root = repo_root();
    let crate_dir = root.join("crates/onrust-ingest");
    // Built at run time so that this file does not itself hold such a path.
    let up = ["..", "..", ".."].join("/");
    let text = format!(r#"include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/{up}/shared/fixtures/x.jsonl"))"#);
    let found = parent_references(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(escapes(&root, &crate_dir, &found[0].1));
    assert!(!escapes(&root, &crate_dir, "/../../tests/fixtures/x.jsonl"));
    assert!(escapes(&root, &root, &format!("{}/shared/data", "..")));
    let compose = root.join("docker/compose.yaml");
    assert!(!escapes(&root, &base_of(&root, &compose), &format!("{}/dashboards/x.json", "..")));
    assert_eq!(base_of(&root, &crate_dir.join("src/bluesky/mod.rs")), crate_dir);
}

/// Rule codes as the code cites them: L1–L13, S1–S11, R1–R10 and anything
/// that looks like one.
fn cited_codes(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut out = BTreeSet::new();
    for (i, &b) in bytes.iter().enumerate() {
        if !matches!(b, b'L' | b'S' | b'R') {
            continue;
        }
        let before_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || matches!(bytes[i - 1], b'_' | b'-' | b'.'));
        let digits = bytes[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let after = bytes.get(i + 1 + digits).copied();
        let after_ok = after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == b'_'));
        if before_ok && (1..=2).contains(&digits) && after_ok {
            out.insert(text[i..i + 1 + digits].to_owned());
        }
    }
    out
}

/// The rulebook's rows: code → the test names (or check scripts) in its `shown by` cell, and the cell.
fn rulebook(text: &str) -> Vec<(String, Vec<String>, String)> {
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
            let [code, _rule, shown_by] = cells.as_slice() else { return None };
            let code = code.trim_matches('`');
            let well_formed = code.len() >= 2
                && matches!(code.as_bytes()[0], b'L' | b'S' | b'R')
                && code[1..].bytes().all(|b| b.is_ascii_digit());
            if !well_formed {
                return None;
            }
            // Backticked test names, and backticked repository paths (a check
            // that is a step of scripts/test rather than a test function).
            let tests = shown_by
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|name| {
                    name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/' | b'.' | b'-'))
                })
                .map(str::to_owned)
                .collect();
            Some((code.to_owned(), tests, (*shown_by).to_owned()))
        })
        .collect()
}

#[test]
fn every_rule_the_code_cites_is_in_the_rulebook_with_tests_that_exist() {
    let root = repo_root();
    let rules_text = std::fs::read_to_string(root.join("docs/RULES.md")).expect("docs/RULES.md");
    let rows = rulebook(&rules_text);
    let defined: BTreeSet<String> = rows.iter().map(|(code, _, _)| code.clone()).collect();
    assert_eq!(defined.len(), rows.len(), "a rule code is defined twice in docs/RULES.md");

    // Every test function of the repository, by name.
    let mut test_names = BTreeSet::new();
    let mut cited = BTreeSet::new();
    for file in repo_files(&root) {
        let relative = file.strip_prefix(&root).unwrap_or(&file);
        if relative == Path::new("docs/RULES.md") {
            continue;
        }
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "rs" | "md" | "toml") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        // Rule codes are cited in comments and docs; fixtures are data.
        if !relative.starts_with("tests/fixtures") && !relative.starts_with("config/gazetteer") {
            cited.extend(cited_codes(&text));
        }
        if ext == "rs" {
            // A test function: `fn name` within a few lines after `#[test]` or `#[tokio::test…]`.
            let mut since_attribute = usize::MAX;
            for line in text.lines() {
                let line = line.trim_start();
                if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
                    since_attribute = 0;
                    continue;
                }
                since_attribute = since_attribute.saturating_add(1);
                let signature = line.strip_prefix("fn ").or_else(|| line.strip_prefix("async fn "));
                if let Some(rest) = signature.filter(|_| since_attribute <= 3) {
                    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    test_names.insert(name);
                }
            }
        }
    }
    let undefined: Vec<&String> = cited.iter().filter(|code| !defined.contains(*code)).collect();
    assert!(undefined.is_empty(), "rule codes cited but not defined in docs/RULES.md: {undefined:?}");

    let mut problems = Vec::new();
    for (code, tests, shown_by) in &rows {
        if tests.is_empty() && !shown_by.starts_with("not built yet") {
            problems.push(format!("{code}: names no test (or say `not built yet`)"));
        }
        for test in tests {
            let is_path = test.contains('/') || test.contains('.');
            let exists = if is_path { root.join(test).exists() } else { test_names.contains(test) };
            if !exists {
                problems.push(format!("{code}: `{test}` is neither a test function nor a file of the repository"));
            }
        }
    }
    assert!(problems.is_empty(), "docs/RULES.md:\n{}", problems.join("\n"));
}

#[test]
fn rule_codes_are_found_where_they_are_cited_and_nowhere_else() {
    let found = cited_codes("rule L4: skip; (R1) and S10, not PC4, L1A, x_S2, L123 or WGS84.");
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["L4", "R1", "S10"]);
    let rows = rulebook(
        "| code | rule | shown by |\n|---|---|---|\n| L2 | pseudonyms | `a_test` (x.rs), `b_test` |\n| L5 | mandates | not built yet |",
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].1, ["a_test", "b_test"]);
    assert!(rows[1].1.is_empty());
}

/// The workspace crates and the workspace crates each one depends on (normal
/// dependencies), as `cargo metadata` reports them.
fn crate_graph_from_cargo(root: &Path) -> BTreeSet<(String, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(root)
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata json");
    let packages = meta["packages"].as_array().expect("packages");
    packages
        .iter()
        .map(|p| {
            let mut deps: Vec<String> = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["path"].is_string() && d["kind"].is_null())
                .filter_map(|d| d["name"].as_str().map(str::to_owned))
                .collect();
            deps.sort();
            deps.dedup();
            (p["name"].as_str().unwrap_or_default().to_owned(), deps)
        })
        .collect()
}

/// The crate table of docs/ARCHITECTURE.md ("Crates"): crate → its workspace dependencies.
fn crate_graph_from_docs(text: &str) -> BTreeSet<(String, Vec<String>)> {
    let section = text.split("\n## Crates\n").nth(1).and_then(|rest| rest.split("\n## ").next()).unwrap_or("");
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
            let name = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            let mut deps: Vec<String> = cells
                .get(1)?
                .split(',')
                .map(|d| d.trim().trim_matches('`').to_owned())
                .filter(|d| !d.is_empty() && d != "–")
                .collect();
            deps.sort();
            Some((name.to_owned(), deps))
        })
        .collect()
}

#[test]
fn the_crate_graph_in_the_docs_is_the_real_one() {
    let root = repo_root();
    let docs = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("docs/ARCHITECTURE.md");
    let documented = crate_graph_from_docs(&docs);
    let real = crate_graph_from_cargo(&root);
    assert!(documented.len() >= 8, "the crate table was not found: {documented:?}");
    let missing: Vec<_> = real.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&real).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/ARCHITECTURE.md \"Crates\" differs from cargo metadata\nreal, not documented: {missing:?}\ndocumented, not real: {stale:?}"
    );
}
