//! Statement kind from SQL text (das-records.md §5), with a small allocation-free lexer.
//!
//! This is not a parser: it reads the first keyword of the statement, plus the few tokens
//! needed where the first keyword is not enough (`WITH … <main>`, `EXPLAIN [ANALYZE] <stmt>`,
//! `SELECT … INTO`, `COPY … FROM|TO`, `LOAD DATA`, `SET PASSWORD`, …). Text from every engine
//! goes through the same rules, so the lexer accepts the union of their lexical quirks:
//!
//! * comments: `-- …`, nested `/* … */` (PostgreSQL nesting; an unterminated comment runs to
//!   the end), `# …` before the first keyword (MySQL). A MySQL executable comment `/*!NNNNN …*/`
//!   is read as SQL, because MySQL executes it.
//! * literals: `'…'` and `"…"` with doubled quotes *and* backslash escapes (MySQL, and the
//!   backslash-escaped quotes Aurora MySQL writes into `commandText`), `` `…` ``,
//!   `$tag$…$tag$`. Known trade-off: a PostgreSQL standard string ending in a backslash
//!   (`'C:\'`) swallows the rest of the text; that only matters inside a `WITH` prefix and then
//!   yields `None`, never a panic.
//!
//! Every loop consumes input or stops, every position is clamped to the text, and only
//! `get()` is used to slice, so no input can panic or hang.

use super::ActivityClass;
use super::keywords::{DATA_MODIFYING, Head, head};
use lexer::{Lexer, Tok, is, is_any};

pub use lexer::words;

pub mod lexer;

/// Statement kind from SQL text via a small lexer: skips whitespace, `--` line comments,
/// `/* */` comments (nested ok or not, but unterminated must not panic), leading parentheses
/// and semicolons; any case; `WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] ( ... )
/// [, ...]` is skipped (balanced parens, string literals '...' / "..." / `...` /
/// $tag$...$tag$ inside it must not confuse the paren counting) to the main statement
/// (INSERT/UPDATE/DELETE/MERGE/SELECT); `EXPLAIN ANALYZE <stmt>` (and EXPLAIN (ANALYZE ...) /
/// EXPLAIN ANALYSE) classifies as `<stmt>`; plain EXPLAIN is a READ.
///
/// `None` when there is no statement text / nothing recognisable; `Some(Other)` for recognised
/// non-DDL/DML/READ statements (SET, BEGIN, COMMIT, VACUUM, CALL, ...).
///
/// Decisions beyond the first keyword:
/// * A data-modifying CTE (`WITH d AS (DELETE … RETURNING *) SELECT …`, PostgreSQL) makes the
///   statement DML even when the main statement reads.
/// * `SELECT … INTO <table>` (PostgreSQL, SQL Server) creates a table: DDL. `SELECT … INTO
///   @var | OUTFILE | DUMPFILE` (MySQL) is READ. PL/pgSQL and PL/SQL strip `INTO <variables>`
///   before executing, so audited text with `INTO` is rarely a variable assignment; a MySQL
///   stored-program `SELECT … INTO local_var` would be misread as DDL.
/// * `COPY … FROM` DML, `COPY … TO` READ; `LOAD DATA|XML` DML, other `LOAD` OTHER.
/// * Account and privilege changes are DDL: `GRANT`, `REVOKE`, `DENY`, `SET PASSWORD`,
///   `SET DEFAULT ROLE`, Oracle `AUDIT`/`NOAUDIT`. Oracle `ALTER SESSION` (session control,
///   like `SET`) is OTHER; every other `ALTER` is DDL.
/// * Oracle's DDL list also gives `FLASHBACK`, `PURGE` (but MySQL `PURGE BINARY|MASTER LOGS`
///   is OTHER); PostgreSQL's `log_statement = ddl` also covers `REFRESH MATERIALIZED VIEW`,
///   `SECURITY LABEL`, `IMPORT FOREIGN SCHEMA`, `REASSIGN OWNED`; SQL Server lists
///   `ENABLE`/`DISABLE TRIGGER` as DDL. `VACUUM`, `ANALYZE`, `CLUSTER`, `REINDEX` are OTHER.
/// * `UPDATE STATISTICS t` (SQL Server) is OTHER unless a top-level `SET` shows an UPDATE.
/// * `FETCH`/`DECLARE` (cursors) are OTHER, as in pgaudit's MISC class.
pub fn classify_sql(text: &str) -> Option<ActivityClass> {
    let mut lx = Lexer::new(text);
    classify_statement(&mut lx)
}

fn classify_statement(lx: &mut Lexer<'_>) -> Option<ActivityClass> {
    use ActivityClass::{Ddl, Dml, Other, Read};
    let mut cte_writes = false;
    let mut explained = false;
    // Each iteration consumes at least one word, so this terminates.
    let found = loop {
        lx.skip_leading();
        let Some(word) = lx.word() else { break None };
        match head(word) {
            Head::With => cte_writes |= skip_ctes(lx),
            Head::Explain => {
                if explain_executes(lx) {
                    explained = true;
                } else {
                    break Some(Read);
                }
            }
            Head::Fixed(class) => break Some(class),
            Head::Select => break Some(select(lx)),
            Head::Copy => {
                let dir = lx.scan_top_level(|_, w| {
                    if is(w, "FROM") {
                        Some(Dml)
                    } else if is(w, "TO") {
                        Some(Read)
                    } else {
                        None
                    }
                });
                break Some(dir.unwrap_or(Other));
            }
            Head::Load => {
                let data = lx.peek_word().is_some_and(|w| is_any(w, &["DATA", "XML"]));
                break Some(if data { Dml } else { Other });
            }
            Head::Set => {
                let mut ahead = *lx;
                let account = match ahead.word() {
                    Some(w) if is(w, "PASSWORD") => true,
                    Some(w) if is(w, "DEFAULT") => ahead.word().is_some_and(|w| is(w, "ROLE")),
                    _ => false,
                };
                break Some(if account { Ddl } else { Other });
            }
            Head::Alter => {
                let session = lx.peek_word().is_some_and(|w| is(w, "SESSION"));
                break Some(if session { Other } else { Ddl });
            }
            Head::Purge => {
                let logs = lx.peek_word().is_some_and(|w| is_any(w, &["BINARY", "MASTER"]));
                break Some(if logs { Other } else { Ddl });
            }
            Head::Bulk => {
                let insert = lx.peek_word().is_some_and(|w| is(w, "INSERT"));
                break Some(if insert { Dml } else { Other });
            }
            Head::Update => {
                if lx.peek_word().is_some_and(|w| is(w, "STATISTICS")) {
                    let set = lx.scan_top_level(|_, w| is(w, "SET").then_some(()));
                    break Some(if set.is_some() { Dml } else { Other });
                }
                break Some(Dml);
            }
            Head::Unknown => break None,
        }
    };
    match found {
        Some(Read) | None if cte_writes => Some(Dml),
        None if explained => Some(Read),
        found => found,
    }
}

/// After `SELECT`: DDL for `SELECT … INTO <table>`, otherwise READ.
fn select(lx: &mut Lexer<'_>) -> ActivityClass {
    use ActivityClass::{Ddl, Read};
    lx.scan_top_level(|lx, w| {
        if is(w, "FROM") {
            Some(Read)
        } else if is(w, "INTO") {
            Some(match lx.next_tok() {
                Some(Tok::Word(t)) if is_any(t, &["OUTFILE", "DUMPFILE"]) => Read,
                Some(Tok::Punct(b'@')) => Read,
                _ => Ddl,
            })
        } else {
            None
        }
    })
    .unwrap_or(Read)
}

/// After `EXPLAIN`: consumes its options and tells whether the statement is executed
/// (`ANALYZE` / `ANALYSE`, or `(ANALYZE [TRUE|ON|1], …)`).
fn explain_executes(lx: &mut Lexer<'_>) -> bool {
    let mut analyze = false;
    loop {
        lx.skip_trivia();
        if lx.peek() == Some(b'(') {
            lx.bump(1);
            let mut depth = 1usize;
            while let Some(tok) = lx.next_tok() {
                match tok {
                    Tok::Open => depth = depth.saturating_add(1),
                    Tok::Close => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    Tok::Word(w) if depth == 1 && is_any(w, &["ANALYZE", "ANALYSE"]) => {
                        // `ANALYZE [boolean]`: absent, TRUE, ON or 1 enables it.
                        let mut ahead = *lx;
                        analyze = match ahead.next_tok() {
                            Some(Tok::Word(v)) => !is_any(v, &["FALSE", "OFF"]),
                            Some(Tok::Number(n)) => n != "0",
                            _ => true,
                        };
                    }
                    _ => {}
                }
            }
            continue;
        }
        let before = *lx;
        match lx.word() {
            Some(w) if is_any(w, &["ANALYZE", "ANALYSE"]) => analyze = true,
            Some(w) if is_any(w, &["VERBOSE", "EXTENDED", "PARTITIONS"]) => {}
            Some(w) if is(w, "FORMAT") => {
                // MySQL `FORMAT = TREE|JSON|TRADITIONAL`.
                lx.skip_trivia();
                if lx.peek() == Some(b'=') {
                    lx.bump(1);
                }
                let _ = lx.word();
            }
            // Oracle `EXPLAIN PLAN … FOR <stmt>` and MySQL `EXPLAIN FOR CONNECTION n` never
            // execute anything.
            Some(w) if is_any(w, &["PLAN", "FOR"]) => return false,
            _ => {
                *lx = before;
                return analyze;
            }
        }
    }
}

/// After `WITH`: skips `[RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (body) [SEARCH …]
/// [CYCLE …] [, …]`, leaving the lexer before the main statement. Returns whether a CTE body
/// modifies data (PostgreSQL data-modifying CTEs).
fn skip_ctes(lx: &mut Lexer<'_>) -> bool {
    let mut writes = false;
    if lx.peek_word().is_some_and(|w| is(w, "RECURSIVE")) {
        let _ = lx.word();
    }
    loop {
        // Name: a word or a quoted identifier.
        match lx.next_tok() {
            Some(Tok::Word(_) | Tok::Quoted) => {}
            _ => return writes,
        }
        lx.skip_trivia();
        if lx.peek() == Some(b'(') {
            lx.bump(1);
            lx.skip_group();
        }
        if !lx.word().is_some_and(|w| is(w, "AS")) {
            return writes;
        }
        for _ in 0..2 {
            if lx
                .peek_word()
                .is_some_and(|w| is_any(w, &["NOT", "MATERIALIZED"]))
            {
                let _ = lx.word();
            }
        }
        lx.skip_trivia();
        if lx.peek() != Some(b'(') {
            return writes;
        }
        lx.bump(1);
        let mut body = *lx;
        body.skip_leading();
        writes |= body.word().is_some_and(|w| is_any(w, DATA_MODIFYING));
        lx.skip_group();
        // PostgreSQL 14 `SEARCH … SET col` and `CYCLE … [USING path]` clauses.
        loop {
            match lx.peek_word() {
                Some(w) if is(w, "SEARCH") => skip_past(lx, "SET"),
                Some(w) if is(w, "CYCLE") => skip_past(lx, "USING"),
                _ => break,
            }
        }
        lx.skip_trivia();
        if lx.peek() == Some(b',') {
            lx.bump(1);
        } else {
            return writes;
        }
    }
}

/// Consumes the current word, then tokens up to and including `keyword` and one more word.
fn skip_past(lx: &mut Lexer<'_>, keyword: &str) {
    let _ = lx.word();
    let found = lx.scan_top_level(|_, w| is(w, keyword).then_some(()));
    if found.is_some() {
        let _ = lx.word();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActivityClass::{Ddl, Dml, Other, Read};

    fn check(cases: &[(&str, Option<ActivityClass>)]) {
        for (sql, want) in cases {
            assert_eq!(classify_sql(sql), *want, "{sql:?}");
        }
    }

    #[test]
    fn sql_ddl_keywords_are_ddl() {
        check(&[
            ("CREATE TABLE t (id int)", Some(Ddl)),
            (
                "create table my_table (id serial primary key, name varchar(32));",
                Some(Ddl),
            ),
            ("ALTER TABLE t ADD COLUMN x int", Some(Ddl)),
            ("DROP TABLE t", Some(Ddl)),
            ("TRUNCATE TABLE t", Some(Ddl)),
            ("truncate t", Some(Ddl)),
            ("RENAME TABLE a TO b", Some(Ddl)),
            ("COMMENT ON TABLE t IS 'x'", Some(Ddl)),
            ("GRANT SELECT ON t TO bob", Some(Ddl)),
            ("REVOKE ALL ON t FROM bob", Some(Ddl)),
            ("DENY SELECT ON t TO bob", Some(Ddl)),
            ("CREATE ROLE r", Some(Ddl)),
            ("ALTER ROLE r WITH PASSWORD 'x'", Some(Ddl)),
            ("ALTER USER scott IDENTIFIED BY tiger", Some(Ddl)),
            ("CREATE TABLE t2 AS SELECT * FROM t", Some(Ddl)),
            ("SET PASSWORD = 'my-password'", Some(Ddl)),
            ("SET PASSWORD FOR 'u'@'%' = 'x'", Some(Ddl)),
            ("SET DEFAULT ROLE ALL TO u", Some(Ddl)),
            ("AUDIT SELECT TABLE", Some(Ddl)),
            ("NOAUDIT SELECT TABLE", Some(Ddl)),
            ("FLASHBACK TABLE t TO BEFORE DROP", Some(Ddl)),
            ("PURGE TABLE t", Some(Ddl)),
            ("REFRESH MATERIALIZED VIEW mv", Some(Ddl)),
            ("SECURITY LABEL ON TABLE t IS 'x'", Some(Ddl)),
            ("REASSIGN OWNED BY a TO b", Some(Ddl)),
            ("ENABLE TRIGGER trg ON t", Some(Ddl)),
        ]);
    }

    #[test]
    fn sql_dml_keywords_are_dml() {
        check(&[
            ("INSERT INTO t VALUES (1)", Some(Dml)),
            ("insert into t select * from s", Some(Dml)),
            ("UPDATE t SET a = 1", Some(Dml)),
            (
                "UPDATE `tb_my_database`.`my_table` SET `contents` = '666' WHERE (`idx` = '2')",
                Some(Dml),
            ),
            ("DELETE FROM t", Some(Dml)),
            (
                "MERGE INTO t USING s ON (t.id = s.id) WHEN MATCHED THEN UPDATE SET a = 1",
                Some(Dml),
            ),
            ("REPLACE INTO t VALUES (1)", Some(Dml)),
            ("UPSERT INTO t VALUES (1)", Some(Dml)),
            ("LOAD DATA INFILE 'x' INTO TABLE t", Some(Dml)),
            ("load xml local infile 'x' into table t", Some(Dml)),
            ("BULK INSERT t FROM 'f.csv'", Some(Dml)),
            ("UPDATE statistics SET a = 1", Some(Dml)),
        ]);
    }

    #[test]
    fn sql_read_keywords_are_read() {
        check(&[
            ("SELECT * FROM t", Some(Read)),
            ("select * from my_table;", Some(Read)),
            ("SELECT 1", Some(Read)),
            ("SHOW TABLES", Some(Read)),
            ("DESCRIBE t", Some(Read)),
            ("desc t", Some(Read)),
            ("TABLE t", Some(Read)),
            ("VALUES (1), (2)", Some(Read)),
            ("SELECT * FROM t FOR UPDATE", Some(Read)),
            ("SELECT (SELECT 1 INTO x) FROM t", Some(Read)),
        ]);
    }

    #[test]
    fn sql_other_statements_are_other() {
        check(&[
            ("SET search_path = public", Some(Other)),
            ("SET ROLE admin", Some(Other)),
            ("BEGIN", Some(Other)),
            ("START TRANSACTION", Some(Other)),
            ("COMMIT", Some(Other)),
            ("ROLLBACK TO SAVEPOINT a", Some(Other)),
            ("SAVEPOINT a", Some(Other)),
            ("VACUUM ANALYZE t", Some(Other)),
            ("ANALYZE t", Some(Other)),
            ("CALL p(1)", Some(Other)),
            ("EXEC dbo.p", Some(Other)),
            ("EXECUTE stmt(1)", Some(Other)),
            ("DO $$BEGIN PERFORM 1; END$$", Some(Other)),
            ("DISCARD ALL", Some(Other)),
            ("USE db", Some(Other)),
            ("LOCK TABLE t IN EXCLUSIVE MODE", Some(Other)),
            ("PREPARE s AS SELECT 1", Some(Other)),
            ("DEALLOCATE s", Some(Other)),
            ("LISTEN c", Some(Other)),
            ("NOTIFY c", Some(Other)),
            ("CHECKPOINT", Some(Other)),
            ("LOAD 'auto_explain'", Some(Other)),
            ("ALTER SESSION SET NLS_DATE_FORMAT = 'YYYY'", Some(Other)),
            ("PURGE BINARY LOGS TO 'mysql-bin.010'", Some(Other)),
            ("UPDATE STATISTICS t WITH FULLSCAN", Some(Other)),
            ("COPY t", Some(Other)),
            ("BEGIN\n  proc(1);\nEND;", Some(Other)),
            ("DECLARE c CURSOR FOR SELECT 1", Some(Other)),
            ("FETCH NEXT FROM c", Some(Other)),
        ]);
    }

    #[test]
    fn sql_keywords_are_case_insensitive() {
        check(&[
            ("sElEcT 1", Some(Read)),
            ("InSeRt into t values (1)", Some(Dml)),
            ("cReAtE table t (a int)", Some(Ddl)),
            ("explain AnAlYzE delete from t", Some(Dml)),
        ]);
    }

    #[test]
    fn sql_without_statement_is_none() {
        check(&[
            ("", None),
            ("   \n\t ", None),
            (";;", None),
            ("((", None),
            ("-- only a comment", None),
            ("/* only a comment */", None),
            ("test1", None),
            ("Login failed for user 'test'.", None),
            ("42", None),
            ("'SELECT'", None),
            ("\"select\" 1", None),
        ]);
    }

    #[test]
    fn sql_lexer_skips_comments_whitespace_parens_and_semicolons() {
        check(&[
            ("  \n\tSELECT 1", Some(Read)),
            ("-- leading comment\nINSERT INTO t VALUES (1)", Some(Dml)),
            ("/* ApplicationName=DBeaver */ DELETE FROM t", Some(Dml)),
            ("/**/SELECT 1", Some(Read)),
            ("# mysql comment\nDROP TABLE t", Some(Ddl)),
            ("(SELECT 1) UNION (SELECT 2)", Some(Read)),
            ("((SELECT 1))", Some(Read)),
            (";;; ;UPDATE t SET a = 1", Some(Dml)),
            ("\u{feff}SELECT 1", Some(Read)),
            ("-- a\n-- b\n/* c */ -- d\n  CREATE TABLE t (a int)", Some(Ddl)),
        ]);
    }

    #[test]
    fn sql_lexer_skips_nested_comments() {
        check(&[
            ("/* outer /* inner */ still comment */ DELETE FROM t", Some(Dml)),
            ("/* a /* b /* c */ */ */SELECT 1", Some(Read)),
        ]);
    }

    #[test]
    fn sql_lexer_treats_unterminated_comments_and_literals_as_running_to_the_end() {
        check(&[
            ("/* never closed SELECT 1", None),
            ("/* /* */ SELECT 1", None),
            ("--", None),
            ("/*", None),
            ("/", None),
            ("WITH a AS (SELECT 'unterminated) DELETE FROM t", None),
            ("WITH a AS (SELECT $x$ unterminated) DELETE FROM t", None),
            ("WITH a AS (SELECT 1 /* unterminated) DELETE FROM t", None),
        ]);
    }

    #[test]
    fn sql_lexer_reads_mysql_executable_comments_as_sql() {
        check(&[
            ("/*!40101 SET NAMES utf8 */", Some(Other)),
            ("/*!50001 DROP VIEW IF EXISTS v*/", Some(Ddl)),
            ("/*! SELECT 1 */", Some(Read)),
        ]);
    }

    #[test]
    fn sql_with_is_skipped_to_the_main_statement() {
        check(&[
            ("WITH a AS (SELECT 1) SELECT * FROM a", Some(Read)),
            ("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", Some(Dml)),
            ("WITH a AS (SELECT 1) UPDATE t SET x = 1", Some(Dml)),
            ("WITH a AS (SELECT 1) DELETE FROM t", Some(Dml)),
            (
                "WITH a AS (SELECT 1) MERGE INTO t USING a ON true WHEN MATCHED THEN DELETE",
                Some(Dml),
            ),
            (
                "with recursive r(n) as (select 1 union all select n+1 from r) select * from r",
                Some(Read),
            ),
            (
                "WITH a (x, y) AS (SELECT 1, 2), b AS (SELECT 3) DELETE FROM t",
                Some(Dml),
            ),
            ("WITH a AS MATERIALIZED (SELECT 1) DELETE FROM t", Some(Dml)),
            ("WITH a AS NOT MATERIALIZED (SELECT 1) DELETE FROM t", Some(Dml)),
            ("WITH \"Quoted Name\" AS (SELECT 1) DELETE FROM t", Some(Dml)),
            ("WITH `q` AS (SELECT 1) UPDATE t SET a = 1", Some(Dml)),
            ("WITH a AS (SELECT 1) (SELECT * FROM a)", Some(Read)),
            ("WITH a AS ((SELECT 1)) DELETE FROM t", Some(Dml)),
            (
                "  /* c */ WITH -- c\n a /* c */ AS /* c */ (SELECT 1) -- c\n DELETE FROM t",
                Some(Dml),
            ),
            (";WITH cte AS (SELECT 1 AS x) SELECT x FROM cte", Some(Read)),
            ("WITH a AS (SELECT 1)", None),
            ("WITH", None),
        ]);
    }

    #[test]
    fn sql_with_paren_counting_ignores_literals_and_comments() {
        check(&[
            ("WITH a AS (SELECT ')' FROM t) DELETE FROM t", Some(Dml)),
            ("WITH a AS (SELECT '(((' FROM t) DELETE FROM t", Some(Dml)),
            ("WITH a AS (SELECT 'it''s )' FROM t) DELETE FROM t", Some(Dml)),
            ("WITH a AS (SELECT 'it\\'s )' FROM t) DELETE FROM t", Some(Dml)),
            ("WITH a AS (SELECT \")\" FROM t) DELETE FROM t", Some(Dml)),
            ("WITH a AS (SELECT `)` FROM t) DELETE FROM t", Some(Dml)),
            ("WITH a AS (SELECT $$)$$ FROM t) DELETE FROM t", Some(Dml)),
            (
                "WITH a AS (SELECT $tag$ ) $$ ) $tag$ FROM t) DELETE FROM t",
                Some(Dml),
            ),
            (
                "WITH a AS (SELECT $1, $2 FROM t WHERE (x)) DELETE FROM t",
                Some(Dml),
            ),
            ("WITH a AS (SELECT 1 -- )\n) DELETE FROM t", Some(Dml)),
            ("WITH a AS (SELECT 1 /* ) */) DELETE FROM t", Some(Dml)),
            (
                "WITH a AS (SELECT f((1), (2)) FROM (SELECT 1) s) UPDATE t SET a = 1",
                Some(Dml),
            ),
        ]);
    }

    #[test]
    fn sql_with_search_and_cycle_clauses_are_skipped() {
        check(&[
            (
                "WITH RECURSIVE r(id) AS (SELECT 1) SEARCH DEPTH FIRST BY id SET ord DELETE FROM t",
                Some(Dml),
            ),
            (
                "WITH RECURSIVE r(id) AS (SELECT 1) CYCLE id SET is_cycle USING path SELECT * FROM r",
                Some(Read),
            ),
            (
                "WITH RECURSIVE r(a, b) AS (SELECT 1, 2) SEARCH BREADTH FIRST BY a, b SET o \
                 CYCLE a, b SET c TO 'y' DEFAULT 'n' USING p, s AS (SELECT 1) UPDATE t SET a = 1",
                Some(Dml),
            ),
        ]);
    }

    #[test]
    fn sql_data_modifying_cte_makes_the_statement_dml() {
        check(&[
            ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", Some(Dml)),
            (
                "WITH a AS (SELECT 1), u AS (UPDATE t SET a = 1 RETURNING a) TABLE u",
                Some(Dml),
            ),
            (
                "WITH i AS ((INSERT INTO t VALUES (1) RETURNING id)) SELECT 1",
                Some(Dml),
            ),
            (
                "WITH d AS (DELETE FROM t RETURNING *) CREATE TABLE x (a int)",
                Some(Ddl),
            ),
            ("WITH d AS (SELECT 'DELETE') SELECT 1", Some(Read)),
        ]);
    }

    #[test]
    fn sql_explain_analyze_classifies_as_its_statement() {
        check(&[
            ("EXPLAIN ANALYZE INSERT INTO t VALUES (1)", Some(Dml)),
            ("EXPLAIN ANALYSE DELETE FROM t", Some(Dml)),
            ("EXPLAIN ANALYZE VERBOSE UPDATE t SET a = 1", Some(Dml)),
            ("EXPLAIN VERBOSE ANALYZE UPDATE t SET a = 1", Some(Dml)),
            ("EXPLAIN ANALYZE SELECT * FROM t", Some(Read)),
            ("EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1", Some(Ddl)),
            ("EXPLAIN (ANALYZE) DELETE FROM t", Some(Dml)),
            ("EXPLAIN (ANALYZE, BUFFERS) DELETE FROM t", Some(Dml)),
            ("EXPLAIN (FORMAT JSON, ANALYZE TRUE) DELETE FROM t", Some(Dml)),
            ("EXPLAIN (analyze on, costs off) DELETE FROM t", Some(Dml)),
            ("EXPLAIN (ANALYZE 1) DELETE FROM t", Some(Dml)),
            ("EXPLAIN ANALYZE FORMAT=TREE DELETE FROM t", Some(Dml)),
            ("EXPLAIN ANALYZE WITH a AS (SELECT 1) DELETE FROM t", Some(Dml)),
            ("EXPLAIN ANALYZE EXPLAIN ANALYZE DELETE FROM t", Some(Dml)),
            ("EXPLAIN ANALYZE", Some(Read)),
            ("EXPLAIN ANALYZE mystery", Some(Read)),
        ]);
    }

    #[test]
    fn sql_plain_explain_is_read() {
        check(&[
            ("EXPLAIN DELETE FROM t", Some(Read)),
            ("EXPLAIN SELECT 1", Some(Read)),
            ("EXPLAIN VERBOSE INSERT INTO t VALUES (1)", Some(Read)),
            ("EXPLAIN (ANALYZE FALSE) DELETE FROM t", Some(Read)),
            ("EXPLAIN (ANALYZE off, VERBOSE) DELETE FROM t", Some(Read)),
            ("EXPLAIN (ANALYZE 0) DELETE FROM t", Some(Read)),
            ("EXPLAIN (COSTS OFF) DELETE FROM t", Some(Read)),
            ("EXPLAIN FORMAT=JSON UPDATE t SET a = 1", Some(Read)),
            (
                "EXPLAIN PLAN SET STATEMENT_ID = 'x' FOR DELETE FROM t",
                Some(Read),
            ),
            ("EXPLAIN FOR CONNECTION 4", Some(Read)),
            ("EXPLAIN t", Some(Read)),
            ("EXPLAIN", Some(Read)),
        ]);
    }

    #[test]
    fn sql_copy_from_is_dml_and_copy_to_is_read() {
        check(&[
            ("COPY t FROM STDIN", Some(Dml)),
            ("COPY t (a, b) FROM '/tmp/x.csv' WITH (FORMAT csv)", Some(Dml)),
            ("copy t from program 'cat x'", Some(Dml)),
            ("COPY t TO STDOUT", Some(Read)),
            ("COPY t (a, b) TO '/tmp/x'", Some(Read)),
            ("COPY (SELECT * FROM t) TO STDOUT", Some(Read)),
            (
                "COPY (SELECT a FROM t WHERE b IN (SELECT c FROM u)) TO STDOUT",
                Some(Read),
            ),
        ]);
    }

    #[test]
    fn sql_select_into_table_is_ddl_but_into_variables_or_files_is_read() {
        check(&[
            ("SELECT * INTO new_t FROM t", Some(Ddl)),
            ("SELECT a, b INTO TEMP new_t FROM t", Some(Ddl)),
            ("SELECT * INTO #tmp FROM t", Some(Ddl)),
            ("SELECT a INTO @x FROM t", Some(Read)),
            ("SELECT a FROM t INTO @x", Some(Read)),
            ("SELECT a INTO OUTFILE '/tmp/x' FROM t", Some(Read)),
            ("SELECT a FROM t INTO DUMPFILE '/tmp/x'", Some(Read)),
            ("SELECT 'INTO' FROM t", Some(Read)),
            ("SELECT \"into\" FROM t", Some(Read)),
        ]);
    }

    #[test]
    fn sql_non_ascii_text_is_handled() {
        check(&[
            ("SELECT ünïcødé FROM täble", Some(Read)),
            ("INSERT INTO 表 VALUES ('値')", Some(Dml)),
            ("WITH ä AS (SELECT 'é)') DELETE FROM ö", Some(Dml)),
            ("ÜPDATE t", None),
            ("/* 🙂 */ SELECT 1", Some(Read)),
            ("WITH a AS (SELECT $é$ ) $é$) DELETE FROM t", Some(Dml)),
        ]);
    }

    #[test]
    fn words_splits_action_names() {
        assert_eq!(
            words("LOGOFF BY CLEANUP").collect::<Vec<_>>(),
            ["LOGOFF", "BY", "CLEANUP"]
        );
        assert_eq!(
            words("PL/SQL EXECUTE").collect::<Vec<_>>(),
            ["PL", "SQL", "EXECUTE"]
        );
        assert_eq!(words("FAILED_CONNECT").collect::<Vec<_>>(), ["FAILED_CONNECT"]);
        assert_eq!(words("  ").count(), 0);
    }

    /// Every prefix of tricky statements (on char boundaries) classifies without panicking.
    #[test]
    fn sql_never_panics_on_truncated_input() {
        let samples = [
            "WITH RECURSIVE r(a) AS NOT MATERIALIZED (SELECT $t$)$t$, 'x''y', \"q\", `b`, E'\\'' \
             /* /* n */ */ -- c\n FROM u) SEARCH DEPTH FIRST BY a SET o CYCLE a SET c USING p \
             EXPLAIN (ANALYZE on) SELECT a INTO @v FROM t",
            "EXPLAIN (ANALYZE 0, FORMAT JSON) COPY (SELECT 1) TO STDOUT",
            "/*!50001 SET PASSWORD FOR 'u' = 'p' */; UPDATE STATISTICS t SET",
            "\u{feff}((;# c\nSELECT 'ü' INTO OUTFILE 'f' $1 $ $$",
        ];
        let expected = [Some(Read), Some(Read), Some(Ddl), Some(Read)];
        for (sample, want) in samples.iter().zip(expected) {
            assert_eq!(classify_sql(sample), want, "{sample:?}");
            for (i, _) in sample.char_indices() {
                let _ = classify_sql(&sample[..i]);
                let _ = classify_sql(&sample[i..]);
            }
        }
    }

    /// Pseudo-random soup of SQL punctuation and keywords: no panic, no hang, and trivia in front
    /// of a statement is transparent.
    #[test]
    fn sql_never_panics_on_random_token_soup() {
        let pieces = [
            "(",
            ")",
            "'",
            "\"",
            "`",
            "$",
            "$$",
            "$a$",
            "--",
            "/*",
            "*/",
            "/*!",
            "#",
            ";",
            "\\",
            "\n",
            " ",
            "WITH",
            "AS",
            "RECURSIVE",
            "SELECT",
            "INTO",
            "FROM",
            "EXPLAIN",
            "ANALYZE",
            "COPY",
            "TO",
            "SEARCH",
            "CYCLE",
            "SET",
            "USING",
            ",",
            "@",
            "ü",
            "0",
            "DELETE",
            "UPDATE",
            "STATISTICS",
            "NOT",
            "MATERIALIZED",
            "\u{feff}",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut pick = |n: usize| usize::try_from(next() % n as u64).unwrap();
        for _ in 0..20_000 {
            let len = pick(24);
            let mut s = String::new();
            for _ in 0..len {
                s.push_str(pieces[pick(pieces.len())]);
                if pick(2) == 0 {
                    s.push(' ');
                }
            }
            // Leading whitespace or a line comment never changes the answer.
            let got = classify_sql(&s);
            assert_eq!(classify_sql(&format!(" \n\t{s}")), got, "{s:?}");
            assert_eq!(classify_sql(&format!("-- x\n{s}")), got, "{s:?}");
        }
    }

    /// Measured, not assumed: 10x the input may take at most 40x the time (linear work
    /// passes with room to spare on a noisy machine; quadratic work takes ~100x).
    #[test]
    fn sql_classification_time_grows_linearly_with_input() {
        type Case = (fn(usize) -> String, Option<ActivityClass>);
        let cases: [Case; 4] = [
            (
                |n| {
                    format!(
                        "WITH a AS ({}SELECT 1{}) DELETE FROM t",
                        "(".repeat(n),
                        ")".repeat(n)
                    )
                },
                Some(Dml),
            ),
            (|n| format!("{}SELECT 1", "/*".repeat(n)), None),
            (|n| format!("SELECT {} FROM t", "a, ".repeat(n)), Some(Read)),
            (
                |n| format!("WITH {}y AS (SELECT 1) SELECT 1", "x AS (SELECT 1), ".repeat(n)),
                Some(Read),
            ),
        ];
        for (make, want) in cases {
            let time = |n: usize| {
                let text = make(n);
                (0..5)
                    .map(|_| {
                        let start = std::time::Instant::now();
                        assert_eq!(classify_sql(&text), want);
                        start.elapsed()
                    })
                    .min()
                    .unwrap()
            };
            let (small, large) = (time(20_000), time(200_000));
            let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
            // Linear is 10x, quadratic 100x; 40x leaves room for a loaded machine (21x was seen
            // with three jobs on two cores).
            assert!(
                ratio <= 40.0,
                "{want:?}: 10x input took {ratio:.1}x time ({small:?} → {large:?})"
            );
        }
    }
}
