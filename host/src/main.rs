//! The `memwarden` binary: parses arguments, runs one command, and maps the
//! result to an exit code in one place.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    cli::init_tracing(args.verbose);
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`memwarden … | head`) is not worth a message.
            let broken_pipe = err
                .chain()
                .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
                .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
            if !broken_pipe {
                // The chain may quote LLM or file text: escape it (issue 9).
                eprintln!("memwarden: {} [{}]", cli::printable(&cli::one_line(&err)), cli::error_code(&err));
            }
            ExitCode::from(2)
        }
    }
}
