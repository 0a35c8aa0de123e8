//! Moving alerts through the stages: which plugins see an alert, in what order, and what
//! they concluded.

mod route;
mod stage;

pub use route::AlertMatch;
pub use stage::Stage;
