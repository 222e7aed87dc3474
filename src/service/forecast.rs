//! The capacity forecast use case, served from the result cache (to be written).
