//! PDF copies of the HTML documents, printed by headless Chromium (Debian's `chromium`, which
//! `tests/browser/setup.sh` installs). Page n of N, the running header (the document's reference
//! and the confidentiality marking) and the page breaks come from the templates' print CSS
//! (`@page` margin boxes), so the PDF and the HTML have one source. The browser reads a local
//! file only, with name resolution and every background service disabled. Chromium stamps the
//! print time in the PDF's `CreationDate` and `ModDate`: both are overwritten in place with the
//! as-of date (same length, so the cross-reference offsets stay valid), and the same inputs give
//! the same bytes.
//!
//! The page and its PDF hold personal data (the filing copy is unmasked): each document is
//! printed in its own scratch folder made 0700 inside the run's publish root (so never in a shared
//! `$TMPDIR`), with the browser's umask 077 (the PDF and its profile are owner-only), and the
//! folder is removed once the PDF is read. It is named like a staging folder
//! (`.staging-pdf…-<pid>`): one left by a run killed mid-print is removed by the next run
//! (`publish::recover`). The page is passed as a percent-encoded `file://` URL (a `#` or `%` in a
//! folder name would otherwise change the URL), and a PDF whose title is not the page's (a
//! browser's error page) is refused (exit 4) rather than published as the document. The page
//! printed is sealed by a Content-Security-Policy ([`CSP`]): it loads nothing from outside itself,
//! so a `--templates` override cannot embed a local file (`<object data="file:///…">`, an earlier
//! run's unmasked copy) into a published PDF.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt;

/// How long one document may take to print before the browser is taken for hung.
const PRINT_TIMEOUT: Duration = Duration::from_secs(120);

use crate::error::{Context, Error, Result};

/// The script that installs Chromium, named in the error when it is missing.
pub const SETUP: &str = "tests/browser/setup.sh";

/// Environment variable naming the browser to use instead of `chromium` on `PATH`.
pub const BROWSER_ENV: &str = crate::config::env::CHROMIUM;

/// The policy every printed page carries: nothing is loaded from outside the page (no file, no
/// frame, no object, no script); its own styles and `data:` images and fonts only.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:";

/// The browser's flags: headless printing of a local file with no network.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-pdf-header-footer",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--disable-quic",
    "--disable-breakpad",
    "--no-first-run",
    "--no-pings",
];

/// The browser: `CIPWATCH_CHROMIUM` when set, else `chromium` or `chromium-browser` on `PATH`;
/// an executable file.
///
/// Errors: reference data (exit 4) naming the setup script when there is none, or when the one
/// named is not an executable file.
pub fn browser() -> Result<PathBuf> {
    let missing = || {
        Error::Reference(format!(
            "PDF documents need Chromium, which was not found as an executable file (set {BROWSER_ENV} or run bash {SETUP})"
        ))
    };
    if let Some(path) = crate::config::env::get(BROWSER_ENV) {
        let path = PathBuf::from(path);
        return executable(&path).then_some(path).ok_or_else(missing);
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| executable(p))
        .ok_or_else(missing)
}

/// True for a regular file (links followed) that someone may execute.
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The PDF of every HTML document of `documents` (relative path → text), at the same path with
/// `.pdf`, in order; `as_of` (YYYY-MM-DD) dates them; each is printed in a scratch folder made
/// inside `scratch_parent` (created owner-only if needed).
///
/// Errors: reference data (exit 4) when there is no browser; as [`print`].
pub fn print_all(
    documents: &[(String, String)],
    as_of: &str,
    scratch_parent: &Path,
) -> Result<Vec<(String, Vec<u8>)>> {
    let browser = browser()?;
    crate::sinks::publish::create_private_dir(scratch_parent)?;
    documents
        .iter()
        .filter_map(|(rel, text)| rel.strip_suffix(".html").map(|stem| (stem, text)))
        .map(|(stem, text)| {
            let pdf = print(&browser, text, as_of, scratch_parent)?;
            Ok((format!("{stem}.pdf"), pdf))
        })
        .collect()
}

/// Prints one HTML document to PDF with `browser` in a scratch folder made inside
/// `scratch_parent`; `as_of` (YYYY-MM-DD) dates the PDF.
///
/// Errors: reference data (exit 4) when the browser cannot be started, prints no PDF, prints
/// another page than the document (an error page) or takes longer than `PRINT_TIMEOUT` (it is killed); internal when
/// the scratch folder cannot be written.
pub fn print(browser: &Path, html: &str, as_of: &str, scratch_parent: &Path) -> Result<Vec<u8>> {
    let scratch = scratch_dir(scratch_parent)?;
    let page = scratch.path().join("document.html");
    let pdf = scratch.path().join("document.pdf");
    crate::sinks::tables::write_bytes(sealed(html).as_bytes(), &page)?;
    let mut child = spawn(browser, scratch.path(), &page, &pdf)?;
    let status = match child
        .wait_timeout(PRINT_TIMEOUT)
        .or_internal(format!("waiting for {}", browser.display()))?
    {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Reference(format!(
                "{} did not print a document within {} s: check the browser (tests/browser/setup.sh installs one)",
                browser.display(),
                PRINT_TIMEOUT.as_secs()
            )));
        }
    };
    let mut bytes = std::fs::read(&pdf).map_err(|e| {
        Error::Reference(format!(
            "{} printed no PDF ({e}; exit {:?}): check the browser (tests/browser/setup.sh installs one)",
            browser.display(),
            status.code()
        ))
    })?;
    if !prints_page(&bytes, html) {
        return Err(Error::Reference(format!(
            "{} printed another page than the document (an error page?): its PDF is not published; check that the browser can read {}",
            browser.display(),
            scratch_parent.display()
        )));
    }
    fix_dates(&mut bytes, as_of);
    Ok(bytes)
}

/// `html` with the [`CSP`] as its first element (after a doctype, which must stay first), so it
/// governs everything after it whatever the page holds.
fn sealed(html: &str) -> String {
    let meta = format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">");
    let start = html.len() - html.trim_start().len();
    let doctype = html[start..]
        .get(..9)
        .is_some_and(|d| d.eq_ignore_ascii_case("<!doctype"));
    let at = match doctype {
        true => html[start..].find('>').map_or(start, |end| start + end + 1),
        false => start,
    };
    format!("{}{meta}{}", &html[..at], &html[at..])
}

/// A new scratch folder for one document: `.staging-pdf…-<pid>` inside `parent`, mode 0700 from
/// its creation.
fn scratch_dir(parent: &Path) -> Result<tempfile::TempDir> {
    let parent = std::path::absolute(parent).or_internal("PDF scratch folder")?;
    let mut builder = tempfile::Builder::new();
    let suffix = format!("-{}", std::process::id());
    builder.prefix(".staging-pdf").suffix(&suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder
        .tempdir_in(&parent)
        .or_internal(format!("PDF scratch folder in {}", parent.display()))
}

/// Starts the browser printing `page` to `pdf`, its profile in `scratch`, with umask 077 so that
/// every file it writes is owner-only.
fn spawn(browser: &Path, scratch: &Path, page: &Path, pdf: &Path) -> Result<Child> {
    let mut command = Command::new(browser);
    command
        .args(FLAGS)
        .arg(format!(
            "--user-data-dir={}",
            scratch.join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(file_url(page))
        .env("TZ", "UTC")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0o077);
                Ok(())
            });
        }
    }
    command.spawn().map_err(|e| {
        Error::Reference(format!(
            "{} cannot be started ({e}): check the browser ({SETUP} installs one)",
            browser.display()
        ))
    })
}

/// `path` (absolute) as a `file://` URL: every byte but ASCII letters, digits, `/`, `-`, `.`, `_`
/// and `~` percent-encoded, so `#`, `?`, `%` and spaces in folder names stay part of the path.
pub fn file_url(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// True when the PDF is a print of `html`: its `/Title` is the page's `<title>` (white space
/// collapsed). A page without a title, or one with a named entity other than the basic five in
/// it, is taken on trust as long as the PDF has no title naming a file or URL instead.
fn prints_page(pdf: &[u8], html: &str) -> bool {
    let printed = pdf_title(pdf);
    match (html_title(html), printed) {
        (Some(expected), Some(printed)) => printed == expected,
        (None, Some(printed)) => !printed.contains("file:") && !printed.ends_with(".html"),
        (_, None) => false,
    }
}

/// The `<title>` of an HTML page as a browser shows it: entities `&amp;`, `&lt;`, `&gt;`,
/// `&quot;`, `&#39;` and numeric ones decoded, white space collapsed; `None` without a title or
/// with another named entity.
fn html_title(html: &str) -> Option<String> {
    let start = html.find("<title>")? + "<title>".len();
    let raw = &html[start..start + html[start..].find("</title>")?];
    let mut text = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        text.push_str(&rest[..at]);
        let end = rest[at..].find(';')? + at;
        text.push(entity(&rest[at + 1..end])?);
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The character of an HTML entity's name (`amp`, `#39`, `#x2014`).
fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// The document title of a PDF's information dictionary: a literal string `(…)` (escapes
/// `\(`, `\)`, `\\` undone) or a UTF-16BE hex string `<FEFF…>`.
fn pdf_title(pdf: &[u8]) -> Option<String> {
    let at = memchr::memmem::find(pdf, b"/Title")? + b"/Title".len();
    let rest = pdf[at..].trim_ascii_start();
    match rest.first()? {
        b'(' => {
            let mut out = Vec::new();
            let mut bytes = rest[1..].iter();
            while let Some(&b) = bytes.next() {
                match b {
                    b')' => return String::from_utf8(out).ok(),
                    b'\\' => out.push(*bytes.next()?),
                    _ => out.push(b),
                }
            }
            None
        }
        b'<' => {
            let end = rest.iter().position(|b| *b == b'>')?;
            let hex = std::str::from_utf8(&rest[1..end]).ok()?;
            let units: Vec<u16> = (0..hex.len() / 4)
                .map(|i| u16::from_str_radix(&hex[i * 4..i * 4 + 4], 16).ok())
                .collect::<Option<_>>()?;
            let units = units.strip_prefix(&[0xFEFF]).unwrap_or(&units);
            String::from_utf16(units).ok()
        }
        _ => None,
    }
}

/// Overwrites the 14 digits after each `/CreationDate (D:` and `/ModDate (D:` with the as-of date
/// at midnight (`20261126000000`), in place.
pub fn fix_dates(pdf: &mut [u8], as_of: &str) {
    let stamp: Vec<u8> = as_of
        .bytes()
        .filter(u8::is_ascii_digit)
        .chain(*b"000000")
        .collect();
    if stamp.len() != 14 {
        return;
    }
    for key in [&b"/CreationDate (D:"[..], &b"/ModDate (D:"[..]] {
        let mut from = 0;
        while let Some(at) = memchr::memmem::find(&pdf[from..], key) {
            let start = from + at + key.len();
            let end = start + 14;
            if end <= pdf.len() && pdf[start..end].iter().all(u8::is_ascii_digit) {
                pdf[start..end].copy_from_slice(&stamp);
            }
            from = start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_printed_is_sealed_after_its_doctype() {
        let page = sealed("<!DOCTYPE html>\n<html><head><title>x</title>");
        assert!(
            page.starts_with("<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\""),
            "{page}"
        );
        assert!(sealed("<object data=\"file:///x\"></object>").starts_with("<meta "));
    }

    #[test]
    fn a_page_url_keeps_odd_folder_names_in_the_path() {
        assert_eq!(
            file_url(Path::new("/tmp/a#1/b%41 c/document.html")),
            "file:///tmp/a%231/b%2541%20c/document.html"
        );
    }

    #[test]
    fn a_pdf_is_the_page_only_when_its_title_is_the_pages() {
        let html = "<html><head><title>cipwatch run summary &amp; more &#8212; x</title>";
        let utf16: String = "cipwatch run summary & more \u{2014} x"
            .encode_utf16()
            .map(|u| format!("{u:04X}"))
            .collect();
        let good = format!("<</Title <FEFF{utf16}>\n/Creator (Mozilla)>>");
        assert!(prints_page(good.as_bytes(), html));
        assert!(!prints_page(b"<</Title (nope.html)>>", html));
        assert!(!prints_page(b"<</Producer (Skia)>>", html));
        let ascii = "<title>ascii (title)</title>";
        assert!(prints_page(br"<</Title (ascii \(title\))>>", ascii));
    }

    #[test]
    fn print_dates_become_the_as_of_date() {
        let mut pdf =
            b"<</CreationDate (D:20261130140521+00'00')\n/ModDate (D:20261130140522+00'00')>>"
                .to_vec();
        let len = pdf.len();
        fix_dates(&mut pdf, "2026-11-26");
        assert_eq!(pdf.len(), len);
        let text = String::from_utf8(pdf).unwrap();
        assert!(
            text.contains("/CreationDate (D:20261126000000+00'00')"),
            "{text}"
        );
        assert!(
            text.contains("/ModDate (D:20261126000000+00'00')"),
            "{text}"
        );
    }
}
