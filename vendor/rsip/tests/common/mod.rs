pub mod method;
pub mod status_code;
pub mod transport;
pub mod uri;
pub mod version;
