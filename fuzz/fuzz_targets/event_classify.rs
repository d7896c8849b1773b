//! The event view and the classifier: any JSON text either is not an event object, or gets an
//! engine and a class under every envelope version, and its accessors and time parse never
//! panic. The hand-walked read of an event reads the view serde reads, or leaves it to serde.
#![no_main]

use das_partitioner::classify::{ActivityClass, Engine, classify};
use das_partitioner::decode::EventView;
use das_partitioner::decode::event::hand_read_disagreement;
use das_partitioner::output::partition::{fast_time_disagreement, parse_event_time};
use fuzz_support::ENVELOPE_VERSIONS;
use libfuzzer_sys::fuzz_target;

const ENGINES: [Engine; 5] = [
    Engine::PostgreSql,
    Engine::MySql,
    Engine::Oracle,
    Engine::SqlServer,
    Engine::Unknown,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(difference) = hand_read_disagreement(text) {
        panic!("the hand read and serde disagree: {difference}");
    }
    let Ok(event) = EventView::parse(text) else { return };
    let _ = (
        event.is_heartbeat(),
        event.db_user(),
        event.command(),
        event.command_text(),
    );
    if let Some(time) = event.event_time() {
        let _ = parse_event_time(time);
        if let Some(difference) = fast_time_disagreement(time) {
            panic!("the time parsers disagree: {difference}");
        }
    }
    for version in ENVELOPE_VERSIONS {
        let engine = Engine::detect(&event, version);
        let class = classify(engine, &event);
        assert_eq!(ActivityClass::from_name(class.as_str()), Some(class));
    }
    for engine in ENGINES {
        let _ = classify(engine, &event);
    }
});
