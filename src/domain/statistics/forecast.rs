//! Capacity forecasts: a least-squares line through a resource's cumulative net allocations
//! (to be written).
