//! The `cipwatch` binary: parse flags, run, map the error kind to an exit code. Nothing else.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
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
    let code = match cipwatch::cli::execute(cli) {
        Ok(code) => code,
        Err(err) => {
            // Messages name files, rows and columns, not values; masked all the same.
            eprintln!("cipwatch: {}", cipwatch::pii::redact(&err.to_string()));
            if err.exit_code() == cipwatch::error::EXIT_INTERNAL {
                eprintln!("cipwatch: {}", cipwatch::error::BUG_REPORT);
            }
            err.exit_code()
        }
    };
    std::process::exit(code);
}
