//! `harness versions` and `harness features`: what the registry publishes, what the store holds,
//! and what an installed version can do.

use std::process::ExitCode;
use std::time::Instant;

use harness::clients::catalog::{self, ClientKind};
use harness::store::features::{self, FeatureCache, Features};
use harness::store::registry::{self, Selection, Source, LISTING_MAX_AGE};
use harness::store::usage::now_secs;
use harness::store::versions::{format_size, VersionStore};
use serde_json::json;

fn print_json(value: &serde_json::Value) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("harness: cannot write JSON: {e}");
            ExitCode::from(2)
        }
    }
}

pub struct VersionsArgs {
    pub range: Option<String>,
    pub last: Option<usize>,
    pub since: Option<String>,
    pub json: bool,
    pub refresh: bool,
    pub installed: bool,
}

pub fn versions(store: &VersionStore, args: VersionsArgs) -> ExitCode {
    if args.installed {
        return installed(store, args.json);
    }
    let started = Instant::now();
    let (listing, source) =
        match registry::listing(store.root(), store.package(), LISTING_MAX_AGE, args.refresh) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("harness: {e}");
                return ExitCode::from(2);
            }
        };
    let selection = Selection {
        range: args.range,
        since: args.since,
        last: args.last,
    };
    let picked = match listing.select(&selection) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    let installed: Vec<String> = store
        .entries()
        .map(|entries| entries.into_iter().map(|e| e.version).collect())
        .unwrap_or_default();
    let source_text = match source {
        Source::Registry => "fetched from".to_owned(),
        Source::Cache => format!(
            "cached {} s ago (--refresh to ask again) from",
            now_secs().saturating_sub(listing.fetched_at)
        ),
        Source::StaleCache => "an old cached listing (the registry was unreachable) of".to_owned(),
    };
    if args.json {
        let versions: Vec<_> = picked
            .iter()
            .map(|p| {
                json!({
                    "version": p.version,
                    "published": p.published,
                    "installed": installed.contains(&p.version),
                })
            })
            .collect();
        return print_json(&json!({
            "package": listing.package,
            "registry": listing.registry,
            "source": source,
            "fetched_at": listing.fetched_at,
            "latest": listing.latest,
            "published_count": listing.versions.len(),
            "versions": versions,
        }));
    }
    eprintln!(
        "harness: {}: {} published, latest {}; {source_text} {} in {:.2} s",
        store.package().npm,
        listing.versions.len(),
        listing.latest.as_deref().unwrap_or("?"),
        listing.registry,
        started.elapsed().as_secs_f64()
    );
    for p in &picked {
        let mut marks = Vec::new();
        if listing.latest.as_deref() == Some(p.version.as_str()) {
            marks.push("latest");
        }
        if installed.contains(&p.version) {
            marks.push("installed");
        }
        println!(
            "{:<14} {}  {}",
            p.version,
            p.date().unwrap_or("????-??-??"),
            marks.join(", ")
        );
    }
    eprintln!(
        "harness: {} of {} versions shown, in release (version-number) order",
        picked.len(),
        listing.versions.len()
    );
    ExitCode::SUCCESS
}

fn installed(store: &VersionStore, json_out: bool) -> ExitCode {
    let entries = match store.entries() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    let total: u64 = entries.iter().map(|e| e.size_bytes).sum();
    let cached_features = |dir: &std::path::Path| -> Option<Features> {
        FeatureCache::at(dir.join(features::FEATURES_FILE))
            .load()
            .ok()
            .flatten()
    };
    if json_out {
        let list: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({
                    "version": e.version,
                    "dir": e.dir,
                    "packaging": e.packaging,
                    "size_bytes": e.size_bytes,
                    "last_used": e.last_used,
                    "in_use": e.in_use,
                    "features": cached_features(&e.dir),
                })
            })
            .collect();
        return print_json(&json!({
            "store": store.root(),
            "cap_bytes": store.cap(),
            "total_bytes": total,
            "versions": list,
        }));
    }
    println!(
        "version store {} · {} in {} version(s) · cap {}",
        store.root().display(),
        format_size(total),
        entries.len(),
        store
            .cap()
            .map(format_size)
            .unwrap_or_else(|| "none".to_owned())
    );
    // Most recently used first, as people read it; eviction takes from the bottom.
    for e in entries.iter().rev() {
        let packaging = match e.packaging {
            Some(harness::store::package::Packaging::NativeBinary) => "native",
            Some(harness::store::package::Packaging::NodeScript) => "cli.js",
            None => "?",
        };
        let probed = match cached_features(&e.dir) {
            Some(f) => format!("features probed {}", features::format_epoch(f.probed_at)),
            None => "features not probed yet".to_owned(),
        };
        println!(
            "  {:<12} {:<7} {:>9}  last used {}{}  · {probed}",
            e.version,
            packaging,
            format_size(e.size_bytes),
            e.last_used
                .map(features::format_epoch)
                .unwrap_or_else(|| "never".to_owned()),
            if e.in_use { "  · in use" } else { "" },
        );
    }
    ExitCode::SUCCESS
}

pub fn features_cmd(
    store: &VersionStore,
    kind: &'static ClientKind,
    version: &str,
    json_out: bool,
) -> ExitCode {
    let Some(probe) = kind.features else {
        eprintln!(
            "harness: {} has no feature probe; its scenarios find out what a version can do as they run",
            kind.name
        );
        return ExitCode::from(2);
    };
    let installed = match store.ensure(version) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    match probe(&installed) {
        Ok(found) => {
            if json_out {
                match serde_json::to_value(&found) {
                    Ok(v) => print_json(&v),
                    Err(e) => {
                        eprintln!("harness: cannot write JSON: {e}");
                        ExitCode::from(2)
                    }
                }
            } else {
                print!(
                    "{}",
                    found.render(FeatureCache::for_install(&installed).path())
                );
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("harness: {e}");
            ExitCode::from(2)
        }
    }
}

/// `harness clients`: every client the harness drives.
pub fn clients_cmd(json_out: bool) -> ExitCode {
    if json_out {
        let list: Vec<serde_json::Value> = catalog::ALL
            .iter()
            .map(|k| {
                json!({
                    "client": k.name,
                    "summary": k.summary,
                    "package": k.package.npm,
                    "pinned": k.package.pinned,
                    "version_env": k.package.version_env,
                    "login_paths": k.login_paths.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                    "model_wire": k.model_wire,
                    "configured_by": k.configured_by,
                    "token_store": k.token_store,
                    "reference": k.reference,
                })
            })
            .collect();
        return print_json(&serde_json::Value::Array(list));
    }
    for k in catalog::ALL {
        println!("{:<12} {}", k.name, k.summary);
        println!(
            "{:<12} package {}, pinned {} ({} overrides it)",
            "", k.package.npm, k.package.pinned, k.package.version_env
        );
        let paths: Vec<&str> = k.login_paths.iter().map(|p| p.as_str()).collect();
        println!("{:<12} login paths: {}", "", paths.join(", "));
        println!(
            "{:<12} model API {}; servers configured by {}; tokens in ~/{}",
            "",
            k.model_wire.describe(),
            k.configured_by,
            k.token_store
        );
        if k.reference {
            println!(
                "{:<12} reference client: no model; when an agent fails a check both reference clients pass on the same server, the fault is likely the agent's",
                ""
            );
        }
    }
    ExitCode::SUCCESS
}
