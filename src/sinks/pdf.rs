//! PDF copies of the HTML documents, printed by headless Chromium (Debian's `chromium`, which
//! `tests/browser/setup.sh` installs). Page n of N, the running header (the document's reference
//! and the confidentiality marking) and the page breaks come from the templates' print CSS
//! (`@page` margin boxes), so the PDF and the HTML have one source. The browser reads a local
//! file only, with name resolution and every background service disabled. Chromium stamps the
//! print time in the PDF's `CreationDate` and `ModDate`: both are overwritten in place with the
//! as-of date (same length, so the cross-reference offsets stay valid), and the same inputs give
//! the same bytes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt;

/// How long one document may take to print before the browser is taken for hung.
const PRINT_TIMEOUT: Duration = Duration::from_secs(120);

use crate::error::{Context, Error, Result};

/// The script that installs Chromium, named in the error when it is missing.
pub const SETUP: &str = "tests/browser/setup.sh";

/// Environment variable naming the browser to use instead of `chromium` on `PATH`.
pub const BROWSER_ENV: &str = "CIPWATCH_CHROMIUM";

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

/// The browser: `CIPWATCH_CHROMIUM` when set, else `chromium` or `chromium-browser` on `PATH`.
///
/// Errors: reference data (exit 4) naming the setup script when there is none.
pub fn browser() -> Result<PathBuf> {
    let missing = || {
        Error::Reference(format!(
            "PDF documents need Chromium, which was not found (set {BROWSER_ENV} or run bash {SETUP})"
        ))
    };
    if let Some(path) = std::env::var_os(BROWSER_ENV) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path).ok_or_else(missing);
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
        .ok_or_else(missing)
}

/// The PDF of every HTML document of `documents` (relative path → text), at the same path with
/// `.pdf`, in order; `as_of` (YYYY-MM-DD) dates them.
///
/// Errors: reference data (exit 4) when there is no browser; internal when printing fails.
pub fn print_all(documents: &[(String, String)], as_of: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let browser = browser()?;
    documents
        .iter()
        .filter_map(|(rel, text)| rel.strip_suffix(".html").map(|stem| (stem, text)))
        .map(|(stem, text)| Ok((format!("{stem}.pdf"), print(&browser, text, as_of)?)))
        .collect()
}

/// Prints one HTML document to PDF with `browser`; `as_of` (YYYY-MM-DD) dates the PDF.
///
/// Errors: reference data (exit 4) when the browser prints no PDF or takes longer than
/// `PRINT_TIMEOUT` (it is killed); internal when the scratch folder cannot be written.
pub fn print(browser: &Path, html: &str, as_of: &str) -> Result<Vec<u8>> {
    let scratch = tempfile::Builder::new()
        .prefix("cipwatch-pdf-")
        .tempdir()
        .or_internal("PDF scratch folder")?;
    let page = scratch.path().join("document.html");
    let pdf = scratch.path().join("document.pdf");
    crate::sinks::tables::write_bytes(html.as_bytes(), &page)?;
    let mut child = Command::new(browser)
        .args(FLAGS)
        .arg(format!(
            "--user-data-dir={}",
            scratch.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .env("TZ", "UTC")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .or_internal(format!("starting {}", browser.display()))?;
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
    fix_dates(&mut bytes, as_of);
    Ok(bytes)
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
