//! Tests of this area (being written).
