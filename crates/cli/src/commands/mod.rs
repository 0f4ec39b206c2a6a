//! One module per subcommand.

pub mod catalogue;
pub mod check;
pub mod init;
pub mod route;
pub mod schema;
