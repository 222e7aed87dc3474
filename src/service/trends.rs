//! The allocation trends use case (to be written).
