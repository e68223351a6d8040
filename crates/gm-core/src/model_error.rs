//! [`model_error!`](crate::model_error): the error enum of a gm model crate, with the variants
//! every such crate shares written once.

/// Defines a model crate's `Error` and `Result`: the variants every gm model crate shares
/// (`Candle`, `Core`, `Config`, `Shape`), then the crate's own, the constructors
/// `Error::config` and `Error::shape`, and the conversion into [`crate::Error`] that carries
/// the crate's error to `fit`'s caller as a value (`gm_core::Error::Model`; gm-core's and
/// candle's errors pass through as themselves).
///
/// The calling crate depends on `thiserror` and `candle-core`.
///
/// ```ignore
/// gm_core::model_error! {
///     "gm-flow";
///     /// A matrix that should be invertible is singular to working precision.
///     #[error("{0}: the matrix is singular")]
///     Singular(&'static str),
/// }
/// ```
#[macro_export]
macro_rules! model_error {
    ($name:literal; $($own:tt)*) => {
        #[doc = concat!("Everything that can go wrong in ", $name, ".")]
        #[derive(Debug, thiserror::Error)]
        #[non_exhaustive]
        pub enum Error {
            /// A tensor operation failed in candle.
            #[error(transparent)]
            Candle(#[from] candle_core::Error),

            /// An error raised by gm-core.
            #[error(transparent)]
            Core(#[from] $crate::Error),

            /// A configuration field holds an invalid value.
            #[error("invalid configuration: {field} = {value}: {reason}")]
            Config {
                /// The field's name (dotted for nested fields).
                field: &'static str,
                /// The rejected value, as text.
                value: String,
                /// What the value must satisfy.
                reason: &'static str,
            },

            /// Data of the wrong shape for the model.
            #[error("shape mismatch: {what}: got {got:?}, expected {expected:?}")]
            Shape {
                /// What was being checked.
                what: &'static str,
                /// The shape received.
                got: Vec<usize>,
                /// The shape wanted (a 0 stands for any size where `what` says so).
                expected: Vec<usize>,
            },

            $($own)*
        }

        #[doc = concat!("Result with ", $name, "'s [`Error`].")]
        pub type Result<T> = std::result::Result<T, Error>;

        impl Error {
            /// A [`Error::Config`] naming the field, the rejected value and the rule.
            #[allow(dead_code)]
            pub(crate) fn config(
                field: &'static str,
                value: impl ToString,
                reason: &'static str,
            ) -> Self {
                Error::Config {
                    field,
                    value: value.to_string(),
                    reason,
                }
            }

            /// A [`Error::Shape`] from the shape received and the shape wanted.
            #[allow(dead_code)]
            pub(crate) fn shape(what: &'static str, got: &[usize], expected: &[usize]) -> Self {
                Error::Shape {
                    what,
                    got: got.to_vec(),
                    expected: expected.to_vec(),
                }
            }
        }

        impl From<Error> for $crate::Error {
            fn from(e: Error) -> Self {
                match e {
                    Error::Core(e) => e,
                    Error::Candle(e) => $crate::Error::Candle(e),
                    other => $crate::Error::model(other),
                }
            }
        }
    };
}
