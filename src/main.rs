//! The `cipwatch` binary: parse flags, run, map the error kind to an exit code. Nothing else.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = cipwatch::cli::Cli::parse();
    let code = match cipwatch::cli::execute(cli) {
        Ok(code) => code,
        Err(err) => {
            // Messages name files, rows and columns, not values; masked all the same.
            eprintln!("cipwatch: {}", cipwatch::pii::redact(&err.to_string()));
            err.exit_code()
        }
    };
    std::process::exit(code);
}
