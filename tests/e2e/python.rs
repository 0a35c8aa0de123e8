//! End to end: the python plugin `phishing-triage`, built from source with its pinned toolchain, through the real binary.
