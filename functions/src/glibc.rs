//! `hypot` and `hypotf` for Lambda's glibc.
//!
//! Lambda's `provided.al2023` has glibc 2.34; glibc 2.35 gave `hypot` and
//! `hypotf` new symbol versions. polars' SQL features (which the local
//! cloud's query engine switches on for the whole workspace, so polars
//! compiles once) reach them, so a function linked on a newer host would
//! need `GLIBC_2.35` and fail to start on Lambda (the package builder
//! refuses such a binary). Defined here, from `libm` (a port of musl's
//! math), the calls resolve inside the binary and the host's glibc version
//! no longer matters for them.

// `no_mangle` is the one way to define a C symbol; the functions
// themselves are safe Rust.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn hypot(x: f64, y: f64) -> f64 {
    libm::hypot(x, y)
}

#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn hypotf(x: f32, y: f32) -> f32 {
    libm::hypotf(x, y)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hypot_is_the_euclidean_norm() {
        assert_eq!(super::hypot(3.0, 4.0), 5.0);
        assert_eq!(super::hypotf(5.0, 12.0), 13.0);
    }
}
