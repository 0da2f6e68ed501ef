//! The scripted browser: the client's `BROWSER` records the authorize URL, and this user agent
//! loads the consent page, submits it, and delivers the redirect to the client's localhost
//! callback, the way a person's browser would.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("the client did not ask the browser to open anything within {secs} s (watched {log})")]
    NoUrl { secs: u64, log: PathBuf },
    #[error("the client asked the browser to open `{0}`, which is not an http(s) URL")]
    NotAUrl(String),
    #[error("{step}: {detail}")]
    Step { step: &'static str, detail: String },
}

fn step_err(step: &'static str) -> impl Fn(reqwest::Error) -> BrowserError {
    move |e| {
        // reqwest's own line ("error sending request for url …") says nothing of why: its
        // sources do (refused, timed out, reset).
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            detail.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        BrowserError::Step { step, detail }
    }
}

/// What happened on the way to the client's callback.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConsentOutcome {
    pub authorize_url: String,
    /// Where the consent form sent the browser (the client's `redirect_uri` with code and state).
    pub callback_url: String,
    pub callback_status: u16,
}

pub struct ScriptedBrowser {
    log: PathBuf,
    seen: usize,
    http: reqwest::blocking::Client,
}

/// The bound on any one request the browser makes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

impl ScriptedBrowser {
    pub fn new(log: &Path) -> Result<ScriptedBrowser, BrowserError> {
        let http = reqwest::blocking::Client::builder()
            // Redirects are followed by hand, so each hop is checked and the callback is
            // reached exactly once.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .user_agent("harness-scripted-browser/1")
            .build()
            .map_err(step_err("building the browser's HTTP client"))?;
        Ok(ScriptedBrowser {
            log: log.to_owned(),
            seen: 0,
            http,
        })
    }

    /// Treats every URL logged so far as handled, so the next wait sees only new ones.
    pub fn skip_logged(&mut self) {
        let count = std::fs::read_to_string(&self.log)
            .map(|text| text.lines().filter(|l| !l.trim().is_empty()).count())
            .unwrap_or(0);
        self.seen = count;
    }

    /// The next URL the client asked to open, waiting at most `timeout`.
    pub fn wait_for_url(&mut self, timeout: Duration) -> Result<String, BrowserError> {
        let started = Instant::now();
        loop {
            if let Some(url) = self.next_logged_url() {
                return Ok(url);
            }
            if started.elapsed() >= timeout {
                return Err(BrowserError::NoUrl {
                    secs: timeout.as_secs(),
                    log: self.log.clone(),
                });
            }
            // Reading a small file is cheap; a coarse poll would add its period to every login.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn next_logged_url(&mut self) -> Option<String> {
        let text = std::fs::read_to_string(&self.log).ok()?;
        // Only whole lines: the shim may be half-way through writing the last one.
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        let lines: Vec<&str> = complete.lines().filter(|l| !l.trim().is_empty()).collect();
        let line = lines.get(self.seen)?;
        self.seen += 1;
        // BROWSER may be called as `BROWSER URL` or with extra words; take the URL.
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap_or(line);
        Some(url.to_owned())
    }

    /// Loads the consent page at `authorize_url`, approves, and follows the redirect to the
    /// client's callback.
    pub fn complete_consent(&self, authorize_url: &str) -> Result<ConsentOutcome, BrowserError> {
        let authorize = Url::parse(authorize_url)
            .map_err(|_| BrowserError::NotAUrl(authorize_url.to_owned()))?;
        let page = self
            .http
            .get(authorize.clone())
            .send()
            .map_err(step_err("loading the authorize URL"))?;
        let status = page.status();
        let html = page.text().map_err(step_err("reading the consent page"))?;
        if !status.is_success() {
            return Err(BrowserError::Step {
                step: "loading the authorize URL",
                detail: format!("HTTP {status}: {}", first_chars(&html, 400)),
            });
        }
        let form = ConsentForm::parse(&html).ok_or_else(|| BrowserError::Step {
            step: "reading the consent page",
            detail: format!(
                "no consent form with a request_id in: {}",
                first_chars(&html, 400)
            ),
        })?;
        let action = authorize
            .join(&form.action)
            .map_err(|e| BrowserError::Step {
                step: "reading the consent page",
                detail: format!("bad form action {:?}: {e}", form.action),
            })?;
        let answer = self
            .http
            .post(action)
            .form(&[
                ("request_id", form.request_id.as_str()),
                ("decision", "approve"),
            ])
            .send()
            .map_err(step_err("submitting consent"))?;
        let callback_url = answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| BrowserError::Step {
                step: "submitting consent",
                detail: format!(
                    "expected a redirect to the client's callback, got HTTP {}",
                    answer.status()
                ),
            })?;
        let callback = self
            .http
            .get(&callback_url)
            .send()
            .map_err(step_err("delivering the redirect to the client's callback"))?;
        Ok(ConsentOutcome {
            authorize_url: authorize_url.to_owned(),
            callback_url,
            callback_status: callback.status().as_u16(),
        })
    }

    /// Approves consent but does not deliver the redirect: returns the callback URL, for flows
    /// where the user pastes it back into the client.
    pub fn consent_without_callback(&self, authorize_url: &str) -> Result<String, BrowserError> {
        let authorize = Url::parse(authorize_url)
            .map_err(|_| BrowserError::NotAUrl(authorize_url.to_owned()))?;
        let html = self
            .http
            .get(authorize.clone())
            .send()
            .and_then(|r| r.text())
            .map_err(step_err("loading the authorize URL"))?;
        let form = ConsentForm::parse(&html).ok_or_else(|| BrowserError::Step {
            step: "reading the consent page",
            detail: format!("no consent form in: {}", first_chars(&html, 400)),
        })?;
        let action = authorize
            .join(&form.action)
            .map_err(|e| BrowserError::Step {
                step: "reading the consent page",
                detail: e.to_string(),
            })?;
        let answer = self
            .http
            .post(action)
            .form(&[
                ("request_id", form.request_id.as_str()),
                ("decision", "approve"),
            ])
            .send()
            .map_err(step_err("submitting consent"))?;
        answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| BrowserError::Step {
                step: "submitting consent",
                detail: format!("no redirect, HTTP {}", answer.status()),
            })
    }
}

fn first_chars(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

/// The parts of the mock's consent page the browser needs.
#[derive(Debug, PartialEq)]
struct ConsentForm {
    action: String,
    request_id: String,
}

impl ConsentForm {
    /// A deliberately small reader for the mock's own page: the form's `action` and the hidden
    /// `request_id` input. Attribute order and quoting follow what the mock writes.
    fn parse(html: &str) -> Option<ConsentForm> {
        let form_start = html.find("<form")?;
        let form_tag = &html[form_start..form_start + html[form_start..].find('>')?];
        let action = attribute(form_tag, "action").unwrap_or_else(|| "/oauth/consent".to_owned());
        let mut rest = &html[form_start..];
        while let Some(at) = rest.find("<input") {
            let end = rest[at..].find('>')?;
            let tag = &rest[at..at + end];
            if attribute(tag, "name").as_deref() == Some("request_id") {
                return Some(ConsentForm {
                    action,
                    request_id: attribute(tag, "value")?,
                });
            }
            rest = &rest[at + end..];
        }
        None
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let pattern = format!("{name}=\"");
    let start = tag.find(&pattern)? + pattern.len();
    let end = tag[start..].find('"')?;
    Some(tag[start..start + end].replace("&amp;", "&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a second authentication in the same sandbox took the first one's URL (a
    /// client ID the server had since forgotten) from the shared log, and the harness blamed the
    /// client for the error page it got.
    #[test]
    fn after_skip_logged_only_urls_opened_later_are_taken() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("browser.log");
        std::fs::write(&log, "http://127.0.0.1:1/oauth/authorize?client_id=old\n")?;
        let mut fresh = ScriptedBrowser::new(&log)?;
        assert!(fresh
            .next_logged_url()
            .is_some_and(|u| u.ends_with("client_id=old")));
        let mut second = ScriptedBrowser::new(&log)?;
        second.skip_logged();
        assert_eq!(second.next_logged_url(), None);
        std::fs::write(
            &log,
            "http://127.0.0.1:1/oauth/authorize?client_id=old\nhttp://127.0.0.1:1/oauth/authorize?client_id=new\n",
        )?;
        assert!(second
            .next_logged_url()
            .is_some_and(|u| u.ends_with("client_id=new")));
        Ok(())
    }

    #[test]
    fn the_consent_form_is_read_from_the_page() {
        let html = r#"<html><body><form method="post" action="/oauth/consent">
            <input type="hidden" name="request_id" value="abc123">
            <button name="decision" value="approve">Allow</button></form></body></html>"#;
        assert_eq!(
            ConsentForm::parse(html),
            Some(ConsentForm {
                action: "/oauth/consent".into(),
                request_id: "abc123".into()
            })
        );
        assert_eq!(ConsentForm::parse("<html>no form</html>"), None);
    }
}
