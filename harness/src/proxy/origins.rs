//! Which upstream origin each of the proxy's listeners stands for, and the rewriting of absolute
//! URLs between the two: upstream URLs in what the server answers become the proxy's (so the
//! client stays inside the proxy), the proxy's URLs in what the client sends become the
//! upstream's again. Every rewrite is kept for the report.

use serde::Serialize;
use url::Url;

/// One upstream origin and the proxy listener that stands for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPair {
    /// `http://localhost:3000`: scheme, host and port as `Url::origin` serialises them.
    pub upstream: String,
    /// `http://127.0.0.1:PORT`.
    pub proxy: String,
    /// The listener stands for an authorization server's origin (learned from metadata), not
    /// for the MCP server's.
    pub on_authorization_server: bool,
}

/// Which way a rewrite went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// In a response: an upstream URL made the proxy's.
    ToProxy,
    /// In a request: a proxy URL made the upstream's.
    ToUpstream,
}

/// One rewrite, with where it happened and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rewrite {
    pub direction: Direction,
    /// `GET /.well-known/oauth-protected-resource/mcp: body authorization_servers[0]`.
    pub at: String,
    pub from: String,
    pub to: String,
    pub times: u32,
}

impl Rewrite {
    /// One line for the report.
    pub fn line(&self) -> String {
        let arrow = match self.direction {
            Direction::ToProxy => "response",
            Direction::ToUpstream => "request",
        };
        let times = if self.times > 1 {
            format!(" (×{})", self.times)
        } else {
            String::new()
        };
        format!("{arrow} {}: {} → {}{times}", self.at, self.from, self.to)
    }
}

/// The origins the proxy stands for.
#[derive(Debug, Default, Clone)]
pub struct OriginMap {
    pairs: Vec<OriginPair>,
}

/// `scheme://host[:port]` of `url`, lower-case; `None` for a URL without a tuple origin.
pub fn origin_of(url: &Url) -> Option<String> {
    let origin = url.origin();
    origin
        .is_tuple()
        .then(|| origin.ascii_serialization().to_ascii_lowercase())
}

impl OriginMap {
    pub fn add(&mut self, pair: OriginPair) {
        if !self.pairs.iter().any(|p| p.upstream == pair.upstream) {
            self.pairs.push(pair);
        }
    }

    pub fn pairs(&self) -> &[OriginPair] {
        &self.pairs
    }

    pub fn proxy_for(&self, upstream: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|p| p.upstream == upstream)
            .map(|p| p.proxy.as_str())
    }

    /// Every upstream origin in `text` (followed by a path, a query, the end, or anything but
    /// a character that would continue the host or port) replaced by its proxy's.
    pub fn to_proxy(&self, text: &str) -> Option<String> {
        replace_all(
            text,
            self.pairs
                .iter()
                .map(|p| (p.upstream.as_str(), p.proxy.as_str())),
        )
    }

    /// Every proxy origin in `text` replaced by its upstream's.
    pub fn to_upstream(&self, text: &str) -> Option<String> {
        replace_all(
            text,
            self.pairs
                .iter()
                .map(|p| (p.proxy.as_str(), p.upstream.as_str())),
        )
    }
}

/// `None` when nothing was replaced.
fn replace_all<'a>(text: &str, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let mut current = text.to_owned();
    let mut changed = false;
    for (from, to) in pairs {
        if let Some(next) = replace_origin(&current, from, to) {
            current = next;
            changed = true;
        }
    }
    changed.then_some(current)
}

/// Replaces `from` (an origin) by `to` wherever it occurs as a whole origin, ignoring ASCII case.
fn replace_origin(text: &str, from: &str, to: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let from = from.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut search = 0;
    let mut changed = false;
    while let Some(found) = lower[search..].find(&from) {
        let start = search + found;
        let end = start + from.len();
        let continues = lower[end..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
        if !continues {
            out.push_str(&text[last..start]);
            out.push_str(to);
            last = end;
            changed = true;
        }
        search = end;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// One change: where (a JSON path or a field name), from, to.
pub type Change = (String, String, String);

/// Rewrites every string in `value` with `rewrite`; returns `(json path, from, to)` for each.
pub fn rewrite_json(
    value: &mut serde_json::Value,
    rewrite: &dyn Fn(&str) -> Option<String>,
) -> Vec<Change> {
    let mut done = Vec::new();
    walk(value, String::new(), rewrite, &mut done);
    done
}

fn walk(
    value: &mut serde_json::Value,
    path: String,
    rewrite: &dyn Fn(&str) -> Option<String>,
    done: &mut Vec<Change>,
) {
    match value {
        serde_json::Value::String(s) => {
            if let Some(new) = rewrite(s) {
                done.push((path, s.clone(), new.clone()));
                *s = new;
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, format!("{path}[{i}]"), rewrite, done);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(item, path, rewrite, done);
            }
        }
        _ => {}
    }
}

/// An `application/x-www-form-urlencoded` string (a query or a form body) with every value
/// except `keep`'s mapped by `rewrite`; the re-encoded string and `(name, from, to)` per change,
/// or `None` when nothing changed (the original bytes are then forwarded as they were).
pub fn rewrite_form(
    form: &str,
    keep: &[&str],
    rewrite: &dyn Fn(&str) -> Option<String>,
) -> Option<(String, Vec<Change>)> {
    let mut changes = Vec::new();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes())
        .map(|(k, v)| {
            let (k, v) = (k.into_owned(), v.into_owned());
            if keep.contains(&k.as_str()) {
                return (k, v);
            }
            match rewrite(&v) {
                Some(new) => {
                    changes.push((k.clone(), v, new.clone()));
                    (k, new)
                }
                None => (k, v),
            }
        })
        .collect();
    if changes.is_empty() {
        return None;
    }
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Some((encoded, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> OriginMap {
        let mut map = OriginMap::default();
        map.add(OriginPair {
            upstream: "http://localhost:3000".into(),
            proxy: "http://127.0.0.1:41000".into(),
            on_authorization_server: false,
        });
        map.add(OriginPair {
            upstream: "http://localhost:3001".into(),
            proxy: "http://127.0.0.1:41001".into(),
            on_authorization_server: true,
        });
        map
    }

    #[test]
    fn whole_origins_are_rewritten_and_longer_ports_are_not() {
        let map = map();
        assert_eq!(
            map.to_proxy("http://localhost:3000/mcp").as_deref(),
            Some("http://127.0.0.1:41000/mcp")
        );
        assert_eq!(
            map.to_proxy(r#"Bearer resource_metadata="http://LOCALHOST:3001/.well-known/x""#)
                .as_deref(),
            Some(r#"Bearer resource_metadata="http://127.0.0.1:41001/.well-known/x""#)
        );
        assert_eq!(map.to_proxy("http://localhost:30001/mcp"), None);
        assert_eq!(map.to_proxy("http://localhost:3000.evil/"), None);
        assert_eq!(map.to_proxy("https://example.com/"), None);
        assert_eq!(
            map.to_upstream("http://127.0.0.1:41001").as_deref(),
            Some("http://localhost:3001")
        );
    }

    #[test]
    fn json_strings_are_rewritten_with_their_paths() {
        let map = map();
        let mut doc = serde_json::json!({
            "resource": "http://localhost:3000/mcp",
            "authorization_servers": ["http://localhost:3001/"],
            "scopes_supported": ["mcp:tools"]
        });
        let done = rewrite_json(&mut doc, &|s| map.to_proxy(s));
        assert_eq!(doc["authorization_servers"][0], "http://127.0.0.1:41001/");
        assert_eq!(doc["resource"], "http://127.0.0.1:41000/mcp");
        assert_eq!(doc["scopes_supported"][0], "mcp:tools");
        let paths: Vec<&str> = done.iter().map(|(p, _, _)| p.as_str()).collect();
        assert!(paths.contains(&"authorization_servers[0]"));
        assert!(paths.contains(&"resource"));
    }

    #[test]
    fn form_values_map_back_but_the_redirect_uri_stays() {
        let map = map();
        let form = "resource=http%3A%2F%2F127.0.0.1%3A41000%2Fmcp&redirect_uri=http%3A%2F%2F127.0.0.1%3A41000%2Fcallback&state=x";
        let (out, changes) =
            rewrite_form(form, &["redirect_uri"], &|s| map.to_upstream(s)).expect("changed");
        assert!(out.contains("resource=http%3A%2F%2Flocalhost%3A3000%2Fmcp"));
        assert!(out.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A41000%2Fcallback"));
        assert_eq!(changes.len(), 1);
        assert_eq!(rewrite_form("state=x", &[], &|s| map.to_upstream(s)), None);
    }
}
