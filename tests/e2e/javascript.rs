//! End to end: the javascript plugin `impossible-travel`, built from source with its pinned toolchain, through the real binary.
