//! The published versions of the CLI, from the npm registry's package document, with their
//! publish dates; cached briefly in the version store so repeated listings are instant.
//!
//! Versions are listed in release order, which is version-number order (semver precedence):
//! publish dates are not monotonic in it (older lines get patch releases; mirrors rewrite
//! dates), so a date is shown beside each version and `--since` filters on it, but never orders.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::package::ClientPackage;
use crate::store::usage::now_secs;
use crate::store::version_number::{compare_versions, is_exact_version};

/// The registry when npm's own setting is absent.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org/";

/// How long a fetched listing is reused before the registry is asked again.
pub const LISTING_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// Bound on fetching the package document (about 0.7 MB).
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach the npm registry at {url}: {source}; check the network (or set npm_config_registry to a mirror) and retry")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the npm registry answered {status} for {url}")]
    Status { url: String, status: u16 },
    #[error("the npm registry's document for {package} is not what was expected: {message}")]
    Malformed {
        package: &'static str,
        message: String,
    },
    #[error("`{0}` is not a date: give one as YYYY-MM-DD")]
    BadDate(String),
    #[error("`{0}` is not a range: write FROM..TO with exact versions, either side may be left out (2.1.100..2.1.331, 2.1.300.., ..2.1.90)")]
    BadRange(String),
    #[error("{version} is not a published, installable version of {package}; run `harness versions` (or `harness versions --last 20`) to see the versions that exist")]
    UnknownVersion { package: String, version: String },
    #[error("registry listing cache at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One published version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub version: String,
    /// The publish time as the registry states it (RFC 3339), when it states one.
    pub published: Option<String>,
}

impl Published {
    /// `YYYY-MM-DD` of the publish time, in the offset the registry wrote it (UTC in practice).
    pub fn date(&self) -> Option<&str> {
        self.published.as_deref().and_then(|p| p.get(..10))
    }
}

/// The registry's list of versions, in release order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listing {
    pub package: String,
    pub registry: String,
    /// Seconds since the Unix epoch when the listing was fetched.
    pub fetched_at: u64,
    /// The `latest` dist-tag.
    pub latest: Option<String>,
    pub versions: Vec<Published>,
    /// Published versions left out because their platform build is missing from the registry:
    /// npm installs them without complaint, and they cannot run.
    #[serde(default)]
    pub not_installable: Vec<String>,
}

#[derive(Deserialize)]
struct PackageDocument {
    #[serde(default)]
    versions: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    time: serde_json::Map<String, serde_json::Value>,
    #[serde(rename = "dist-tags", default)]
    dist_tags: serde_json::Map<String, serde_json::Value>,
}

/// The registry npm would use: `npm_config_registry` (either case), else the public one.
pub fn registry_url() -> String {
    let configured = ["npm_config_registry", "NPM_CONFIG_REGISTRY"]
        .iter()
        .find_map(|k| std::env::var(k).ok())
        .filter(|v| !v.trim().is_empty());
    let mut url = configured.unwrap_or_else(|| DEFAULT_REGISTRY.to_owned());
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

/// Where a platform build lives, as [`ClientPackage::platform_build`] names it: another version of
/// the same package (`0.171.0-linux-x64`), or a version of another package
/// (`@github/copilot-linux-x64@1.0.102`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildRef<'a> {
    SamePackage(&'a str),
    OtherPackage { npm: &'a str, version: &'a str },
}

impl BuildRef<'_> {
    pub fn parse(build: &str) -> BuildRef<'_> {
        match build.rfind('@') {
            Some(at) if at > 0 => BuildRef::OtherPackage {
                npm: &build[..at],
                version: &build[at + 1..],
            },
            _ => BuildRef::SamePackage(build),
        }
    }
}

/// The published versions of each package that holds platform builds, by npm name.
pub type PlatformVersions = BTreeMap<String, BTreeSet<String>>;

/// Parses the registry's package document (the full one: the abbreviated form has no dates).
/// Platform builds published as other packages count as missing: [`fetch`] reads those packages
/// and calls [`parse_document_with`].
pub fn parse_document(
    registry: &str,
    package: &'static ClientPackage,
    body: &[u8],
) -> Result<Listing, RegistryError> {
    parse_document_with(registry, package, body, &PlatformVersions::new())
}

/// As [`parse_document`], with the versions of the packages that hold platform builds.
pub fn parse_document_with(
    registry: &str,
    package: &'static ClientPackage,
    body: &[u8],
    platform_versions: &PlatformVersions,
) -> Result<Listing, RegistryError> {
    let malformed = |message: String| RegistryError::Malformed {
        package: package.npm,
        message,
    };
    let doc: PackageDocument =
        serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))?;
    let build_exists = |build: &str| match BuildRef::parse(build) {
        BuildRef::SamePackage(v) => doc.versions.contains_key(v),
        BuildRef::OtherPackage { npm, version } => platform_versions
            .get(npm)
            .is_some_and(|versions| versions.contains(version)),
    };
    if doc.versions.is_empty() {
        return Err(malformed("it lists no versions".to_owned()));
    }
    let mut not_installable = Vec::new();
    let mut versions: Vec<Published> = doc
        .versions
        .keys()
        .filter(|v| is_exact_version(v))
        .filter(|v| package.prereleases || !v.contains('-'))
        .filter(|v| {
            // A platform build is itself a version (`0.171.0-linux-x64`): never a version to
            // run, and the version it belongs to runs only when it is there.
            let Some(build_of) = package.platform_build else {
                return true;
            };
            if doc
                .versions
                .keys()
                .any(|other| build_of(other).is_some_and(|b| &b == *v))
            {
                return false;
            }
            match build_of(v) {
                Some(build) if !build_exists(&build) => {
                    not_installable.push((*v).clone());
                    false
                }
                _ => true,
            }
        })
        .map(|v| Published {
            version: v.clone(),
            published: doc.time.get(v).and_then(|t| t.as_str()).map(str::to_owned),
        })
        .collect();
    versions.sort_by(|a, b| compare_versions(&a.version, &b.version));
    Ok(Listing {
        package: package.npm.to_owned(),
        registry: registry.to_owned(),
        fetched_at: now_secs(),
        latest: doc
            .dist_tags
            .get("latest")
            .and_then(|t| t.as_str())
            .map(str::to_owned),
        versions,
        not_installable,
    })
}

/// The names of the other packages `package`'s platform builds are published in, from its document.
fn platform_packages(package: &ClientPackage, body: &[u8]) -> BTreeSet<String> {
    let Some(build_of) = package.platform_build else {
        return BTreeSet::new();
    };
    let Ok(doc) = serde_json::from_slice::<PackageDocument>(body) else {
        return BTreeSet::new();
    };
    doc.versions
        .keys()
        .filter_map(|v| build_of(v))
        .filter_map(|b| match BuildRef::parse(&b) {
            BuildRef::OtherPackage { npm, .. } => Some(npm.to_owned()),
            BuildRef::SamePackage(_) => None,
        })
        .collect()
}

/// Fetches the listing from the registry now (and the version lists of the packages that hold its
/// platform builds, where they are other packages).
pub fn fetch(registry: &str, package: &'static ClientPackage) -> Result<Listing, RegistryError> {
    let body = fetch_document(registry, package.npm)?;
    let mut platform_versions = PlatformVersions::new();
    for npm in platform_packages(package, &body) {
        let other = fetch_document(registry, &npm)?;
        let doc: PackageDocument =
            serde_json::from_slice(&other).map_err(|e| RegistryError::Malformed {
                package: package.npm,
                message: format!("the document of its platform package {npm}: {e}"),
            })?;
        platform_versions.insert(npm, doc.versions.keys().cloned().collect());
    }
    parse_document_with(registry, package, &body, &platform_versions)
}

/// One package's full document.
fn fetch_document(registry: &str, npm: &str) -> Result<Vec<u8>, RegistryError> {
    let url = format!("{registry}{}", npm.replace('/', "%2f"));
    let unreachable = |source| RegistryError::Unreachable {
        url: url.clone(),
        source,
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .user_agent(concat!("mcp-reconnect-harness/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(unreachable)?;
    let response = client
        .get(&url)
        .header("Accept", "application/json")
        .send()
        .map_err(unreachable)?;
    let status = response.status();
    if !status.is_success() {
        return Err(RegistryError::Status {
            url,
            status: status.as_u16(),
        });
    }
    Ok(response.bytes().map_err(unreachable)?.to_vec())
}

/// Where a store keeps its cached listing.
pub fn listing_cache_path(store_root: &Path, package: &ClientPackage) -> PathBuf {
    store_root
        .join("registry")
        .join(format!("{}.json", package.client))
}

/// Where a listing came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Registry,
    Cache,
    /// The registry could not be reached; an older cached listing was used.
    StaleCache,
}

/// The listing, from the store's cache when younger than `max_age` (and not `refresh`), else from
/// the registry (and then cached). When the registry is unreachable an older cached listing is
/// used, and the caller is told so.
pub fn listing(
    store_root: &Path,
    package: &'static ClientPackage,
    max_age: Duration,
    refresh: bool,
) -> Result<(Listing, Source), RegistryError> {
    let registry = registry_url();
    let path = listing_cache_path(store_root, package);
    let cached: Option<Listing> = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Listing>(&bytes).ok())
        .filter(|l| l.registry == registry && l.package == package.npm);
    if let Some(listing) = &cached {
        let age = now_secs().saturating_sub(listing.fetched_at);
        if !refresh && age <= max_age.as_secs() {
            return Ok((listing.clone(), Source::Cache));
        }
    }
    match fetch(&registry, package) {
        Ok(listing) => {
            let io = |source| RegistryError::Io {
                path: path.clone(),
                source,
            };
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let tmp = path.with_extension(format!("json.{}", std::process::id()));
            let bytes = serde_json::to_vec(&listing).map_err(|e| io(std::io::Error::other(e)))?;
            std::fs::write(&tmp, bytes).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)?;
            Ok((listing, Source::Registry))
        }
        Err(error) => match cached {
            Some(listing) => {
                crate::say!("harness: {error}; using the listing cached {}", {
                    let age = now_secs().saturating_sub(listing.fetched_at);
                    format!("{} min ago", age / 60)
                });
                Ok((listing, Source::StaleCache))
            }
            None => Err(error),
        },
    }
}

/// Which versions to list.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `FROM..TO`, inclusive, either end optional.
    pub range: Option<String>,
    /// Published on or after this date (`YYYY-MM-DD`).
    pub since: Option<String>,
    /// Only the last N of what remains.
    pub last: Option<usize>,
}

fn check_date(date: &str) -> Result<(), RegistryError> {
    let b = date.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(RegistryError::BadDate(date.to_owned()))
    }
}

impl Listing {
    pub fn contains(&self, version: &str) -> bool {
        self.versions.iter().any(|p| p.version == version)
    }

    fn require(&self, version: &str) -> Result<(), RegistryError> {
        if !is_exact_version(version) {
            return Err(RegistryError::BadRange(version.to_owned()));
        }
        if self.contains(version) {
            Ok(())
        } else {
            Err(RegistryError::UnknownVersion {
                package: self.package.clone(),
                version: version.to_owned(),
            })
        }
    }

    /// The versions the selection picks, in release order.
    pub fn select(&self, selection: &Selection) -> Result<Vec<Published>, RegistryError> {
        let mut picked: Vec<Published> = self.versions.clone();
        if let Some(range) = &selection.range {
            let (from, to) = range
                .split_once("..")
                .ok_or_else(|| RegistryError::BadRange(range.clone()))?;
            let (from, to) = (from.trim(), to.trim());
            if from.is_empty() && to.is_empty() {
                return Err(RegistryError::BadRange(range.clone()));
            }
            if !from.is_empty() {
                self.require(from)?;
                picked.retain(|p| compare_versions(&p.version, from) != Ordering::Less);
            }
            if !to.is_empty() {
                self.require(to)?;
                picked.retain(|p| compare_versions(&p.version, to) != Ordering::Greater);
            }
        }
        if let Some(since) = &selection.since {
            check_date(since)?;
            picked.retain(|p| p.date().is_some_and(|d| d >= since.as_str()));
        }
        if let Some(n) = selection.last {
            let skip = picked.len().saturating_sub(n);
            picked.drain(..skip);
        }
        Ok(picked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static TEST_PACKAGE: ClientPackage = ClientPackage {
        client: "test-client",
        npm: "@example/test-client",
        pinned: "2.1.331",
        version_env: "TEST_CLIENT_VERSION",
        prereleases: true,
        platform_build: None,
        locate: |_| None,
    };

    /// As Codex publishes: each version's native build is a version of its own.
    static PLATFORM_BUILDS: ClientPackage = ClientPackage {
        client: "platform-builds",
        npm: "@example/platform-builds",
        pinned: "0.171.0",
        version_env: "PLATFORM_BUILDS_VERSION",
        prereleases: false,
        platform_build: Some(|v| (!v.contains('-')).then(|| format!("{v}-linux-x64"))),
        locate: |_| None,
    };

    #[test]
    fn a_version_whose_platform_build_is_missing_is_listed_as_not_installable(
    ) -> Result<(), RegistryError> {
        let doc = br#"{"versions": {"0.170.0": {}, "0.170.0-linux-x64": {}, "0.171.0": {},
            "0.172.0-alpha.1": {}, "0.172.0-alpha.1-linux-x64": {}},
            "time": {}, "dist-tags": {"latest": "0.171.0"}}"#;
        let listing = parse_document(DEFAULT_REGISTRY, &PLATFORM_BUILDS, doc)?;
        let versions: Vec<&str> = listing
            .versions
            .iter()
            .map(|p| p.version.as_str())
            .collect();
        assert_eq!(versions, ["0.170.0"]);
        assert_eq!(listing.not_installable, ["0.171.0"]);
        Ok(())
    }

    /// As Copilot CLI publishes: each version's native build is the same version of another
    /// package.
    static PLATFORM_PACKAGES: ClientPackage = ClientPackage {
        client: "platform-packages",
        npm: "@example/platform-packages",
        pinned: "1.0.102",
        version_env: "PLATFORM_PACKAGES_VERSION",
        prereleases: false,
        platform_build: Some(|v| Some(format!("@example/platform-packages-linux-x64@{v}"))),
        locate: |_| None,
    };

    #[test]
    fn a_version_whose_platform_package_is_missing_is_listed_as_not_installable(
    ) -> Result<(), RegistryError> {
        let doc = br#"{"versions": {"1.0.92": {}, "1.0.100": {}, "1.0.102": {}},
            "time": {}, "dist-tags": {"latest": "1.0.102"}}"#;
        assert_eq!(
            platform_packages(&PLATFORM_PACKAGES, doc),
            BTreeSet::from(["@example/platform-packages-linux-x64".to_owned()])
        );
        let mut platform = PlatformVersions::new();
        platform.insert(
            "@example/platform-packages-linux-x64".to_owned(),
            ["1.0.92", "1.0.102"].map(str::to_owned).into(),
        );
        let listing = parse_document_with(DEFAULT_REGISTRY, &PLATFORM_PACKAGES, doc, &platform)?;
        let versions: Vec<&str> = listing
            .versions
            .iter()
            .map(|p| p.version.as_str())
            .collect();
        assert_eq!(versions, ["1.0.92", "1.0.102"]);
        assert_eq!(listing.not_installable, ["1.0.100"]);
        // Without the platform package's versions, nothing can be shown to be installable.
        let listing = parse_document(DEFAULT_REGISTRY, &PLATFORM_PACKAGES, doc)?;
        assert!(listing.versions.is_empty());
        assert_eq!(listing.not_installable.len(), 3);
        Ok(())
    }

    #[test]
    fn a_build_names_another_package_only_by_a_version_after_an_at_sign() {
        assert_eq!(
            BuildRef::parse("0.171.0-linux-x64"),
            BuildRef::SamePackage("0.171.0-linux-x64")
        );
        assert_eq!(
            BuildRef::parse("@github/copilot-linux-x64@1.0.102"),
            BuildRef::OtherPackage {
                npm: "@github/copilot-linux-x64",
                version: "1.0.102"
            }
        );
    }

    const DOC: &str = r#"{
        "name": "@anthropic-ai/claude-code",
        "dist-tags": {"latest": "2.1.10"},
        "versions": {"2.1.9": {}, "0.2.14": {}, "2.1.10": {}, "2.1.10-beta.1": {}, "0.2.9": {}, "latest": {}},
        "time": {"created": "2025-02-24T00:00:00Z", "modified": "2026-11-24T00:00:00Z",
                 "0.2.9": "2026-07-23T07:40:04.771Z", "0.2.14": "2026-05-15T07:22:18.436Z",
                 "2.1.9": "2026-10-01T10:00:00Z", "2.1.10-beta.1": "2026-10-02T10:00:00Z",
                 "2.1.10": "2026-10-03T10:00:00Z"}
    }"#;

    fn listing() -> Listing {
        parse_document(DEFAULT_REGISTRY, &TEST_PACKAGE, DOC.as_bytes())
            .expect("the test document parses")
    }

    fn names(picked: &[Published]) -> Vec<&str> {
        picked.iter().map(|p| p.version.as_str()).collect()
    }

    #[test]
    fn versions_are_listed_by_version_number_not_by_publish_date() {
        let l = listing();
        assert_eq!(
            names(&l.versions),
            ["0.2.9", "0.2.14", "2.1.9", "2.1.10-beta.1", "2.1.10"]
        );
        assert_eq!(l.latest.as_deref(), Some("2.1.10"));
        assert_eq!(l.versions[0].date(), Some("2026-07-23"));
    }

    #[test]
    fn a_range_is_inclusive_and_either_end_may_be_open() -> Result<(), RegistryError> {
        let l = listing();
        let pick = |r: &str| {
            l.select(&Selection {
                range: Some(r.to_owned()),
                ..Selection::default()
            })
        };
        assert_eq!(
            names(&pick("0.2.14..2.1.10")?),
            ["0.2.14", "2.1.9", "2.1.10-beta.1", "2.1.10"]
        );
        assert_eq!(names(&pick("..0.2.14")?), ["0.2.9", "0.2.14"]);
        assert_eq!(names(&pick("2.1.10..")?), ["2.1.10"]);
        Ok(())
    }

    #[test]
    fn a_range_naming_an_unpublished_version_says_how_to_find_real_ones() {
        let l = listing();
        let err = l
            .select(&Selection {
                range: Some("2.1.9..2.1.999".to_owned()),
                ..Selection::default()
            })
            .expect_err("2.1.999 is not in the listing");
        let text = err.to_string();
        assert!(
            text.contains("2.1.999") && text.contains("harness versions"),
            "{text}"
        );
        for bad in ["2.1.9", "..", "latest..2.1.10"] {
            assert!(
                l.select(&Selection {
                    range: Some(bad.to_owned()),
                    ..Selection::default()
                })
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn since_filters_on_the_publish_date_and_last_keeps_the_newest() -> Result<(), RegistryError> {
        let l = listing();
        let picked = l.select(&Selection {
            since: Some("2026-07-01".to_owned()),
            last: Some(2),
            ..Selection::default()
        })?;
        assert_eq!(names(&picked), ["2.1.10-beta.1", "2.1.10"]);
        let picked = l.select(&Selection {
            since: Some("2026-07-01".to_owned()),
            ..Selection::default()
        })?;
        assert_eq!(
            names(&picked),
            ["0.2.9", "2.1.9", "2.1.10-beta.1", "2.1.10"]
        );
        assert!(l
            .select(&Selection {
                since: Some("July".to_owned()),
                ..Selection::default()
            })
            .is_err());
        Ok(())
    }

    #[test]
    fn a_document_without_versions_is_refused() {
        assert!(parse_document(DEFAULT_REGISTRY, &TEST_PACKAGE, br#"{"versions": {}}"#).is_err());
        assert!(parse_document(DEFAULT_REGISTRY, &TEST_PACKAGE, b"<html>").is_err());
    }

    #[test]
    fn a_fresh_cached_listing_is_used_without_asking_the_registry() -> Result<(), RegistryError> {
        let dir = tempfile::tempdir().map_err(|source| RegistryError::Io {
            path: PathBuf::from("tmp"),
            source,
        })?;
        let mut cached = listing();
        cached.registry = registry_url();
        let path = listing_cache_path(dir.path(), &TEST_PACKAGE);
        std::fs::create_dir_all(dir.path().join("registry")).map_err(|source| {
            RegistryError::Io {
                path: path.clone(),
                source,
            }
        })?;
        std::fs::write(
            &path,
            serde_json::to_vec(&cached).map_err(|e| RegistryError::Malformed {
                package: TEST_PACKAGE.npm,
                message: e.to_string(),
            })?,
        )
        .map_err(|source| RegistryError::Io {
            path: path.clone(),
            source,
        })?;
        let (got, source) = super::listing(dir.path(), &TEST_PACKAGE, LISTING_MAX_AGE, false)?;
        assert_eq!(source, Source::Cache);
        assert_eq!(names(&got.versions), names(&cached.versions));
        Ok(())
    }
}
