//! Form and query parameters of OAuth requests (RFC 6749 §3.1).

use std::collections::HashMap;

/// Form or query parameters, with repeated names set aside: RFC 6749 §3.1 says parameters
/// MUST NOT be included more than once, and that a parameter sent without a value is treated as
/// omitted.
#[derive(Debug, Default)]
pub(crate) struct Params {
    values: HashMap<String, String>,
    pub duplicates: Vec<String>,
}

impl Params {
    pub fn parse(raw: &[u8]) -> Params {
        let mut params = Params::default();
        for (name, value) in url::form_urlencoded::parse(raw) {
            if value.is_empty() {
                continue;
            }
            if params.values.contains_key(name.as_ref()) {
                params.duplicates.push(name.into_owned());
            } else {
                params.values.insert(name.into_owned(), value.into_owned());
            }
        }
        params
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn is_duplicated(&self, name: &str) -> bool {
        self.duplicates.iter().any(|d| d == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_set_aside_and_empty_ones_dropped() {
        let params = Params::parse(b"a=1&b=&a=2&c=x%20y");
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("x y"));
        assert!(params.is_duplicated("a"));
    }
}
