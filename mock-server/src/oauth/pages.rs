//! The two HTML pages the authorization endpoint shows. Deliberately trivial: a scripted browser
//! only needs the form's `request_id` and the decision buttons.

use axum::response::Html;

pub(crate) fn consent_page(
    client: &str,
    scope: &str,
    resource: &str,
    request_id: &str,
    action: &str,
) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Authorize {client}</title></head>\n\
         <body>\n<h1>Authorize {client}?</h1>\n\
         <p>Scope: <code>{scope}</code></p>\n<p>Resource: <code>{resource}</code></p>\n\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\n\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n\
         </form>\n</body></html>\n",
        client = escape(client),
        scope = escape(scope),
        resource = escape(resource),
        request_id = escape(request_id),
        action = escape(action),
    ))
}

pub(crate) fn error_page(error: &str, description: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\n\
         <body>\n<h1>Authorization error</h1>\n<p><code id=\"error\">{}</code></p>\n<p id=\"error_description\">{}</p>\n</body></html>\n",
        escape(error),
        escape(description),
    ))
}

/// Client names and scopes come from the client: never let them become markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_supplied_text_is_escaped() {
        let Html(page) = consent_page("<script>", "mcp", "http://x/", "r\"1", "/oauth/consent");
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("value=\"r&quot;1\""));
        assert!(page.contains("<form method=\"post\" action=\"/oauth/consent\">"));
    }
}
