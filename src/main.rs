//! The `cipwatch` binary: parse flags, run, map the error kind to an exit code. Nothing else.

use clap::Parser;

fn main() {
    let cli = cipwatch::cli::Cli::parse();
    let code = match cipwatch::cli::execute(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("cipwatch: {err}");
            err.exit_code()
        }
    };
    std::process::exit(code);
}
