//! Unit tests that need more than one module (certificates issued by `build`, read back by
//! `inspect`). They live here, a module nothing else refers to, so that `build` and `inspect`
//! do not refer to each other.

mod build;
mod inspect;
mod served;
