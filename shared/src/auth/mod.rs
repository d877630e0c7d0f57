//! Authentication: passwords, access tokens (JWT), refresh tokens, two-factor authentication
//! (TOTP, recovery codes), the `Caller` extractor and the role policy.

pub mod caller;
pub mod jwt;
pub mod mfa;
pub mod oidc;
pub mod one_time;
pub mod password;
pub mod permissions;
pub mod policy;
pub mod rate_limit;
pub mod refresh;
pub mod scope;
pub mod totp;
pub mod totp_keys;

pub use caller::Caller;
pub use permissions::Permission;
pub use policy::Role;
pub use scope::Scope;
