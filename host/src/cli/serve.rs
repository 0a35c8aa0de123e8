use super::exit;
use palisade_service::ServeError;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The configuration file; its `[serve]` table says where to listen and who may send.
    #[arg(short, long, default_value = "palisade.toml")]
    config: PathBuf,
    /// The address and port to listen on, instead of `[serve] listen` (port 0: any free one;
    /// the address taken is printed as `listening on URL`).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

pub async fn serve(args: ServeArgs) -> u8 {
    match palisade_service::serve(&args.config, args.listen).await {
        Ok(()) => exit::OK,
        Err(ServeError::Config(errors)) => {
            eprintln!("{errors}");
            exit::FATAL
        }
        Err(ServeError::Start(error)) => {
            eprintln!("error: {error}");
            exit::FATAL
        }
    }
}
