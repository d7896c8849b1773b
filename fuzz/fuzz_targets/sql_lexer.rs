//! The SQL lexer and statement classifier: any text classifies without panicking, and the lexer
//! makes progress (no more tokens than bytes), so no text can hang it.
#![no_main]

use das_partitioner::classify::sql::lexer::Lexer;
use das_partitioner::classify::sql::{classify_sql, words};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = classify_sql(&text);
    assert!(words(&text).count() <= text.len());
    let mut lexer = Lexer::new(&text);
    let mut tokens = 0usize;
    while lexer.next_tok().is_some() {
        tokens += 1;
        assert!(tokens <= text.len(), "the lexer stopped making progress");
    }
});
