"""The API's fixed texts in the member's language: Problem Details' ``detail``.

English is the source language; ``translations/<locale>/LC_MESSAGES/messages.po`` hold the
Spanish, Russian and Kazakh texts, read with Babel (as ``reminders.texts`` reads its own).
:func:`translate` looks a detail up by its exact English text. A detail with variable parts
(an f-string such as ``f"No such {what}."``) is translated only when its fixed template is
in the catalogue: the msgid ``"No such %(what)s."`` matches any detail of that shape, and
the variable parts are put, untranslated, into the translated template. A detail found
neither way stays English. The per-field ``errors`` of a validation problem are not
translated.

Which language: the signed-in account's ``locale`` (``flask.g.account``, set by bearer
authentication; read without touching the database), else the best match of the request's
``Accept-Language`` among :data:`LOCALES`, else English.

The catalogue is filled from the code: ``python -m api.core.i18n`` writes
``translations/messages.pot`` with every constant detail given to ``Problem``,
``problem_response``, ``not_found`` or a helper that passes its argument on to them (and every
text marked ``N_``); then ``pybabel update -i api/core/translations/messages.pot -d
api/core/translations`` and translate what is new. ``tests/core/test_translations.py`` fails
while a detail in the code has no translation.
"""

from __future__ import annotations

import ast
import io
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations
from flask import g, has_request_context, request

LOCALES = ("en", "es", "ru", "kk")
SOURCE = "en"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def package_translations(package: str, locale: str) -> NullTranslations:
    """The gettext catalogue ``<package>/translations/<locale>/LC_MESSAGES/messages.po``,
    compiled in memory (English, the source language, and unknown locales: none). The
    reminders' texts and the pages read theirs with it."""
    if locale == SOURCE or locale not in LOCALES:
        return NullTranslations()
    po = resources.files(package).joinpath(f"translations/{locale}/LC_MESSAGES/messages.po")
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def N_(message: str) -> str:
    """Marks a detail for extraction; it is translated when the problem body is built."""
    return message


# -- looking a text up ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Template:
    pattern: re.Pattern[str]
    msgstr: str


@cache
def catalogue(locale: str) -> dict[str, str]:
    """``msgid -> msgstr`` of ``locale``'s catalogue (translated entries only)."""
    if locale == SOURCE or locale not in LOCALES:
        return {}
    po = resources.files("api.core").joinpath(f"translations/{locale}/LC_MESSAGES/messages.po")
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string
    }


def template_pattern(msgid: str) -> re.Pattern[str] | None:
    """A regular expression matching every text of ``msgid``'s shape (None when it has no
    placeholder, or no fixed text to hold on to)."""
    names = _PLACEHOLDER.findall(msgid)
    if not names or not _PLACEHOLDER.sub("", msgid).strip():
        return None
    parts, seen, last = [], set(), 0
    for match in _PLACEHOLDER.finditer(msgid):
        parts.append(re.escape(msgid[last : match.start()]))
        name = match.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        last = match.end()
    parts.append(re.escape(msgid[last:]))
    return re.compile("".join(parts), re.DOTALL)


@cache
def _templates(locale: str) -> tuple[_Template, ...]:
    found = []
    for msgid, msgstr in catalogue(locale).items():
        pattern = template_pattern(msgid)
        if pattern is not None:
            fixed = len(_PLACEHOLDER.sub("", msgid))
            found.append((fixed, _Template(pattern, msgstr)))
    # The template with the most fixed text wins ("No such area; ..." before "No such ...").
    found.sort(key=lambda pair: -pair[0])
    return tuple(template for _, template in found)


def translate(locale: str, text: str, *, _depth: int = 0) -> str:
    """``text`` in ``locale``: its exact entry, else the translated template it matches
    (a variable part that is itself a known detail is translated too), else ``text``."""
    if locale == SOURCE or locale not in LOCALES or _depth > 2:
        return text
    exact = catalogue(locale).get(text)
    if exact is not None:
        return exact
    for template in _templates(locale):
        match = template.pattern.fullmatch(text)
        if match is not None:
            values = {
                name: translate(locale, value, _depth=_depth + 1)
                for name, value in match.groupdict().items()
            }
            return _fill(template.msgstr, values)
    return text


def _fill(msgstr: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), msgstr)


def request_locale() -> str:
    """The language of this request's answer: the account's, else Accept-Language's best
    match among :data:`LOCALES`, else English."""
    if not has_request_context():
        return SOURCE
    account = g.get("account")
    # Only what is loaded already: an error handler must not query (the database may be away).
    locale = getattr(account, "__dict__", {}).get("locale") if account is not None else None
    if isinstance(locale, str) and locale in LOCALES:
        return locale
    return accepted_locale(request.headers.get("Accept-Language", ""))


def accepted_locale(header: str) -> str:
    """The first of the header's languages (by quality, then order) whose primary tag is one
    of :data:`LOCALES`: ``kk-KZ, ru;q=0.5`` is Kazakh, ``en-GB, ru`` English."""
    ranked = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LOCALES:
            return primary
        if primary == "*":
            return SOURCE
    return SOURCE


# -- extraction: the constant details in the code ---------------------------------------------

# Where a detail goes in: the callable's name and the detail's position (or keyword).
_SINKS = {"Problem": 1, "problem_response": 1}
_MARKERS = {"N_"}


@dataclass(frozen=True)
class _Helper:
    """A function passing its parameter ``index`` (``name``) on as a detail, inside ``shape``
    (a ``{}`` where the parameter goes), with ``default`` when the caller leaves it out."""

    index: int
    name: str
    shape: str
    default: str | None


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _argument(node: ast.Call, index: int, name: str) -> ast.expr | None:
    if len(node.args) > index and not any(isinstance(a, ast.Starred) for a in node.args):
        return node.args[index]
    for keyword in node.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _placeholder(expression: ast.expr, taken: set[str]) -> str:
    if isinstance(expression, ast.Name):
        base = expression.id.lower()
    elif isinstance(expression, ast.Attribute):
        base = expression.attr.lower()
    else:
        base = "value"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def _text(expression: ast.expr, constants: dict[str, str]) -> str | None:
    """The detail ``expression`` always gives, as a msgid (f-strings as templates)."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return expression.value
    if isinstance(expression, ast.Name):
        return constants.get(expression.id)
    if isinstance(expression, ast.JoinedStr):
        taken: set[str] = set()
        out = []
        for part in expression.values:
            if isinstance(part, ast.Constant):
                out.append(str(part.value))
            elif isinstance(part, ast.FormattedValue):
                out.append(f"%({_placeholder(part.value, taken)})s")
        return "".join(out)
    return None


def _shape(expression: ast.expr, parameter: str) -> str | None:
    """``"{}"`` when ``expression`` is ``parameter``; ``"No such {}."`` for
    ``f"No such {parameter}."``; else None."""
    if isinstance(expression, ast.Name) and expression.id == parameter:
        return "{}"
    if isinstance(expression, ast.JoinedStr):
        out, found = [], False
        for part in expression.values:
            if isinstance(part, ast.Constant):
                out.append(str(part.value).replace("{", "{{").replace("}", "}}"))
            elif (
                isinstance(part, ast.FormattedValue)
                and isinstance(part.value, ast.Name)
                and part.value.id == parameter
                and part.conversion == -1
                and part.format_spec is None
                and not found
            ):
                out.append("{}")
                found = True
            else:
                return None
        return "".join(out) if found else None
    return None


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` (or ``NAME = N_("text")``)."""
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        value = node.value
        if isinstance(value, ast.Call) and _callee(value) in _MARKERS and value.args:
            value = value.args[0]
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    found[target.id] = value.value
    return found


def _marks(tree: ast.Module) -> bool:
    """Whether the module marks texts with this module's ``N_`` (reminders has its own)."""
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "api.core.i18n"
        and any(alias.name in _MARKERS for alias in node.names)
        for node in ast.walk(tree)
    )


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            yield node


def _find_helpers(trees: dict[Path, ast.Module]) -> dict[str, _Helper]:
    sinks = {name: _Helper(index, "detail", "{}", None) for name, index in _SINKS.items()}
    helpers: dict[str, _Helper] = dict(sinks)
    changed = True
    while changed:
        changed = False
        for tree in trees.values():
            for function in _functions(tree):
                if function.name in helpers:
                    continue
                params = [a.arg for a in function.args.posonlyargs + function.args.args]
                with_defaults = params[len(params) - len(function.args.defaults) :]
                defaults = dict(zip(with_defaults, function.args.defaults, strict=True))
                for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                    inner = helpers.get(_callee(call) or "")
                    argument = None if inner is None else _argument(call, inner.index, inner.name)
                    if inner is None or argument is None:
                        continue
                    for index, param in enumerate(params):
                        shape = _shape(argument, param)
                        if shape is None:
                            continue
                        default = defaults.get(param)
                        helpers[function.name] = _Helper(
                            index,
                            param,
                            inner.shape.replace("{}", shape, 1),
                            default.value
                            if isinstance(default, ast.Constant) and isinstance(default.value, str)
                            else None,
                        )
                        changed = True
                        break
                    if function.name in helpers:
                        break
    return helpers


@dataclass(frozen=True)
class Unresolved:
    """A detail the extraction could not read (computed at run time): it stays English
    unless a template of its shape is in the catalogue."""

    path: Path
    line: int
    source: str


def extract(paths: Iterable[Path]) -> tuple[dict[str, list[tuple[str, int]]], list[Unresolved]]:
    """Every constant detail in the Python files under ``paths``: ``msgid -> [(file, line)]``,
    and the details that are not constants."""
    files = sorted({f for p in paths for f in (p.rglob("*.py") if p.is_dir() else [p])})
    trees = {f: ast.parse(f.read_text(encoding="utf-8"), str(f)) for f in files}
    constants: dict[str, str] = {}
    for tree in trees.values():
        constants.update(_constants(tree))
    helpers = _find_helpers(trees)
    found: dict[str, list[tuple[str, int]]] = {}
    unresolved: list[Unresolved] = []

    def add(msgid: str, path: Path, line: int) -> None:
        found.setdefault(msgid, []).append((path.as_posix(), line))

    for path, tree in trees.items():
        local = {**constants, **_constants(tree)}
        marks = _marks(tree)
        function_params = {
            a.arg
            for function in _functions(tree)
            for a in function.args.posonlyargs + function.args.args + function.args.kwonlyargs
        }
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = _callee(call) or ""
            if name in _MARKERS and call.args and marks:
                text = _text(call.args[0], local)
                if text is not None:
                    add(text, path, call.lineno)
                continue
            helper = helpers.get(name)
            if helper is None:
                continue
            argument = _argument(call, helper.index, helper.name)
            if argument is None:
                if helper.default is not None:
                    add(helper.shape.format(helper.default), path, call.lineno)
                continue
            text = _text(argument, local)
            if text is not None:
                add(helper.shape.format(text), path, call.lineno)
            elif not (isinstance(argument, ast.Name) and argument.id in function_params):
                unresolved.append(Unresolved(path, call.lineno, ast.unparse(argument)))
        # A helper's own f-string shape ("No such %(what)s.") is a template too.
        for function in _functions(tree):
            helper = helpers.get(function.name)
            if helper is not None and function.name not in _SINKS and helper.shape != "{}":
                add(helper.shape.format(f"%({helper.name})s"), path, function.lineno)
    return found, unresolved


SOURCES = ("api", "reminders", "resources")
# Details computed at run time that the extraction cannot read; their texts (or templates)
# are added to the catalogue by hand. A new one fails tests/core/test_translations.py.
COMPUTED = {
    "api/accounts/service.py": {"problems[0]"},  # api.accounts.passwords.policy_problems
    "api/core/errors.py": {"error.detail"},  # a Problem's own detail, already extracted
}
# Texts added by hand (msgid -> where it comes from), for the details in COMPUTED.
BY_HAND = {
    "Use at least %(min_length)s characters.": "api/accounts/passwords.py",
    "Use at most %(max_length)s characters.": "api/accounts/passwords.py",
    "This password is too common; choose one that is harder to guess.": (
        "api/accounts/passwords.py"
    ),
    "The password must not be the username.": "api/accounts/passwords.py",
}


def write_template(root: Path, out: Path) -> int:
    """Write the .pot of every detail in the code under ``root``; the number of msgids."""
    found, _ = extract([root / source for source in SOURCES])
    for msgid, where in BY_HAND.items():
        found.setdefault(msgid, []).append((str(root / where), 0))
    catalog = Catalog(project="homeward", version="0.1", charset="utf-8")
    for msgid, locations in sorted(found.items()):
        flags = ["python-format"] if _PLACEHOLDER.search(msgid) else []
        relative = [(str(Path(f).relative_to(root)), line) for f, line in locations]
        catalog.add(msgid, locations=relative, flags=flags)
    with out.open("wb") as fh:
        write_po(fh, catalog, width=96, sort_output=True)
    return len(found)


if __name__ == "__main__":  # python -m api.core.i18n
    here = Path(__file__).resolve().parent
    count = write_template(here.parent.parent, here / "translations" / "messages.pot")
    print(f"{count} msgids", file=sys.stderr)
