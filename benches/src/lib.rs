//! Workloads for the benchmarks (placeholder).
