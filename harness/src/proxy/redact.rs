//! Secrets out, at record time: what the proxy keeps of a request or response (headers, form
//! fields, JSON bodies, the code in a redirect) has every token, code, cookie and client secret
//! replaced by [`REDACTED`] before it is stored, so no report, snapshot or bundle can hold one.

use url::Url;

pub const REDACTED: &str = "<redacted>";

/// Headers whose whole value is a credential.
const SECRET_HEADERS: [&str; 4] = [
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// Form fields and query parameters that carry credentials (RFC 6749 §4.1, §6; RFC 7636 §4.5;
/// RFC 7521 §4.2; RFC 7009 §2.1).
const SECRET_FIELDS: [&str; 9] = [
    "code",
    "code_verifier",
    "client_secret",
    "refresh_token",
    "access_token",
    "password",
    "assertion",
    "client_assertion",
    "token",
];

/// JSON members that carry credentials (token responses, RFC 6749 §5.1; registration responses,
/// RFC 7591 §3.2.1 and RFC 7592 §3).
const SECRET_MEMBERS: [&str; 7] = [
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "registration_access_token",
    "code",
    "token",
];

pub fn header(name: &str, value: &str) -> String {
    let name = name.to_ascii_lowercase();
    if SECRET_HEADERS.contains(&name.as_str()) {
        // The scheme says what kind of credential it was; the rest is the secret.
        match value.split_once(' ') {
            Some((scheme, _)) if name.ends_with("authorization") => format!("{scheme} {REDACTED}"),
            _ => REDACTED.to_owned(),
        }
    } else if name == "location" || name == "content-location" {
        url(value)
    } else {
        text(value)
    }
}

/// Characters that end a query value inside free text.
const VALUE_ENDS: &[char] = &['&', '"', '\'', ' ', '<', '>', '#', '\n', '\r', '\t', ')'];

/// Free text with the value of every secret query parameter in it redacted: a redirect's body
/// ("Found. Redirecting to http://localhost:9/callback?code=…"), a link in a page.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['?', '&']) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let delimiter = if from.starts_with("&amp;") {
            "&amp;"
        } else {
            &from[..1]
        };
        let after = &from[delimiter.len()..];
        let secret = SECRET_FIELDS
            .iter()
            .find(|f| after.starts_with(&format!("{f}=")));
        match secret {
            Some(field) => {
                let value = &after[field.len() + 1..];
                let end = value.find(VALUE_ENDS).unwrap_or(value.len());
                out.push_str(delimiter);
                out.push_str(field);
                out.push('=');
                out.push_str(REDACTED);
                rest = &value[end..];
            }
            None => {
                out.push_str(delimiter);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A URL with its secret query parameters redacted (a redirect carrying `code`).
pub fn url(text: &str) -> String {
    let Ok(mut parsed) = Url::parse(text) else {
        return text.to_owned();
    };
    let Some(query) = parsed.query() else {
        return text.to_owned();
    };
    if !url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| SECRET_FIELDS.contains(&&*k)) {
        return text.to_owned();
    }
    let redacted = form(query);
    parsed.set_query(Some(&redacted));
    parsed.to_string()
}

/// A form body or query string with its secret fields redacted.
pub fn form(text: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(url::form_urlencoded::parse(text.as_bytes()).map(|(k, v)| {
            if SECRET_FIELDS.contains(&&*k) {
                (k.into_owned(), REDACTED.to_owned())
            } else {
                (k.into_owned(), v.into_owned())
            }
        }))
        .finish()
}

/// A JSON value with every secret member redacted, at any depth.
pub fn json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if SECRET_MEMBERS.contains(&key.as_str()) && !item.is_null() {
                    *item = serde_json::Value::String(REDACTED.to_owned());
                } else {
                    json(item);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(json),
        serde_json::Value::String(s) => *s = text(s),
        _ => {}
    }
}

/// A body as text for the record: JSON and forms redacted, other text as it is, binary left out.
pub fn body(content_type: Option<&str>, bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let content_type = content_type.unwrap_or("").to_ascii_lowercase();
    if content_type.contains("x-www-form-urlencoded") {
        return Some(form(text));
    }
    if let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) {
        json(&mut value);
        return Some(value.to_string());
    }
    if content_type.contains("event-stream") {
        return Some(
            text.lines()
                .map(|line| match line.strip_prefix("data:") {
                    Some(data) => match serde_json::from_str::<serde_json::Value>(data.trim()) {
                        Ok(mut value) => {
                            json(&mut value);
                            format!("data: {value}")
                        }
                        Err(_) => self::text(line),
                    },
                    None => self::text(line),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    Some(self::text(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_codes_cookies_and_secrets_are_redacted() {
        assert_eq!(
            header("Authorization", "Bearer s3cret"),
            "Bearer <redacted>"
        );
        assert_eq!(header("Set-Cookie", "demo_session=abc; Path=/"), REDACTED);
        assert_eq!(header("Accept", "application/json"), "application/json");
        let location = header("Location", "http://127.0.0.1:9/callback?code=c0de&state=st");
        assert!(!location.contains("c0de"), "{location}");
        assert!(location.contains("state=st"), "{location}");
        let form = form("grant_type=authorization_code&code=c0de&code_verifier=v3r&client_id=me");
        assert!(!form.contains("c0de") && !form.contains("v3r"), "{form}");
        assert!(form.contains("client_id=me"));
        let mut doc = serde_json::json!({"access_token": "at", "refresh_token": "rt",
            "token_type": "bearer", "nested": {"client_secret": "cs"}});
        json(&mut doc);
        let text = doc.to_string();
        assert!(!text.contains("\"at\"") && !text.contains("\"rt\"") && !text.contains("\"cs\""));
        assert!(text.contains("bearer"));
        let sse = body(
            Some("text/event-stream"),
            b"event: message\ndata: {\"result\":{\"access_token\":\"x1\"}}\n\n",
        )
        .unwrap_or_default();
        assert!(!sse.contains("x1"), "{sse}");
        // Express answers a redirect with the URL in its text body.
        let express = body(
            Some("text/plain; charset=utf-8"),
            b"Found. Redirecting to http://localhost:43759/oauth/callback?code=96ffa75f&state=st",
        )
        .unwrap_or_default();
        assert_eq!(
            express,
            "Found. Redirecting to http://localhost:43759/oauth/callback?code=<redacted>&state=st"
        );
        let html = self::text(r#"<a href="/cb?state=s&amp;code=abc">x</a> ?codec=keep"#);
        assert_eq!(
            html,
            r#"<a href="/cb?state=s&amp;code=<redacted>">x</a> ?codec=keep"#
        );
    }
}
