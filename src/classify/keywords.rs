//! Every keyword table of the classifier, in one place: the statement heads of SQL text, the
//! words that mark privilege and account changes in action names, and the per-engine command
//! and class names that decide a class on their own.

use super::ActivityClass;

/// Words of an action name that make it a privilege or account change (DDL): Oracle
/// "SYSTEM GRANT", SQL Server "CHANGE PASSWORD", "ADD MEMBER", "TAKE OWNERSHIP".
pub const PRIVILEGE_WORDS: &[&str] = &[
    "GRANT",
    "REVOKE",
    "DENY",
    "AUDIT",
    "NOAUDIT",
    "PASSWORD",
    "MEMBER",
    "OWNERSHIP",
];

/// pgaudit classes that decide the activity class on their own (ROLE: GRANT, REVOKE,
/// CREATE/ALTER/DROP ROLE). FUNCTION, MISC, ALL and NONE say nothing: the text decides.
pub const PGAUDIT_CLASSES: &[(&str, ActivityClass)] = &[
    ("DDL", ActivityClass::Ddl),
    ("ROLE", ActivityClass::Ddl),
    ("WRITE", ActivityClass::Dml),
    ("READ", ActivityClass::Read),
];

/// The activity class a pgaudit class name decides, case-insensitive and trimmed.
pub fn pgaudit_class(class: &str) -> Option<ActivityClass> {
    let class = crate::text::trim(class);
    PGAUDIT_CLASSES
        .iter()
        .find(|(name, _)| class.eq_ignore_ascii_case(name))
        .map(|(_, c)| *c)
}

/// Aurora MySQL AUX table events that change a schema.
pub const MYSQL_AUX_DDL: &[&str] = &["CREATE", "DROP", "ALTER", "RENAME"];

/// Aurora MySQL AUX table events that change data.
pub const MYSQL_AUX_DML: &[&str] = &["WRITE", "DELETE", "UPDATE", "INSERT"];

/// First words of a data-modifying statement inside a CTE (PostgreSQL).
pub const DATA_MODIFYING: &[&str] = &["INSERT", "UPDATE", "DELETE", "MERGE"];

/// What the first keyword of a statement says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    Fixed(ActivityClass),
    With,
    Explain,
    Select,
    Copy,
    Load,
    Set,
    Alter,
    Purge,
    Bulk,
    Update,
    Unknown,
}

pub fn head(word: &str) -> Head {
    use ActivityClass::{Ddl, Dml, Other, Read};
    const MAX: usize = 16;
    let bytes = word.as_bytes();
    if bytes.len() > MAX {
        return Head::Unknown;
    }
    let mut buf = [0u8; MAX];
    for (slot, b) in buf.iter_mut().zip(bytes) {
        *slot = b.to_ascii_uppercase();
    }
    match buf.get(..bytes.len()).unwrap_or_default() {
        b"WITH" => Head::With,
        b"EXPLAIN" => Head::Explain,
        b"SELECT" => Head::Select,
        b"COPY" => Head::Copy,
        b"LOAD" => Head::Load,
        b"SET" => Head::Set,
        b"ALTER" => Head::Alter,
        b"PURGE" => Head::Purge,
        b"BULK" => Head::Bulk,
        b"UPDATE" => Head::Update,
        b"CREATE" | b"DROP" | b"TRUNCATE" | b"RENAME" | b"COMMENT" | b"GRANT" | b"REVOKE" | b"DENY"
        | b"AUDIT" | b"NOAUDIT" | b"FLASHBACK" | b"REFRESH" | b"SECURITY" | b"IMPORT" | b"REASSIGN"
        | b"ENABLE" | b"DISABLE" => Head::Fixed(Ddl),
        b"INSERT" | b"DELETE" | b"MERGE" | b"REPLACE" | b"UPSERT" | b"UPDATETEXT" | b"WRITETEXT" => {
            Head::Fixed(Dml)
        }
        b"SHOW" | b"DESCRIBE" | b"DESC" | b"TABLE" | b"VALUES" | b"READTEXT" => Head::Fixed(Read),
        b"BEGIN" | b"START" | b"COMMIT" | b"ROLLBACK" | b"SAVEPOINT" | b"RELEASE" | b"END" | b"ABORT"
        | b"SAVE" | b"VACUUM" | b"ANALYZE" | b"ANALYSE" | b"CLUSTER" | b"REINDEX" | b"CHECKPOINT"
        | b"CALL" | b"EXEC" | b"EXECUTE" | b"DO" | b"DISCARD" | b"USE" | b"LOCK" | b"UNLOCK" | b"PREPARE"
        | b"DEALLOCATE" | b"LISTEN" | b"NOTIFY" | b"UNLISTEN" | b"FETCH" | b"MOVE" | b"CLOSE"
        | b"DECLARE" | b"OPEN" | b"RESET" | b"FLUSH" | b"KILL" | b"OPTIMIZE" | b"REPAIR" | b"CHECK"
        | b"CHECKSUM" | b"INSTALL" | b"UNINSTALL" | b"HELP" | b"XA" | b"HANDLER" | b"SHUTDOWN"
        | b"RESTART" | b"BACKUP" | b"RESTORE" | b"DBCC" | b"RECONFIGURE" | b"GO" | b"PRINT"
        | b"RAISERROR" | b"THROW" | b"WAITFOR" | b"IF" | b"WHILE" | b"RETURN" | b"SIGNAL" | b"RESIGNAL"
        | b"GET" | b"CACHE" | b"BINLOG" | b"CHANGE" | b"STOP" | b"CONNECT" | b"REVERT" | b"SETUSER"
        | b"CLONE" => Head::Fixed(Other),
        _ => Head::Unknown,
    }
}
