//! `leadcard-server`: serve (the default), `operator ...` (add, list, role, disable, enable,
//! reset-password), `project show`, `import FILE` (leads from CSV). The benchmark tools live apart, in `leadcard-bench`
//! (crates/bench).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::Parser;
use leadcard_core::account::{NewOperatorAccount, OperatorChange};
use leadcard_server::accounts::{self, AccountError};
use leadcard_server::config::{
    Cli, Command, DatabaseArgs, ImportArgs, OnMatchArg, OperatorAddArgs, OperatorCommand, ProjectCommand,
};
use leadcard_server::demo::{DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD};
use leadcard_server::import::{ImportOptions, import_file, read_header};
use leadcard_server::store::{OnMatch, Store};
use leadcard_server::{Application, Clock, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.log).unwrap_or_else(|e| {
        eprintln!("--log {:?} is not a valid filter ({e}); using info", cli.log);
        EnvFilter::new("info")
    });
    // Colours only for a person at a terminal; log collectors get plain lines.
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();

    let result = match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(config)) => serve(*config).await,
        Some(Command::Operator(command)) => operator_command(command).await,
        Some(Command::Project(ProjectCommand::Show(args))) => show_project(args).await,
        Some(Command::Import(args)) => import(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let app = Application::build(config).await.map_err(|e| e.to_string())?;
    let address = app.address();
    let host = if address.ip().is_unspecified() { "127.0.0.1".to_owned() } else { address.ip().to_string() };
    println!("leadcard is listening on http://{host}:{}/", address.port());
    if app.demo_site() {
        println!("Demo operator: {DEMO_OPERATOR_EMAIL} / {DEMO_OPERATOR_PASSWORD}");
        println!("Demo site: http://{host}:{}/demo/ (project key {})", address.port(), app.project().public_key);
    }
    app.run_until_stopped().await.map_err(|e| format!("server stopped: {e}"))
}

async fn add_operator(args: OperatorAddArgs) -> Result<(), String> {
    let password = if args.link {
        None
    } else {
        eprintln!("Password for {} (one line on standard input):", args.email.trim());
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the password: {e}"))?;
        Some(line.trim_end_matches(['\n', '\r']).to_owned())
    };
    let new = NewOperatorAccount { email: args.email, name: args.name, role: args.role.into(), password };
    let store = Store::connect(&args.database.database_url).await.map_err(|e| e.to_string())?;
    let added = accounts::add(&store, &new, &args.public.public_url, Clock::default().now()).await;
    store.close().await;
    let added = added.map_err(account_error)?;
    let operator = &added.operator;
    println!("Added operator {} ({:?}, id {})", operator.email, operator.role, operator.id);
    if let Some(link) = added.password_link {
        println!("Set-password link (once, until {}): {}", link.expires_at.format("%Y-%m-%d %H:%M UTC"), link.link);
    }
    Ok(())
}

/// An account refusal as the command line says it: the field as its flag.
fn account_error(e: AccountError) -> String {
    match e {
        AccountError::Invalid(e) => format!("--{}: {}", e.field.replace('_', "-"), e.message),
        other => other.to_string(),
    }
}

async fn operator_command(command: OperatorCommand) -> Result<(), String> {
    let now = Clock::default().now();
    let (database, email) = match &command {
        OperatorCommand::Add(args) => return add_operator(args.clone()).await,
        OperatorCommand::List(database) => (database.clone(), None),
        OperatorCommand::Role(args) => (args.database.clone(), Some(args.email.clone())),
        OperatorCommand::Disable(args) | OperatorCommand::Enable(args) => {
            (args.database.clone(), Some(args.email.clone()))
        }
        OperatorCommand::ResetPassword(args) => (args.database.clone(), Some(args.email.clone())),
    };
    let store = Store::connect(&database.database_url).await.map_err(|e| e.to_string())?;
    let result = async {
        let id = match email {
            Some(email) => {
                let found = store.operator_by_email(&email).await.map_err(|e| e.to_string())?;
                Some(found.ok_or_else(|| format!("no operator has the email {}", email.trim()))?.operator.id)
            }
            None => None,
        };
        let change = |role, disabled| OperatorChange { role, disabled };
        let changed = match (&command, id) {
            (OperatorCommand::Role(args), Some(id)) => Some((id, change(Some(args.role.into()), None))),
            (OperatorCommand::Disable(_), Some(id)) => Some((id, change(None, Some(true)))),
            (OperatorCommand::Enable(_), Some(id)) => Some((id, change(None, Some(false)))),
            (OperatorCommand::ResetPassword(args), Some(id)) => {
                let link =
                    accounts::password_link(&store, id, &args.link.public_url, now).await.map_err(account_error)?;
                println!(
                    "Set-password link (once, until {}): {}",
                    link.expires_at.format("%Y-%m-%d %H:%M UTC"),
                    link.link
                );
                None
            }
            _ => {
                for o in store.operator_accounts(now).await.map_err(|e| e.to_string())? {
                    let state = if o.disabled {
                        "disabled"
                    } else if o.has_password {
                        "active"
                    } else {
                        "link not used"
                    };
                    println!("{}\t{}\t{:?}\t{state}\t{} sessions", o.email, o.name, o.role, o.sessions);
                }
                None
            }
        };
        if let Some((id, change)) = changed {
            let (account, ended) = accounts::change(&store, id, &change, now).await.map_err(account_error)?;
            let state = if account.disabled { "disabled" } else { "enabled" };
            println!("{}: {:?}, {state}; {} sessions ended", account.email, account.role, ended.len());
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}

/// `import FILE`: the same import as the console's, with its progress on standard error and the
/// report (and every problem row) on standard output.
async fn import(args: ImportArgs) -> Result<(), String> {
    let store = Store::connect(&args.database.database_url).await.map_err(|e| e.to_string())?;
    let on_match = match args.on_match {
        OnMatchArg::Update => OnMatch::Update,
        OnMatchArg::Skip => OnMatch::Skip,
    };
    let options = ImportOptions { map: args.map.clone(), mapping: None, on_match, dry_run: args.dry_run };
    let (header, mapping) = read_header(&args.file, &options.map).map_err(|e| e.to_string())?;
    for (column, target) in header.iter().zip(&mapping) {
        eprintln!("{column:>24} -> {target:?}");
    }
    let clock = Clock::default();
    let report = import_file(&store, &clock, &args.file, &options, |report| {
        eprintln!(
            "{} rows read: {} created, {} updated, {} skipped, {} refused",
            report.rows, report.created, report.updated, report.skipped, report.failed
        );
        true
    })
    .await;
    store.close().await;
    let report = report.map_err(|e| e.to_string())?;
    for (line, problem) in &report.problems {
        println!("{}", leadcard_server::import::problem_line(*line, problem));
    }
    let verb = if args.dry_run { "would be" } else { "were" };
    println!(
        "{} rows: {} {verb} created, {} {verb} updated, {} skipped, {} refused{}",
        report.rows,
        report.created,
        report.updated,
        report.skipped,
        report.failed,
        if report.failed as usize > report.problems.len() { " (the first 1,000 listed)" } else { "" }
    );
    Ok(())
}

async fn show_project(args: DatabaseArgs) -> Result<(), String> {
    let store = Store::connect(&args.database_url).await.map_err(|e| e.to_string())?;
    let project = store.ensure_project(Clock::default().now()).await.map_err(|e| e.to_string())?;
    store.close().await;
    println!("project:    {}", project.name);
    println!("public key: {}", project.public_key);
    println!("secret key: {}", project.secret_key);
    println!(
        "snippet:    <script src=\"https://LEADCARD-HOST/widget.js\" data-key=\"{}\" async></script>",
        project.public_key
    );
    Ok(())
}
