//! Errors of gm-inverse: one variant per bad configuration value or mismatched shape, each
//! naming the field or the tensor at fault.

gm_core::model_error! {
    "gm-inverse";
}
