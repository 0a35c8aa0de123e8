//! End to end: the c plugin `hash-blocklist`, built from source with its pinned toolchain, through the real binary.
