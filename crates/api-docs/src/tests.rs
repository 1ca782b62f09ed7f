//! The reference of the workspace's own contracts: complete, and every link lands on a heading.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use crate::render::{Reference, slug};
use crate::{contracts, documented};

fn workspace_pages() -> (prost_types::FileDescriptorSet, BTreeMap<String, String>) {
    let proto = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let set = contracts(&proto).expect("the contracts compile");
    let pages = Reference::new(&documented(&set)).pages();
    (set, pages)
}

/// The anchors of a page's headings, numbered as GitHub numbers repeats.
fn anchors(page: &str) -> HashSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = HashSet::new();
    let mut in_code = false;
    for line in page.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let base = slug(line.trim_start_matches('#').trim());
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

#[test]
fn every_service_rpc_message_and_enum_has_its_heading() {
    let (set, pages) = workspace_pages();
    let files = documented(&set);
    assert!(files.len() >= 6, "the six contract files are documented");
    for file in files {
        let area = file.package().split('.').nth(1).unwrap();
        let page = &pages[&format!("{area}.md")];
        for s in &file.service {
            assert!(pages["README.md"].contains(&format!("{}.{}", file.package(), s.name())));
            for m in &s.method {
                assert!(
                    page.contains(&format!("\n### {}\n", m.name())),
                    "{}",
                    m.name()
                );
            }
        }
        for m in &file.message_type {
            assert!(
                page.contains(&format!("\n### {}\n", m.name())),
                "{}",
                m.name()
            );
        }
        for e in &file.enum_type {
            assert!(
                page.contains(&format!("\n### {}\n", e.name())),
                "{}",
                e.name()
            );
        }
    }
    assert!(
        !pages.contains_key("bench.md"),
        "the load-test echo is not for integrators"
    );
}

#[test]
fn every_link_between_pages_lands_on_a_heading() {
    let (_, pages) = workspace_pages();
    let by_page: HashMap<&str, HashSet<String>> = pages
        .iter()
        .map(|(name, text)| (name.as_str(), anchors(text)))
        .collect();
    let mut checked = 0;
    for (name, text) in &pages {
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap()];
            if target.starts_with("http") || target.starts_with("../") {
                continue;
            }
            let (page, anchor) = target.split_once('#').unwrap_or((target, ""));
            let page = if page.is_empty() { name.as_str() } else { page };
            let headings = by_page
                .get(page)
                .unwrap_or_else(|| panic!("{name}: link to a missing page {target}"));
            assert!(
                anchor.is_empty() || headings.contains(anchor),
                "{name}: link {target} names no heading"
            );
            checked += 1;
        }
    }
    assert!(checked > 500, "links checked: {checked}");
}

#[test]
fn every_rpc_of_the_contracts_says_who_may_call_it_and_what_it_refuses() {
    let proto = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let set = contracts(&proto).expect("the contracts compile");
    let missing = Reference::new(&documented(&set)).undocumented_rpcs();
    assert!(missing.is_empty(), "{missing:#?}");
}
