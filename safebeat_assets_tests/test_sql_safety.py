"""No SQL in safebeat_assets is built by string formatting with run-time values.

Every identifier known only at run time goes through `psycopg2.sql.Identifier` (composed with
`sql.SQL(...).format(...)`), every value is a query parameter or `sql.Literal`. This test reads
the package's source with the `ast` module (nothing is imported or run) and fails listing
file:line for each place that breaks the rule:

- a query argument (`cursor.execute`, `executemany`, `mogrify`, `copy_expert`, `pandas.read_sql`,
  `geopandas.read_postgis`, `execute_values`, `execute_batch`) or the template of `sql.SQL` that
  is an f-string, `%`-formatted, `str.format`-ted or concatenated from run-time values, directly
  or through a local variable assigned so;
- any such formatted string whose text reads as SQL (`SELECT ... FROM`, `INSERT INTO`, ...),
  wherever it is, since it will end up in a query;
- `psycopg2.extensions.AsIs` of anything but a literal (it inlines text unquoted).

Module-level constants (`NAME = "..."`) count as fixed text, not run-time values. A place that is
safe for a reason the rules cannot see goes into ALLOWED with that reason.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "safebeat_assets"

# Query sinks: method or function name -> index of the positional argument holding the SQL.
QUERY_ARGUMENT = {
    "execute": 0,
    "executemany": 0,
    "mogrify": 0,
    "copy_expert": 0,
    "read_sql": 0,
    "read_sql_query": 0,
    "read_postgis": 0,
    "execute_values": 1,
    "execute_batch": 1,
}
QUERY_KEYWORDS = ("sql", "query", "statement")
COMPOSE_TEMPLATE = {"SQL"}  # psycopg2.sql.SQL(template)
RAW_TEXT = {"AsIs"}  # psycopg2.extensions.AsIs(text)

# Formatted text that reads as a statement (upper-case keywords, as the code base writes SQL).
SQL_SHAPE = re.compile(
    r"""^\s*(?:
        SELECT\b.*\bFROM\b | INSERT\s+INTO\b | UPDATE\s+\S+\s+SET\b | DELETE\s+FROM\b
        | (?:CREATE|DROP|ALTER)\s+(?:OR\s+REPLACE\s+|TEMP(?:ORARY)?\s+|UNLOGGED\s+|UNIQUE\s+)*
          (?:TABLE|INDEX|SCHEMA|VIEW|MATERIALIZED|FUNCTION|EXTENSION|ROLE|DATABASE|SEQUENCE|TRIGGER)\b
        | TRUNCATE\b | COPY\s+\S+.*\b(?:FROM|TO)\b | (?:GRANT|REVOKE)\s+\w+.*\bON\b
        | WITH\s+\w+\s+AS\b | COMMENT\s+ON\b | SET\s+(?:LOCAL\s+|SESSION\s+)?\w+\s*(?:=|TO\b)
        | LOCK\s+TABLE\b | ANALYZE\b | VACUUM\b
    )""",
    re.S | re.X,
)

# (path relative to the repository, enclosing function's qualified name) -> why it is safe.
# Keep each reason specific: what the run-time value is and why it cannot carry SQL.
ALLOWED: dict[tuple[str, str], str] = {
    ("safebeat_assets/defs/checks/warehouse_sql.py", "duplicates_of"): (
        "joins the key column names of unique_check into the check's SQL unquoted; every caller "
        "passes string literals (the SQL_CHECKS list, built at import), never run-time input. "
        "Quoting them with sql.Identifier would remove this entry."
    ),
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    scope: str
    kind: str
    source: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} in {self.scope}: {self.source}"


def _callee_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _module_constants(tree: ast.Module) -> set[str]:
    """Top-level names bound once to literal text or numbers (possibly concatenated)."""
    counts: dict[str, int] = {}
    literal: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        value = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if isinstance(target, ast.Name):
                counts[target.id] = counts.get(target.id, 0) + 1
                if value is not None and _is_literal(value):
                    literal.add(target.id)
    return {name for name in literal if counts[name] == 1}


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | int | float | bool) or node.value is None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_literal(node.left) and _is_literal(node.right)
    if isinstance(node, ast.JoinedStr):
        return all(
            isinstance(v, ast.Constant)
            or (isinstance(v, ast.FormattedValue) and _is_literal(v.value))
            for v in node.values
        )
    return False


class _Scope(ast.NodeVisitor):
    """Walks one module, tracking the enclosing function and its local string assignments."""

    def __init__(
        self, path: str, tree: ast.Module, source: str, wrappers: dict[str, tuple[int, str]]
    ):
        self.path = path
        self.wrappers = wrappers
        self.source = source
        self.constants = _module_constants(tree)
        self.findings: list[Finding] = []
        self.stack: list[str] = []
        self.assigned: list[dict[str, list[ast.expr]]] = [{}]
        self.reported: set[int] = set()

    # --- what counts as run-time formatting ------------------------------------------------

    def fixed(self, node: ast.expr) -> bool:
        """Text known when the module is written: literals and module constants."""
        if _is_literal(node):
            return True
        if isinstance(node, ast.Name):
            return node.id in self.constants
        if isinstance(node, ast.Attribute):  # e.g. spatial_sql.SOME_VIEW
            return node.attr.isupper()
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.fixed(node.left) and self.fixed(node.right)
        if isinstance(node, ast.IfExp):  # "CREATEDB" if flag else "NOCREATEDB"
            return self.fixed(node.body) and self.fixed(node.orelse)
        if isinstance(node, ast.JoinedStr):
            return all(
                isinstance(v, ast.Constant)
                or (isinstance(v, ast.FormattedValue) and self.fixed(v.value))
                for v in node.values
            )
        return False

    def formatting(self, node: ast.expr) -> str | None:
        """How `node` builds a string from run-time values, or None if it does not."""
        if isinstance(node, ast.JoinedStr) and not self.fixed(node):
            return "f-string"
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Mod)
            and self._textual(node.left)
            and not (self.fixed(node.left) and self.fixed(node.right))
        ):
            return "%-formatting"
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Add)
            and (self._textual(node.left) or self._textual(node.right))
            and not self.fixed(node)
        ):
            return "concatenation"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and self._textual(node.func.value)
            and not all(self.fixed(a) for a in [*node.args, *(k.value for k in node.keywords)])
        ):
            return "str.format"
        return None

    def _textual(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, ast.Name) and node.id in self.constants:
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            return self._textual(node.left)
        if isinstance(node, ast.IfExp):
            return self._textual(node.body) or self._textual(node.orelse)
        return False

    def text_of(self, node: ast.expr) -> str:
        """The literal parts of a formatted string, run-time parts as `{}`."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        if isinstance(node, ast.BinOp):
            return self.text_of(node.left) + self.text_of(node.right)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return self.text_of(node.func.value)
        return "{}"

    def dynamic_query(self, node: ast.expr) -> str | None:
        """Run-time formatting of a query argument, directly or through a local variable."""
        kind = self.formatting(node)
        if kind:
            return kind
        if isinstance(node, ast.Name):
            for value in self.assigned[-1].get(node.id, []):
                kind = self.formatting(value)
                if kind:
                    return f"{kind} (via {node.id})"
        return None

    # --- reporting ---------------------------------------------------------------------------

    def report(self, node: ast.AST, kind: str) -> None:
        if id(node) in self.reported:
            return
        self.reported.add(id(node))
        scope = ".".join(self.stack) or "<module>"
        segment = ast.get_source_segment(self.source, node) or ""
        self.findings.append(
            Finding(self.path, node.lineno, scope, kind, " ".join(segment.split())[:120])
        )

    # --- traversal ---------------------------------------------------------------------------

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.stack.append(node.name)
        self.assigned.append(_local_assignments(node))
        self.generic_visit(node)
        self.assigned.pop()
        self.stack.pop()

    visit_FunctionDef = _function  # noqa: N815 (ast.NodeVisitor naming)
    visit_AsyncFunctionDef = _function  # noqa: N815

    def visit_ClassDef(self, node: ast.ClassDef) -> None:  # noqa: N802
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802
        name = _callee_name(node)
        argument = None
        if name in QUERY_ARGUMENT:
            index = QUERY_ARGUMENT[name]
            if len(node.args) > index:
                argument = node.args[index]
            else:
                argument = next((k.value for k in node.keywords if k.arg in QUERY_KEYWORDS), None)
        elif name in COMPOSE_TEMPLATE and node.args:
            argument = node.args[0]
        elif name in self.wrappers:
            index, keyword = self.wrappers[name]
            if len(node.args) > index:
                argument = node.args[index]
            else:
                argument = next((k.value for k in node.keywords if k.arg == keyword), None)
        if argument is not None:
            kind = self.dynamic_query(argument)
            if kind:
                self.report(node, f"{name}() of {kind}")
        if name in RAW_TEXT and node.args and not self.fixed(node.args[0]):
            self.report(node, f"{name}() of a run-time value")
        self.generic_visit(node)

    def _formatted(self, node: ast.expr) -> None:
        kind = self.formatting(node)
        if kind and SQL_SHAPE.match(self.text_of(node)):
            self.report(node, f"SQL text built by {kind}")
        self.generic_visit(node)

    visit_JoinedStr = _formatted  # noqa: N815
    visit_BinOp = _formatted  # noqa: N815

    def visit_Attribute(self, node: ast.Attribute) -> None:  # noqa: N802
        self.generic_visit(node)


def _local_assignments(func: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, list[ast.expr]]:
    """Name -> every expression assigned (or `+=`-appended) to it in the function body."""
    out: dict[str, list[ast.expr]] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            if isinstance(node.target, ast.Name):
                out.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            out.setdefault(node.target.id, []).append(
                ast.BinOp(left=ast.Name(node.target.id), op=node.op, right=node.value)
            )
    return out


def query_wrappers(trees: list[ast.Module]) -> dict[str, tuple[int, str]]:
    """Functions that hand one of their parameters straight to a query sink (e.g.
    `Warehouse.fetch_one(template)` -> `sql.SQL(template)`): name -> (index of that argument at
    a call site, its keyword). Their callers' arguments are then checked like queries."""
    found: dict[str, tuple[int, str]] = {}
    for tree in trees:
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            params = [a.arg for a in func.args.posonlyargs + func.args.args]
            offset = 1 if params[:1] in (["self"], ["cls"]) else 0
            for call in ast.walk(func):
                if not isinstance(call, ast.Call):
                    continue
                name = _callee_name(call)
                index = QUERY_ARGUMENT.get(name, 0 if name in COMPOSE_TEMPLATE else None)
                if index is None or len(call.args) <= index:
                    continue
                argument = call.args[index]
                if isinstance(argument, ast.Name) and argument.id in params[offset:]:
                    found[func.name] = (params.index(argument.id) - offset, argument.id)
    return found


def _str_format_calls(visitor: _Scope, tree: ast.Module) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and visitor.formatting(node) == "str.format":
            yield node


def scan_source(
    source: str, path: str = "<string>", wrappers: dict[str, tuple[int, str]] | None = None
) -> list[Finding]:
    tree = ast.parse(source)
    if wrappers is None:
        wrappers = query_wrappers([tree])
    visitor = _Scope(path, tree, source, wrappers)
    visitor.visit(tree)
    # `"...".format(...)` is a Call, not a BinOp/JoinedStr: checked for SQL shape separately.
    for call in _str_format_calls(visitor, tree):
        if SQL_SHAPE.match(visitor.text_of(call)):
            visitor.report(call, "SQL text built by str.format")
    return sorted(visitor.findings, key=lambda f: f.line)


def scan_package() -> list[Finding]:
    sources = {
        file.relative_to(ROOT).as_posix(): file.read_text(encoding="utf-8")
        for file in sorted(PACKAGE.rglob("*.py"))
    }
    wrappers = query_wrappers([ast.parse(text) for text in sources.values()])
    findings = []
    for rel, text in sources.items():
        findings.extend(scan_source(text, rel, wrappers))
    return findings


# --- the rule, over the package -------------------------------------------------------------------


def test_no_sql_is_formatted_with_run_time_values():
    findings = [f for f in scan_package() if (f.path, f.scope) not in ALLOWED]
    assert not findings, (
        "SQL built from run-time values (use psycopg2.sql.Identifier for identifiers and query "
        "parameters or sql.Literal for values; or add a reviewed entry to ALLOWED):\n"
        + "\n".join(str(f) for f in findings)
    )


def test_allow_list_entries_are_still_needed():
    flagged = {(f.path, f.scope) for f in scan_package()}
    stale = sorted(set(ALLOWED) - flagged)
    assert not stale, f"ALLOWED entries that no longer match anything: {stale}"
    assert all(len(reason) > 20 for reason in ALLOWED.values()), "give each entry a reason"


# --- the checker itself ---------------------------------------------------------------------------

UNSAFE = {
    "f-string in execute": 'def f(cur, t):\n    cur.execute(f"SELECT * FROM {t}")\n',
    "percent in execute": 'def f(cur, t):\n    cur.execute("DELETE FROM %s" % t)\n',
    "format in execute": 'def f(cur, t):\n    cur.execute("DROP TABLE {}".format(t))\n',
    "concatenation": 'def f(cur, t):\n    cur.execute("SELECT * FROM " + t)\n',
    "via a variable": 'def f(cur, t):\n    q = f"UPDATE {t} SET a = 1"\n    cur.execute(q)\n',
    "appended": 'def f(cur, t):\n    q = "SELECT 1"\n    q += f" UNION SELECT {t}"\n'
    "    cur.execute(q)\n",
    "keyword argument": 'def f(pd, c, t):\n    pd.read_sql(con=c, sql=f"SELECT a FROM {t}")\n',
    "execute_values": 'def f(ev, cur, t, rows):\n    ev(cur, f"INSERT INTO {t} VALUES %s", rows)\n'.replace(
        "ev(", "execute_values("
    ),
    "sql.SQL of an f-string": 'def f(sql, t):\n    return sql.SQL(f"SELECT * FROM {t}")\n',
    "SQL text anywhere": 'def f(t):\n    return f"INSERT INTO {t} (a) VALUES (1)"\n',
    "str.format anywhere": 'def f(t):\n    return "CREATE TABLE {} (a int)".format(t)\n',
    "AsIs": "def f(AsIs, t):\n    return AsIs(t)\n",
    "through a wrapper": "class W:\n    def fetch(self, template):\n"
    "        return sql.SQL(template)\n"
    'def f(w, t):\n    w.fetch(f"SELECT * FROM {t}")\n',
}
SAFE = {
    "constant": 'def f(cur):\n    cur.execute("SELECT 1 FROM t WHERE a = %s", (1,))\n',
    "composed": 'def f(cur, sql, t):\n    cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(t)))\n',
    "module constant": 'T = "x"\ndef f(cur):\n    cur.execute(f"SELECT * FROM {T}")\n',
    "constant concatenation": 'def f(cur):\n    cur.execute("SELECT a " + "FROM t")\n',
    "log message": 'def f(log, t):\n    log.info(f"loaded {t} rows")\n',
    "not SQL-shaped": 'def f(n):\n    return f"DROP of {n} rows refused"\n',
    "sql.SQL of a constant name": "Q = 'SELECT 1'\ndef f(sql):\n    return sql.SQL(Q)\n",
    "AsIs of a literal": 'def f(AsIs):\n    return AsIs("NULL")\n',
    "lower-case prose": 'def f(t):\n    return f"select the rows from {t} by hand"\n',
    "constant choice": 'def f(sql, c):\n    return sql.SQL("LOGIN " + ("CREATEDB" if c else "NOCREATEDB"))\n',
    "wrapper with fixed text": "class W:\n    def fetch(self, template):\n"
    "        return sql.SQL(template)\n"
    'def f(w):\n    w.fetch("SELECT * FROM {t}")\n',
}


@pytest.mark.parametrize("name", list(UNSAFE))
def test_checker_flags(name):
    findings = scan_source(UNSAFE[name])
    assert findings, f"{name} not flagged"
    assert all(f.path == "<string>" and f.line >= 1 for f in findings)


@pytest.mark.parametrize("name", list(SAFE))
def test_checker_leaves_safe_code_alone(name):
    assert scan_source(SAFE[name]) == []
