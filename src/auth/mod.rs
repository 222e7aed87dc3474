//! Who is calling and what they may do: permissions, the authenticated [`Actor`], and HS256
//! bearer tokens (minted by `ipam token`, verified by the API).

mod token;

pub use token::{Claims, TokenError, TokenKeys};

use std::fmt;

use crate::domain::{UserId, Username};

/// One permission. `ipam:admin` implies every other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `ipam:read`: read anything in one's own namespace.
    Read,
    /// `ipam:allocate`: allocate regions and hosts.
    Allocate,
    /// `ipam:update`: change fields, comment.
    Update,
    /// `ipam:release`: retire regions, release hosts.
    Release,
    /// `ipam:admin`: everything, plus quota administration.
    Admin,
}

impl Permission {
    /// Every permission.
    pub const ALL: &'static [Permission] = &[Self::Read, Self::Allocate, Self::Update, Self::Release, Self::Admin];

    /// Wire name, e.g. `ipam:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "ipam:read",
            Self::Allocate => "ipam:allocate",
            Self::Update => "ipam:update",
            Self::Release => "ipam:release",
            Self::Admin => "ipam:admin",
        }
    }

    /// Parses a wire name (exact).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.as_str() == raw.trim())
    }

    fn bit(self) -> u8 {
        match self {
            Self::Read => 1,
            Self::Allocate => 2,
            Self::Update => 4,
            Self::Release => 8,
            Self::Admin => 16,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// The empty set.
    pub fn none() -> Self {
        Self(0)
    }

    /// Builds a set.
    pub fn of(perms: &[Permission]) -> Self {
        Self(perms.iter().fold(0, |acc, p| acc | p.bit()))
    }

    /// Parses wire names; unknown names are returned as the error.
    pub fn parse_list<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut set = Self::none();
        for name in names {
            let p = Permission::parse(name).ok_or_else(|| {
                format!(
                    "unknown permission '{name}' (expected {})",
                    Permission::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
                )
            })?;
            set.0 |= p.bit();
        }
        Ok(set)
    }

    /// True when `p` is granted (directly or through `ipam:admin`).
    pub fn allows(self, p: Permission) -> bool {
        self.0 & Permission::Admin.bit() != 0 || self.0 & p.bit() != 0
    }

    /// The granted permissions.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.iter().copied().filter(move |p| self.0 & p.bit() != 0)
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// User id; also the namespace everything they touch lives in.
    pub user_id: UserId,
    /// Username.
    pub username: Username,
    /// What they may do.
    pub permissions: Permissions,
}

impl Actor {
    /// The platform itself, as the author of what scheduled jobs record (expiries).
    pub fn system() -> Self {
        Self {
            user_id: UserId::from_stored("system".into()),
            username: Username::from_stored("system".into()),
            permissions: Permissions::of(&[Permission::Admin]),
        }
    }

    /// True when the caller holds `p`.
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.allows(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_implies_every_permission() {
        let admin = Permissions::of(&[Permission::Admin]);
        assert!(Permission::ALL.iter().all(|p| admin.allows(*p)));
        let reader = Permissions::of(&[Permission::Read]);
        assert!(reader.allows(Permission::Read));
        assert!(!reader.allows(Permission::Allocate));
        assert!(!reader.allows(Permission::Admin));
    }

    #[test]
    fn permission_lists_parse_strictly() {
        let p = Permissions::parse_list(["ipam:read", "ipam:allocate"]).unwrap();
        assert_eq!(p.iter().collect::<Vec<_>>(), [Permission::Read, Permission::Allocate]);
        assert!(Permissions::parse_list(["ipam:root"]).unwrap_err().contains("unknown permission"));
    }
}
