//! Stage 3, decode: the verified plaintext becomes events. [`inflate`] gunzips it under a cap,
//! [`payload`] reads the DAS payload (events kept as raw JSON text), and [`event`] gives a
//! borrowed view of the few fields classification reads.

pub mod event;
pub mod inflate;
pub mod payload;

pub use event::EventView;
pub use inflate::{InflateError, gunzip};
pub use payload::{Payload, PayloadError, PayloadEvent, parse_payload};
