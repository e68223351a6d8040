//! What a user looks at: image grids (PNG), loss curves (SVG) and the run report (HTML).

pub mod grid;
pub mod plot;
pub mod report;

pub use grid::{save_grid, save_scatter};
pub use plot::{plot_curves, plot_error_bars, ErrorCurve, Series};
pub use report::{update_report, write_report, REPORT_METRICS_FILE};
