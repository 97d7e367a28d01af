//! `leadcard-server`: serve (the default), `operator add`, `project show`. The benchmark tools
//! live apart, in `leadcard-bench` (crates/bench).

use std::io::BufRead;
use std::process::ExitCode;

use clap::Parser;
use leadcard_core::EmailAddress;
use leadcard_server::auth::password::{check_new_password, hash_password};
use leadcard_server::config::{Cli, Command, DatabaseArgs, OperatorAddArgs, OperatorCommand, ProjectCommand};
use leadcard_server::demo::{DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD};
use leadcard_server::store::{NewOperator, Store};
use leadcard_server::{Application, Clock, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.log).unwrap_or_else(|e| {
        eprintln!("--log {:?} is not a valid filter ({e}); using info", cli.log);
        EnvFilter::new("info")
    });
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    let result = match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(config)) => serve(config).await,
        Some(Command::Operator(OperatorCommand::Add(args))) => add_operator(args).await,
        Some(Command::Project(ProjectCommand::Show(args))) => show_project(args).await,
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
    let email = EmailAddress::parse(&args.email).map_err(|e| format!("--email {e}"))?;
    let name = args.name.trim().to_owned();
    if name.is_empty() {
        return Err("--name cannot be empty".to_owned());
    }
    eprintln!("Password for {email} (one line on standard input):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the password: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    check_new_password(&password)?;
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;

    let store = Store::connect(&args.database.database_url).await.map_err(|e| e.to_string())?;
    let new = NewOperator { email: email.to_string(), name, role: args.role.into(), password_hash };
    let operator = store.create_operator(&new, Clock::default().now()).await.map_err(|e| e.to_string())?;
    store.close().await;
    println!("Added operator {} ({:?}, id {})", operator.email, operator.role, operator.id);
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
