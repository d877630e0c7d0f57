//! Authentication: passwords, access tokens (JWT), refresh tokens, the `Caller` extractor and
//! the role policy.

pub mod caller;
pub mod jwt;
pub mod one_time;
pub mod password;
pub mod policy;
pub mod rate_limit;
pub mod refresh;

pub use caller::Caller;
pub use policy::Role;
