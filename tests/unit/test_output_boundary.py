"""Every way text reaches a terminal goes through the one escaping function.

The code is walked (AST) for every call that writes to a terminal or a screen: ``print``,
``sys.stdout.write`` / ``sys.stderr.write``, ``Static(...)``, ``Label(...)``, a widget's
``.update(...)``, ``set_line(...)`` and ``title`` / ``sub_title`` assignments.
(``notify`` is safe by construction: every notification passes through ``LdtuiApp.notify``,
which escapes its message and title and turns markup off; tests/reliability/test_hostile_text.py
holds it to that.) Each argument must be visibly safe: a constant, ``literal()`` /
``literal_lines()`` of something, a renderer that escapes what it is given (listed below),
``Text(...)`` / ``Text.assemble(...)`` of safe parts, or an f-string of those. Anything else
carries a ``# safe-text: why`` comment on its line (or alone on the line above), so each exception is a decision someone
made and a reviewer can see; the test names the lines that have neither."""

from __future__ import annotations

import ast
from pathlib import Path

import ldtui

ROOT = Path(ldtui.__file__).parent

# Functions whose result is safe for a terminal: they escape what they are given (or build
# only from numbers and fixed words). Each is covered by tests of its own output.
SAFE_CALLS = {
    "literal",
    "literal_lines",
    "cell",
    "_fast",
    "_own",
    "status_cell",
    "verdict_text",
    "freshness_text",
    "target_line",
    "status_table",
    "text_report",
    "store_line",
    "counts_line",
    "nagios_line",
    "status_line",
    "perfdata",
    "relative_age",
    "sparkline",
    "bindings_table",
    "detail_table",
    "dumps",
    "repr",
    "int",
    "float",
    "len",
    "str.join",
    "strftime",
    "_hms",
    "describe_error",
    "progress_line",
    "log_text",
    "diff_text",
}
# Parameters and names whose values are ldtui's own words or numbers.
SAFE_NAMES = {"None", "True", "False"}
WRITERS = {"print", "update", "Static", "Label", "set_line", "write"}
# ``.update`` of these is a dict's, a set's or a Counter's, not a widget's.
NOT_WIDGETS = {
    "out",
    "inc",
    "exc",
    "inc_counts",
    "exc_counts",
    "_matches",
    "counts",
    "seen",
    "env",
    "headers",
    "included",
    "excluded",
    "options",
}


def _receiver(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return _name(func.value)
    return ""


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def safe(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(safe(v) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        # A number formatted with a spec (``{n:,}``, ``{age:.1f}``) is safe; else the value must be.
        return node.format_spec is not None or safe(node.value)
    if isinstance(node, ast.Name):
        return node.id in SAFE_NAMES
    if isinstance(node, ast.Call):
        name = _name(node.func)
        if name in SAFE_CALLS:
            return True
        if name in ("Text", "Content"):
            return all(safe(a) for a in node.args)
        if name == "assemble":
            return all(safe(a) for a in node.args)
        if name == "join" and isinstance(node.func, ast.Attribute):
            return safe(node.func.value) and all(safe(a) for a in node.args)
        return False
    if isinstance(node, ast.Tuple):  # (text, style) parts of Text.assemble
        return bool(node.elts) and safe(node.elts[0])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return safe(node.left) and safe(node.right)
    if isinstance(node, ast.IfExp):
        return safe(node.body) and safe(node.orelse)
    if isinstance(node, ast.GeneratorExp | ast.ListComp):
        return safe(node.elt)
    if isinstance(node, ast.BoolOp):  # ``literal(x) or "-"``
        return all(safe(v) for v in node.values)
    if isinstance(node, ast.Subscript):  # a cut of escaped text (``literal(x)[:120]``) stays escaped
        return safe(node.value)
    return False


def offences(path: Path, root: Path = ROOT.parent) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    found = []

    def marked(node: ast.AST) -> bool:
        # On the call's lines, or alone on the line above it.
        first, last = node.lineno, getattr(node, "end_lineno", node.lineno) or node.lineno
        above = lines[first - 2].strip() if first > 1 else ""
        return above.startswith("# safe-text:") or any(
            "# safe-text:" in lines[n - 1] for n in range(first, last + 1)
        )

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in WRITERS:
            name = _name(node.func)
            if name == "write" and not (
                isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr in ("stdout", "stderr")
            ):
                continue  # a file's write, not a terminal's
            if name == "update" and (not node.args or _receiver(node.func) in NOT_WIDGETS):
                continue
            args = list(node.args)
            if name == "set_line":
                args = args[1:]
            if name == "print":
                args += [k.value for k in node.keywords if k.arg in ("sep", "end")]
            if not all(safe(a) for a in args) and not marked(node):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
        if isinstance(node, ast.Assign):
            for target in node.targets:
                titled = isinstance(target, ast.Attribute) and target.attr in ("title", "sub_title")
                if titled and not safe(node.value) and not marked(node):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


def test_every_terminal_write_is_escaped_or_says_why() -> None:
    everything = []
    for path in sorted(ROOT.rglob("*.py")):
        everything += offences(path)
    assert not everything, "text reaching a terminal without literal():\n" + "\n".join(everything)


def test_the_walk_sees_an_unescaped_write() -> None:
    """The checker itself: an unescaped name is an offence; literal() of it or a marker is not."""
    bad = ast.parse("print(name)").body[0].value  # type: ignore[attr-defined]
    good = ast.parse("print(literal(name))").body[0].value  # type: ignore[attr-defined]
    fstr = ast.parse("print(f'{n:,} of {literal(x)}')").body[0].value  # type: ignore[attr-defined]
    assert not all(safe(a) for a in bad.args)
    assert all(safe(a) for a in good.args) and all(safe(a) for a in fstr.args)


async def test_a_status_line_escapes_whatever_it_is_given() -> None:
    """Status lines carry exception words and profile names: escaped by the widget itself."""
    from textual.app import App, ComposeResult

    from ldtui.ui.widgets.statusline import StatusLine

    class LineApp(App[None]):
        def compose(self) -> ComposeResult:
            yield StatusLine(id="line")

    app = LineApp()
    async with app.run_test(size=(120, 3)) as pilot:
        line = app.query_one(StatusLine)
        line.set_parts([(0, "cannot start: \x1b]52;c;aGk=\x07 \x1b[2J [bold]x[/bold]"), (1, "\\x1b stays")])
        await pilot.pause()
        shown = str(line.render())
        assert "\x1b" not in shown and "\x07" not in shown
        assert "\\x1b]52;c;aGk=\\x07" in shown and "[bold]x[/bold]" in shown
        assert "\\x1b stays" in shown  # text escaped before is not escaped twice


def test_the_walk_finds_what_it_must(tmp_path: Path) -> None:
    """The checker itself: each kind of unescaped write is named; escaped or marked ones are not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "print(name)\n"
        "sys.stderr.write(f'x {err}')\n"
        "widget.update(text)\n"
        "self.title = integration.name\n"
        "yield Static(Text(name))\n"
        "print(literal(name))\n"
        "widget.update(Text(literal(name)) or '-')\n"
        "print(f'{count:,} keys')\n"
        "# safe-text: ldtui's own words\n"
        "print(words)\n"
        "counts.update(x)\n"
    )
    found = [line.split(":")[1] for line in offences(sample, tmp_path)]
    assert sorted(found) == ["1", "2", "3", "4", "5"]
