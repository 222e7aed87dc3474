//! Allocation trends: zero-filled buckets of allocations and releases (to be written).
