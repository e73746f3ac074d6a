//! The Tera templates of `templates/`: embedded in the binary, replaceable one by one from a folder
//! (`--templates DIR`, partials by their file name, e.g. `words.tera`; an unknown file name there
//! is an error). Values are auto-escaped for the
//! document's format: HTML entities in `.html` documents (a customer called `<script>` is printed,
//! never run), backslash escapes of Markdown's metacharacters in `.md` documents (the name reads as
//! written, with no `&lt;`). The shared partials (`partials/*.tera`, the sentences counsel reads)
//! are escaped as the document that uses them. Undefined values are errors, so a template cannot
//! silently print a blank where a fact belongs.

use std::path::Path;
use tera::{Context, Tera};

use crate::error::{Context as _, Error, Result};

const EMBEDDED: &[(&str, &str)] = &[
    (
        "partials/words.tera",
        include_str!("../../templates/partials/words.tera"),
    ),
    ("answers.toml", include_str!("../../templates/answers.toml")),
    ("explain.txt", include_str!("../../templates/explain.txt")),
    (
        "answers-certification.toml",
        include_str!("../../templates/answers-certification.toml"),
    ),
    ("base.html", include_str!("../../templates/base.html")),
    (
        "ai-training-report.md",
        include_str!("../../templates/ai-training-report.md"),
    ),
    (
        "ai-training-report.html",
        include_str!("../../templates/ai-training-report.html"),
    ),
    (
        "ai-training-report-annex.md",
        include_str!("../../templates/ai-training-report-annex.md"),
    ),
    (
        "ai-training-report-annex.html",
        include_str!("../../templates/ai-training-report-annex.html"),
    ),
    (
        "cip-certification.md",
        include_str!("../../templates/cip-certification.md"),
    ),
    (
        "cip-certification.html",
        include_str!("../../templates/cip-certification.html"),
    ),
    (
        "cip-certification-annex.md",
        include_str!("../../templates/cip-certification-annex.md"),
    ),
    (
        "cip-certification-annex.html",
        include_str!("../../templates/cip-certification-annex.html"),
    ),
    ("summary.md", include_str!("../../templates/summary.md")),
    ("summary.html", include_str!("../../templates/summary.html")),
];

/// The loaded templates and where each came from.
pub struct Templates {
    /// Every template, escaping values as HTML (renders the `.html` documents).
    html: Tera,
    /// The same templates, escaping values as Markdown (renders the `.md` documents).
    md: Tera,
    pub origins: Vec<(String, String)>,
    /// Template file name → SHA-256 of its text (for the manifest and the run id).
    pub hashes: Vec<(String, String)>,
}

impl Templates {
    pub fn load(dir: Option<&Path>) -> Result<Templates> {
        let mut sources: Vec<(String, String, String)> = EMBEDDED
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string(), "embedded".to_string()))
            .collect();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| Error::config(dir.display(), format!("cannot list: {e}")))?;
            let mut paths: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            paths.sort();
            for path in paths {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                let slot = sources
                    .iter_mut()
                    .find(|(n, _, _)| n.rsplit('/').next() == Some(name.as_str()))
                    .ok_or_else(|| {
                        let known: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
                        Error::config(
                            path.display(),
                            format!("not one of the templates ({})", known.join(", ")),
                        )
                    })?;
                slot.1 =
                    std::fs::read_to_string(&path).map_err(|e| Error::config(path.display(), e))?;
                slot.2 = path.display().to_string();
            }
        }
        let engine = |suffix: &'static str, escape_fn: tera::EscapeFn| -> Result<Tera> {
            let mut tera = Tera::new();
            tera.autoescape_on([suffix]);
            tera.set_escape_fn(escape_fn);
            super::filters::register(&mut tera);
            tera.add_raw_templates(sources.iter().map(|(n, t, _)| (n.clone(), t.clone())))
                .map_err(|e| Error::config("templates", describe(&e, &sources)))?;
            Ok(tera)
        };
        Ok(Templates {
            html: engine(".html", escape)?,
            md: engine(".md", escape_markdown)?,
            hashes: sources
                .iter()
                .map(|(n, t, _)| (n.clone(), crate::fingerprint::sha256_bytes(t.as_bytes())))
                .collect(),
            origins: sources.into_iter().map(|(n, _, o)| (n, o)).collect(),
        })
    }

    /// Renders `name` with `view` (a serialisable view model) under the key `doc` and the
    /// pre-rendered, escaped SVG charts under `charts`, masked (see [`Masking`]).
    pub fn render_with<T: serde::Serialize>(
        &self,
        name: &str,
        view: &T,
        charts: &std::collections::BTreeMap<String, String>,
    ) -> Result<String> {
        self.render_as(name, view, charts, Masking::Masked)
    }

    /// As [`Templates::render_with`], masked or not: `Masking::Unmasked` is for the filing copy only.
    pub fn render_as<T: serde::Serialize>(
        &self,
        name: &str,
        view: &T,
        charts: &std::collections::BTreeMap<String, String>,
        masking: Masking,
    ) -> Result<String> {
        let mut context = Context::new();
        context.insert("doc", &shown_as(view, masking)?);
        context.insert("charts", charts);
        let tera = if name.ends_with(".md") {
            &self.md
        } else {
            &self.html
        };
        let rendered = tera.render(name, &context).map_err(|e| {
            let origin = self
                .origins
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, o)| o.as_str())
                .unwrap_or("?");
            Error::config(format!("template {name} ({origin})"), error_chain(&e))
        })?;
        // Charts and template text do not pass through `shown`: the whole document is masked by
        // value once more (numbers and hashes are left alone, see `pii::redact`).
        let masked = match masking {
            Masking::Masked => crate::pii::redact(&rendered).into_owned(),
            Masking::Unmasked => rendered,
        };
        Ok(if name.ends_with(".html") {
            super::filters::unbreakable(&masked)
        } else {
            masked
        })
    }

    /// Renders a plain-text template (no escaping, no masking) with `context`'s keys at the top level.
    ///
    /// Errors: configuration, naming the template, when it does not render.
    pub fn render_plain(&self, name: &str, context: &serde_json::Value) -> Result<String> {
        let context = Context::from_serialize(context)
            .map_err(|e| Error::config(format!("template {name}"), error_chain(&e)))?;
        self.html
            .render(name, &context)
            .map_err(|e| Error::config(format!("template {name}"), error_chain(&e)))
    }
}

/// Whether a document masks card and identifier numbers: always, but for the unmasked filing copy
/// (`run --filing-copy`), which keeps the values as the registry holds them (invisible controls
/// are written out in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Masking {
    Masked,
    Unmasked,
}

/// A view model as documents show it: every string with card-like digit runs masked
/// (`pii::redact`) and invisible controls written out (`pii::visible`). Templates and the JSON
/// documents receive this value, never the view model's raw strings.
///
/// Errors: internal, when the view model does not serialise.
pub fn shown<T: serde::Serialize>(view: &T) -> Result<serde_json::Value> {
    shown_as(view, Masking::Masked)
}

/// As [`shown`], masked or not.
pub fn shown_as<T: serde::Serialize>(view: &T, masking: Masking) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(view).or_internal("document view model")?;
    crate::pii::strings_mut(&mut value, &mut |s| {
        let masked = match masking {
            Masking::Masked => crate::pii::redact(s),
            Masking::Unmasked => std::borrow::Cow::Borrowed(s.as_str()),
        };
        let shown = crate::pii::visible(&masked).into_owned();
        *s = shown;
    });
    Ok(value)
}

/// HTML escaping of `& < > "`: enough for text and double-quoted attributes (the only places the
/// templates put values), and it leaves apostrophes readable in the Markdown documents.
fn escape(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut last = 0;
    for (i, b) in input.bytes().enumerate() {
        let entity: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            _ => continue,
        };
        out.write_all(&input.as_bytes()[last..i])?;
        out.write_all(entity)?;
        last = i + 1;
    }
    out.write_all(&input.as_bytes()[last..])
}

/// Markdown escaping: a backslash before each character that Markdown would read as markup, and
/// only where it would: `\\`, `` ` ``, `*`, `<`, `>`, `|` (table cells), `#` (headings), `~`
/// (strike-through) always; `_` at a word's edge (inside a word it never makes emphasis, so
/// `training_ops` stays as written); `]` before `(`, `[` or `:` (a link or a link definition);
/// `&` when it starts an entity, so `&lt;` stays five characters. A line break in a value (`\n`,
/// `\r\n` or `\r`) is written `<br>`, GitHub-flavoured Markdown's line break inside a table cell: a
/// raw newline would end the table row (or the list item, or the heading) the value stands in, and the
/// rest of the value would be read as new rows. Everything else is written as is.
fn escape_markdown(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut buf = [0u8; 4];
    let mut prev: Option<char> = None;
    // Only digits since the start of the line: a `.` or `)` now would make an ordered list.
    let mut line_number = false;
    let mut chars = input.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|(_, n)| *n);
        let word = |x: Option<char>| x.is_some_and(char::is_alphanumeric);
        let line_start = matches!(prev, None | Some('\n' | '\r'));
        let meta = match c {
            '\\' | '`' | '*' | '<' | '>' | '|' | '#' | '~' => true,
            '_' => !(word(prev) && word(next)),
            ']' => matches!(next, Some('(' | '[' | ':')),
            '&' => starts_entity(&input[i + 1..]),
            // A list item, a rule or a heading underline when a line of the value starts so.
            '-' | '+' => line_start && next.is_none_or(|n| n.is_whitespace() || n == c),
            '=' => line_start && next.is_none_or(|n| n.is_whitespace() || n == c),
            '.' | ')' => line_number && next.is_none_or(char::is_whitespace),
            _ => false,
        };
        line_number = c.is_ascii_digit() && (line_start || line_number);
        if meta {
            out.write_all(b"\\")?;
        }
        match c {
            '\r' if next == Some('\n') => {}
            '\n' | '\r' => out.write_all(b"<br>")?,
            _ => out.write_all(c.encode_utf8(&mut buf).as_bytes())?,
        }
        prev = Some(c);
    }
    Ok(())
}

/// Whether text after an `&` reads as an HTML entity (`lt;`, `#60;`, `#x3C;`).
fn starts_entity(rest: &str) -> bool {
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '#')
        .collect();
    !name.is_empty() && rest[name.len()..].starts_with(';')
}

fn describe(e: &tera::Error, sources: &[(String, String, String)]) -> String {
    let origins: Vec<String> = sources
        .iter()
        .filter(|(_, _, o)| o != "embedded")
        .map(|(n, _, o)| format!("{n} = {o}"))
        .collect();
    if origins.is_empty() {
        error_chain(e)
    } else {
        format!("{} (overrides: {})", error_chain(e), origins.join(", "))
    }
}

fn error_chain(e: &tera::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    fn md(s: &str) -> String {
        let mut out = Vec::new();
        super::escape_markdown(s, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn markdown_escapes_only_what_markdown_reads() {
        assert_eq!(
            md("<script>alert(1)</script>"),
            "\\<script\\>alert(1)\\</script\\>"
        );
        assert_eq!(
            md("training_ops _x_ *y* a|b #1 ~z~"),
            "training_ops \\_x\\_ \\*y\\* a\\|b \\#1 \\~z\\~"
        );
        assert_eq!(
            md("[a](http://x) [U+202E] AT&T &lt; &#60;"),
            "[a\\](http://x) [U+202E] AT&T \\&lt; \\&\\#60;"
        );
        // Lines of a value that would start a list, a rule or a heading underline.
        assert_eq!(
            md("line1\n---\n- item\n+ item\n1. first\n===\r\n1.4e24 -3 2026-11-26"),
            "line1<br>\\---<br>\\- item<br>\\+ item<br>1\\. first<br>\\===<br>1.4e24 -3 2026-11-26"
        );
        // A line break never ends the table row a value stands in.
        assert_eq!(md("a\r\n| x | y |\rz"), "a<br>\\| x \\| y \\|<br>z");
    }
}
