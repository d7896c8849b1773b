#!/usr/bin/env python3
"""Regenerate the AWS::Athena::NamedQuery resources of infra/template.yaml from infra/athena/.

    scripts/sync-athena-queries.py [--check]

infra/athena/*.sql (except create_table.sql, which the AWS::Glue::Table mirrors) is the one
source of the named queries: the demo runs them with DuckDB (samples/report.py), the stack
deploys them. This rewrites the block between the "# BEGIN named queries" and "# END named
queries" lines of the template; --check only exits 1 if the block is out of date.
tests/it/infra.rs fails too when the two differ, so `make test` catches a forgotten run.
Standard library only.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
ATHENA = ROOT / "infra" / "athena"
BEGIN = "  # BEGIN named queries"
END = "  # END named queries"


def resource_name(stem: str) -> str:
    """events_by_class -> EventsByClassQuery."""
    return "".join(part.capitalize() for part in stem.split("_")) + "Query"


def title(sql: str, fallback: str) -> str:
    """The query's first comment line, as samples/report.py titles it."""
    first = sql.lstrip().splitlines()[0]
    return first.removeprefix("--").strip() if first.startswith("--") else fallback


def block() -> str:
    out = []
    for path in sorted(ATHENA.glob("*.sql")):
        if path.stem == "create_table":
            continue
        sql = path.read_text()
        if "\t" in sql or any(line != line.rstrip() for line in sql.splitlines()):
            sys.exit(f"sync-athena-queries: {path}: tabs or trailing blanks do not survive YAML")
        description = title(sql, path.stem).replace('"', "'")[:1024]
        body = "\n".join(("          " + line).rstrip() for line in sql.rstrip("\n").splitlines())
        out.append(
            f"""  {resource_name(path.stem)}:
    Type: AWS::Athena::NamedQuery
    Condition: CreateArchive
    Properties:
      Name: {path.stem}
      Description: "{description}"
      Database: !Ref GlueDatabase
      WorkGroup: !Ref AthenaWorkGroup
      QueryString: |
{body}
"""
        )
    return "\n".join(out)


def main() -> int:
    text = TEMPLATE.read_text()
    pattern = re.compile(rf"^({re.escape(BEGIN)}[^\n]*\n)(.*?)^({re.escape(END)}[^\n]*\n)",
                         re.S | re.M)
    match = pattern.search(text)
    if not match:
        sys.exit("sync-athena-queries: markers not found in infra/template.yaml")
    new = text[: match.start(2)] + block() + text[match.end(2):]
    if "--check" in sys.argv[1:]:
        if new != text:
            print("infra/template.yaml named queries differ from infra/athena/*.sql: "
                  "run scripts/sync-athena-queries.py", file=sys.stderr)
            return 1
        return 0
    TEMPLATE.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
