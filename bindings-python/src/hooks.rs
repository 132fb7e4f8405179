//! Entry points for the package's tests and benchmark only, compiled with the `test-hooks`
//! feature (`test.sh` builds with it; a release build has none of them).

use std::cell::Cell;

use pyo3::prelude::*;

use crate::boundary;

thread_local! {
    /// Whether the next boundary entered on this thread panics.
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

/// Called by [`boundary`] inside its `catch_unwind`: panics once after
/// [`_panic_in_next_boundary`] armed it.
pub(crate) fn panic_if_armed() {
    if ARMED.with(|armed| armed.replace(false)) {
        std::panic::panic_any("a panic injected by the tests".to_owned());
    }
}

/// Makes the next entry point called on this thread panic inside its boundary (`armed=True`), or
/// disarms; returns whether it was armed, so a test can tell that an entry point it called did
/// not reach a boundary.
#[pyfunction]
pub(crate) fn _panic_in_next_boundary(armed: bool) -> bool {
    ARMED.with(|cell| cell.replace(armed))
}

/// Panics inside the boundary.
#[pyfunction]
pub(crate) fn _panic_for_tests(py: Python<'_>, message: &str) -> PyResult<()> {
    boundary(py, || -> PyResult<()> {
        std::panic::panic_any(message.to_owned());
    })
}
