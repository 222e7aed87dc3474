//! Lifecycle labels and host device types.
//!
//! A region or host is `Active` (usable) or `Reserved` (kept, but a region refuses new hosts).
//! Retiring a region or releasing a host is a hard delete that frees the address, so there is
//! deliberately no `Retired`/`Released` status that would keep occupying space.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! label_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(
                #[doc = $text]
                #[serde(rename = $text)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Case-insensitive lookup of the canonical text.
            pub fn from_text(raw: &str) -> Option<Self> {
                let raw = raw.trim();
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(raw))
            }

            fn choices() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

label_enum!(
    /// Status of a region.
    RegionStatus { Active => "Active", Reserved => "Reserved" }
);
label_enum!(
    /// Status of a host.
    HostStatus { Active => "Active", Reserved => "Reserved" }
);
label_enum!(
    /// Kind of device a host is.
    DeviceType {
        Vm => "VM",
        Container => "Container",
        Physical => "Physical",
        Network => "Network",
        Storage => "Storage",
        Other => "Other",
    }
);

impl RegionStatus {
    /// Parses a status, explaining how to retire instead of accepting `Retired`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::from_text(raw).ok_or_else(|| {
            if raw.trim().eq_ignore_ascii_case("retired") {
                "regions are retired with DELETE /ipam/regions/{region_id}, which frees the block; \
                 status must be one of: Active, Reserved"
                    .into()
            } else {
                format!("must be one of: {}", Self::choices())
            }
        })
    }
}

impl HostStatus {
    /// Parses a status, explaining how to release instead of accepting `Released`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::from_text(raw).ok_or_else(|| {
            if raw.trim().eq_ignore_ascii_case("released") || raw.trim().eq_ignore_ascii_case("retired") {
                "hosts are released with DELETE /ipam/hosts/{host_id}, which frees the address; \
                 status must be one of: Active, Reserved"
                    .into()
            } else {
                format!("must be one of: {}", Self::choices())
            }
        })
    }
}

impl DeviceType {
    /// Parses a device type (case-insensitive).
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::from_text(raw).ok_or_else(|| format!("must be one of: {}", Self::choices()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_case_insensitively_and_print_canonically() {
        assert_eq!(RegionStatus::parse("active"), Ok(RegionStatus::Active));
        assert_eq!(HostStatus::parse(" RESERVED "), Ok(HostStatus::Reserved));
        assert_eq!(DeviceType::parse("vm").unwrap().as_str(), "VM");
    }

    #[test]
    fn soft_deletion_statuses_point_to_the_delete_endpoints() {
        assert!(RegionStatus::parse("Retired").unwrap_err().contains("DELETE /ipam/regions"));
        assert!(HostStatus::parse("Released").unwrap_err().contains("DELETE /ipam/hosts"));
        assert!(DeviceType::parse("Toaster").unwrap_err().contains("VM, Container"));
    }
}
