//! The `cipwatch` binary: parse flags, run, map the error kind to an exit code. Nothing else.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its place in `mi_option_e` (mimalloc.h of mimalloc 3, which
/// libmimalloc-sys 0.1.49 builds, pinned in Cargo.toml; the crate names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long (ms) freed memory stays with mimalloc before it goes back to the system, instead of
/// mimalloc 3's default of a second (`options.c`: `purge_delay` 1000 ms): a run frees large tables
/// between steps, and the next step's peak should start from what is live, not from what was freed
/// a moment before. Not at once (0), though: then every morsel a Polars thread frees is returned
/// and faulted in again, zeroed, for the next one: system time, most of it page faults and
/// zeroing, was a third of the run's CPU time. Measured on both bench shapes at 10M rows (benches/RESULTS.md, "Freed memory
/// kept 20 ms"): 0 ms 52.0 s / 1,027 MB (gpu-heavy) and 15.3 s / 620 MB (default); 20 ms 43.1 s /
/// 1,178 MB and 12.7 s / 767 MB; 100 ms no faster, with more memory.
const PURGE_DELAY_MS: std::ffi::c_long = 20;

/// Sets [`PURGE_DELAY_MS`], unless `MIMALLOC_PURGE_DELAY` in the environment says otherwise.
fn purge_freed_memory_soon() {
    if cipwatch::config::env::get(cipwatch::config::env::PURGE_DELAY).is_none() {
        // SAFETY: sets an integer option; mimalloc reads options atomically at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

fn main() {
    cipwatch::sinks::owner_only_by_default();
    purge_freed_memory_soon();
    quiet_on_closed_pipe();
    let cli = match cipwatch::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout with exit 0; a bad flag is exit 2. Flag values are
        // echoed by clap's messages, so they are masked like every other message.
        Err(e) => {
            let text = cipwatch::pii::redact(&e.render().to_string()).into_owned();
            if e.use_stderr() {
                eprint!("{text}");
                std::process::exit(cipwatch::error::EXIT_USAGE);
            }
            print!("{text}");
            std::process::exit(0);
        }
    };
    let json = cli.log_format == cipwatch::commands::LogFormat::Json;
    let started = std::time::Instant::now();
    let code = match cipwatch::cli::execute(cli) {
        Ok(code) => code,
        Err(err) => {
            report(&err, json);
            err.exit_code()
        }
    };
    finished(code, started);
    std::process::exit(code);
}

/// The last log event of every command: `run_finished` with the exit code, the duration and, for
/// a run that published, its id, as-of date, levels and folder (no customer values).
fn finished(exit_code: i32, started: std::time::Instant) {
    let last = cipwatch::commands::run::last_published();
    tracing::info!(
        event = "run_finished",
        run_id = last.as_ref().map(|l| l.run_id.as_str()).unwrap_or(""),
        as_of = last.as_ref().map(|l| l.as_of.as_str()).unwrap_or(""),
        levels = serde_json::to_string(&last.as_ref().map(|l| &l.levels)).unwrap_or_default(),
        path = last.as_ref().map(|l| l.path.as_str()).unwrap_or(""),
        duration_s = started.elapsed().as_secs_f64(),
        exit_code,
        "finished"
    );
}

/// The error on stderr: a `cipwatch: ...` line (and the bug-report line for an internal error),
/// or with `--log-format json` one JSON log event like every other line. Messages name files,
/// rows and columns, not values; masked all the same.
fn report(err: &cipwatch::error::Error, json: bool) {
    let message = cipwatch::pii::redact(&err.to_string()).into_owned();
    let internal = err.exit_code() == cipwatch::error::EXIT_INTERNAL;
    if json {
        let hint = if internal {
            cipwatch::error::BUG_REPORT
        } else {
            ""
        };
        tracing::error!(
            kind = err.kind(),
            exit_code = err.exit_code(),
            hint,
            "{message}"
        );
        return;
    }
    eprintln!("cipwatch: {message}");
    if internal {
        eprintln!("cipwatch: {}", cipwatch::error::BUG_REPORT);
    }
}

/// A reader that stops early (`| head`, a pager closed) closes stdout: Rust's `print!` then
/// panics on the broken pipe. That is not a failure of the command: end quietly with exit 0, as
/// `grep` and `git` do. Any other failure to write stdout (a full disk) is a `cipwatch:` line and
/// exit 1, not a panic report. Every other panic keeps the default report.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("failed printing to stdout") {
            if text.contains("Broken pipe") {
                std::process::exit(0);
            }
            eprintln!("cipwatch: {text}");
            std::process::exit(cipwatch::error::EXIT_INTERNAL);
        }
        default(info);
    }));
}
