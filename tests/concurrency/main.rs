//! Concurrency invariants (being written).
