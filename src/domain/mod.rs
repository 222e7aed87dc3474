//! Domain types: every constrained value is a newtype built by a parser at the edge
//! ("parse, don't validate"), plus the aggregates (regions, hosts, audit events, quotas,
//! notifications and the rules that raise them).

pub mod address;
pub mod allocation;
pub mod audit;
pub mod bulk;
pub mod comment;
pub mod country;
pub mod country_table;
pub mod delivery;
pub mod event;
pub mod host;
pub mod ids;
pub mod notification;
pub mod notification_rule;
pub mod paging;
pub mod preferences;
pub mod queue_binding;
pub mod quota;
pub mod region;
pub mod reservation;
pub mod share;
pub mod slots;
pub mod statistics;
pub mod status;
pub mod tag_change;
pub mod tags;
pub mod text;
pub mod webhook;

pub use address::{Cidr, OctetRange, TenAddress};
pub use audit::{AuditAction, AuditEvent, AuditResource, FieldChange};
pub use bulk::{BulkInputs, BulkItemResult, BulkJob, BulkJobStatus, BulkResourceType, BulkTarget};
pub use comment::{Comment, CommentTarget};
pub use country::{Country, CountryCatalog, CountryCode};
pub use delivery::{
    AttemptOutcome, AttemptRecorded, Delivery, DeliveryAttempt, DeliveryState, DeliveryStep, WebhookAfterAttempt,
};
pub use event::{DomainEvent, EventType};
pub use host::{Host, HostDetails, HostPatch, HostTemplate, NewHost};
pub use ids::ForecastRequestId;
pub use ids::{
    AuditId, BulkJobId, CommentId, DeliveryId, EventId, FilterId, HostId, NotificationId, RegionId, ReservationId,
    RuleId, ShareId, UserId, Username, WebhookId,
};
pub use notification::{
    Notification, NotificationCreated, NotificationResource, NotificationSettings, NotificationType, Routing, Severity,
};
pub use notification_rule::{
    Channel, Channels, Cooldown, NotificationRule, Observation, ObservedResource, ResourceKey, RuleConditions,
    RuleName, RulePatch, RulePatchRequest, RuleRequest, RuleState, WatchedKind, WatchedResource,
};
pub use paging::{Page, PageRequest};
pub use preferences::{FilterCriteria, FilterName, Preferences, PreferencesPatch, SavedFilter, Theme};
pub use queue_binding::QueueBinding;
pub use quota::{QuotaDefaults, QuotaPatch, QuotaUsage};
pub use region::{NewRegion, Region, RegionPatch};
pub use reservation::{Conversion, NewReservation, Reservation, ReservationKind, ReservationStatus};
pub use share::{Share, ShareKind, ShareToken};
pub use slots::SlotMap;
pub use status::{DeviceType, HostStatus, RegionStatus};
pub use tag_change::{TagChange, TagOperation};
pub use tags::{TagFilter, Tags};
pub use text::{
    Application, CommentText, CostCenter, Description, Hostname, HostnamePrefix, Notes, OsType, OwnerLabel, Purpose,
    Reason, RegionName, ReservationReason, SearchText,
};
pub use webhook::{Webhook, WebhookEvents, WebhookPatch, WebhookSecret, WebhookUrl};
