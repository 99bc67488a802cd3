//! The only code that runs the stages in order: collect, extract, correlate,
//! route and digest, deliver. Each step reads its input from the store,
//! calls one stage and writes the output back, so a crash between steps
//! loses nothing: the next pass picks up what is still pending.

pub mod collect;
pub mod correlate;
pub mod deliver;
pub mod extract;
pub mod route;
