//! One module per subcommand.

pub mod admin;
pub mod catalogue;
pub mod check;
pub mod client;
pub mod import;
pub mod init;
pub mod manifest;
pub mod push;
pub mod review;
pub mod route;
pub mod schema;
pub mod serve;
pub mod submit;
pub mod worker;
