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

    /// Loads the authorize URL and follows what the authorization server does: a redirect
    /// straight to the client's callback (a server that approves by itself, like the TypeScript
    /// SDK's demo) is delivered; a redirect elsewhere is followed (at most [`MAX_HOPS`]); the
    /// mock's consent page is approved. A page the browser cannot fill in (a real sign-in) is an
    /// error that names the URL for a person to open.
    pub fn complete_consent(&self, authorize_url: &str) -> Result<ConsentOutcome, BrowserError> {
        let authorize = Url::parse(authorize_url)
            .map_err(|_| BrowserError::NotAUrl(authorize_url.to_owned()))?;
        let redirect_uri = authorize
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned());
        let mut at = authorize.clone();
        for _ in 0..MAX_HOPS {
            let page = self
                .http
                .get(at.clone())
                .send()
                .map_err(step_err("loading the authorize URL"))?;
            let status = page.status();
            if status.is_redirection() {
                let next = page
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| at.join(l).ok())
                    .ok_or_else(|| BrowserError::Step {
                        step: "loading the authorize URL",
                        detail: format!("HTTP {status} without a usable Location"),
                    })?;
                if is_callback(&next, redirect_uri.as_deref()) {
                    // An error sent back to the client (RFC 6749 §4.1.2.1) stays the harness's
                    // finding, as it was before servers that approve by themselves were followed.
                    if let Some(error) = next.query_pairs().find(|(k, _)| k == "error") {
                        return Err(BrowserError::Step {
                            step: "loading the authorize URL",
                            detail: format!(
                                "HTTP {status}: the server sent the browser back to the client \
                                 with error={}",
                                error.1
                            ),
                        });
                    }
                    return self.deliver(authorize_url, next.as_str());
                }
                at = next;
                continue;
            }
            let html = page.text().map_err(step_err("reading the consent page"))?;
            if status.is_success() && ConsentForm::parse(&html).is_none() && by_person() {
                return wait_for_person(authorize_url, redirect_uri.as_deref());
            }
            if !status.is_success() {
                return Err(BrowserError::Step {
                    step: "loading the authorize URL",
                    detail: format!("HTTP {status}: {}", first_chars(&html, 400)),
                });
            }
            let form = ConsentForm::parse(&html).ok_or_else(|| BrowserError::Step {
                step: "reading the consent page",
                detail: format!(
                    "the authorization server shows a page the scripted browser cannot fill in \
                     (no consent form with a request_id; a sign-in page?): a person must open \
                     {authorize_url} ; the page began: {}",
                    first_chars(&html, 400)
                ),
            })?;
            let action = at.join(&form.action).map_err(|e| BrowserError::Step {
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
            return self.deliver(authorize_url, &callback_url);
        }
        Err(BrowserError::Step {
            step: "loading the authorize URL",
            detail: format!(
                "more than {MAX_HOPS} redirects without reaching the client's callback: a person \
                 must open {authorize_url}"
            ),
        })
    }

    /// Delivers the redirect to the client's callback.
    fn deliver(
        &self,
        authorize_url: &str,
        callback_url: &str,
    ) -> Result<ConsentOutcome, BrowserError> {
        let callback = self
            .http
            .get(callback_url)
            .send()
            .map_err(step_err("delivering the redirect to the client's callback"))?;
        Ok(ConsentOutcome {
            authorize_url: authorize_url.to_owned(),
            callback_url: callback_url.to_owned(),
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

/// Set (to anything but empty or `0`) when a person consents instead of the scripted browser on
/// pages it cannot fill in (`harness run --consent-by-person`).
pub const CONSENT_BY_PERSON_ENV: &str = "HARNESS_CONSENT_BY_PERSON";

/// How long a person gets to sign in and consent.
pub const PERSON_CONSENT_WAIT: Duration = Duration::from_secs(300);

/// How often the client's callback listener is probed while a person consents.
const PERSON_POLL: Duration = Duration::from_millis(500);

fn by_person() -> bool {
    std::env::var(CONSENT_BY_PERSON_ENV).is_ok_and(|v| !v.trim().is_empty() && v.trim() != "0")
}

/// Prints the authorize URL for a person and waits (at most [`PERSON_CONSENT_WAIT`]) until the
/// client's callback listener closes, which clients do once the redirect has reached them.
fn wait_for_person(
    authorize_url: &str,
    redirect_uri: Option<&str>,
) -> Result<ConsentOutcome, BrowserError> {
    let callback = redirect_uri
        .and_then(|r| Url::parse(r).ok())
        .and_then(|u| u.socket_addrs(|| None).ok())
        .and_then(|addrs| addrs.into_iter().next())
        .ok_or_else(|| BrowserError::Step {
            step: "waiting for a person",
            detail: format!("the authorize URL names no usable redirect_uri: {authorize_url}"),
        })?;
    crate::say!(
        "harness: the authorization server wants a person: open this URL in a browser on this \
         machine and sign in (waiting {} s):\n  {authorize_url}",
        PERSON_CONSENT_WAIT.as_secs()
    );
    let started = Instant::now();
    while started.elapsed() < PERSON_CONSENT_WAIT {
        if std::net::TcpStream::connect_timeout(&callback, PERSON_POLL).is_err() {
            return Ok(ConsentOutcome {
                authorize_url: authorize_url.to_owned(),
                callback_url: "(delivered by a person's browser)".to_owned(),
                callback_status: 0,
            });
        }
        std::thread::sleep(PERSON_POLL);
    }
    Err(BrowserError::Step {
        step: "waiting for a person",
        detail: format!(
            "the client's callback {callback} was still waiting after {} s: nobody completed \
             the sign-in at {authorize_url}",
            PERSON_CONSENT_WAIT.as_secs()
        ),
    })
}

/// How many redirects the browser follows on its way from the authorize URL to a page or the
/// client's callback.
const MAX_HOPS: usize = 8;

/// Whether `next` is the client's callback: the `redirect_uri` the authorize request named
/// (its query aside), or, without one, any loopback URL.
fn is_callback(next: &Url, redirect_uri: Option<&str>) -> bool {
    match redirect_uri.and_then(|r| Url::parse(r).ok()) {
        Some(redirect) => {
            next.scheme() == redirect.scheme()
                && next.host_str() == redirect.host_str()
                && next.port_or_known_default() == redirect.port_or_known_default()
                && next.path() == redirect.path()
        }
        None => false,
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
    fn only_the_authorize_requests_own_redirect_uri_counts_as_the_callback() -> anyhow::Result<()> {
        let callback = "http://localhost:4567/callback";
        let hit = Url::parse("http://localhost:4567/callback?code=c&state=s")?;
        assert!(is_callback(&hit, Some(callback)));
        let other_port = Url::parse("http://localhost:4568/callback?code=c")?;
        assert!(!is_callback(&other_port, Some(callback)));
        let login = Url::parse("http://127.0.0.1:3001/login")?;
        assert!(!is_callback(&login, Some(callback)));
        assert!(!is_callback(&hit, None));
        Ok(())
    }

    /// A server that approves by itself (the TypeScript SDK's demo) redirects the authorize
    /// request straight to the callback; the browser delivers it.
    #[test]
    fn a_redirect_straight_to_the_callback_is_delivered() -> anyhow::Result<()> {
        use std::io::{Read, Write};
        let serve = |reply: String| -> anyhow::Result<(u16, std::thread::JoinHandle<String>)> {
            let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
            let port = listener.local_addr()?.port();
            let handle = std::thread::spawn(move || {
                let Ok((mut stream, _)) = listener.accept() else {
                    return String::new();
                };
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let _ = stream.write_all(reply.as_bytes());
                String::from_utf8_lossy(&buf[..n]).into_owned()
            });
            Ok((port, handle))
        };
        let (callback_port, callback) =
            serve("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".into())?;
        let redirect = format!("http://127.0.0.1:{callback_port}/callback");
        let (auth_port, _auth) = serve(format!(
            "HTTP/1.1 302 Found\r\nlocation: {redirect}?code=c0de&state=s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        ))?;
        let dir = tempfile::tempdir()?;
        let browser = ScriptedBrowser::new(&dir.path().join("browser.log"))?;
        let authorize = format!(
            "http://127.0.0.1:{auth_port}/authorize?client_id=x&redirect_uri={}",
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        );
        let outcome = browser.complete_consent(&authorize)?;
        assert_eq!(outcome.callback_status, 200);
        let request = callback.join().unwrap_or_default();
        assert!(
            request.starts_with("GET /callback?code=c0de&state=s "),
            "{request}"
        );
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
