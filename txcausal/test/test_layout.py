"""
The package's layout keeps to the style's bounds.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Optional, Set, Tuple, Union

from twisted.trial.unittest import SynchronousTestCase

import txcausal

from ._helpers import docs_dir

#: The most lines a module of the package has (the style says split past it).
MAX_MODULE_LINES = 450
#: The widest line of prose in the documentation (tables and code blocks
#: aside, which cannot be wrapped).
MAX_DOC_WIDTH = 100


#: An epytext link, C{L{target}} or C{L{text<target>}}, possibly wrapped.
_LINK = re.compile(r"L\{([^{}]*)\}")
#: A private part of a dotted name (C{_outgoing}, not C{__init__}).
_PRIVATE_PART = re.compile(r"(?:^|\.)_(?!_)")


#: A definition that has an API page: a class or a function.
_Definition = Union[ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef]


def _documented(node: _Definition, name: str) -> Dict[str, str]:
    """
    @return: The docstrings an API page shows of C{node}, the definition
        of a public class or function C{name}: its own, and for a class
        those of its public methods and C{__init__}, by name.
    """
    found = {name: ast.get_docstring(node) or ""}
    if isinstance(node, ast.ClassDef):
        for member in node.body:
            if (isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and (member.name == "__init__" or not member.name.startswith("_"))):
                found[f"{name}.{member.name}"] = ast.get_docstring(member) or ""
    return found


def _definitions(tree: ast.Module) -> Dict[str, _Definition]:
    """
    @return: The classes and functions a module defines, by name.
    """
    return {node.name: node for node in tree.body
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}


def publicDocstrings(module: Path) -> Dict[str, str]:
    """
    @return: The docstrings of a public module that its API pages show, by
        name: the module's; those of its public classes and functions, and
        of the public methods (and C{__init__}) of its public classes; and
        those of the classes and functions it re-exports (in C{__all__})
        from private modules, whose pages are the public module's.
    """
    tree = ast.parse(module.read_text("utf-8"))
    found = {"": ast.get_docstring(tree) or ""}
    for name, definition in _definitions(tree).items():
        if not name.startswith("_"):
            found.update(_documented(definition, name))
    exported: List[str] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "__all__"
                for target in statement.targets):
            exported = ast.literal_eval(statement.value)
    for statement in tree.body:
        if not (isinstance(statement, ast.ImportFrom) and statement.level == 1
                and statement.module and statement.module.startswith("_")):
            continue
        path = statement.module.replace(".", "/")
        source = module.parent / (path + ".py")
        if not source.exists():
            source = module.parent / path / "__init__.py"
        definitions = _definitions(ast.parse(source.read_text("utf-8")))
        for alias in statement.names:
            if (alias.asname or alias.name) in exported and alias.name in definitions:
                found.update(_documented(definitions[alias.name], alias.name))
    return found


def privateLinks(docstring: str) -> List[str]:
    """
    @return: The targets of the links of C{docstring} into private modules
        or to private names.
    """
    targets = [link.rpartition("<")[2].rstrip(">").strip() for link in _LINK.findall(docstring)]
    joined = ["".join(target.split()) for target in targets]
    return [target for target in joined if _PRIVATE_PART.search(target)]


def publicModules() -> Dict[str, Path]:
    """
    @return: The public modules of C{txcausal} (its C{__init__} too), by
        dotted name.
    """
    package = Path(txcausal.__file__).parent
    return {("txcausal" if p.name == "__init__.py" else f"txcausal.{p.stem}"): p
            for p in sorted(package.glob("*.py"))
            if not p.name.startswith("_") or p.name == "__init__.py"}


def publicObjects(modules: List[ModuleType]) -> Set[int]:
    """
    @return: The identities of the objects that C{modules} (public modules)
        define or export.
    """
    found = set()
    for module in modules:
        for name, value in vars(module).items():
            if (name in getattr(module, "__all__", ())
                    or (not name.startswith("_")
                        and getattr(value, "__module__", None) == module.__name__)):
                found.add(id(value))
    return found


def hiddenLinks(docstring: str, context: Any, public: Set[int]) -> List[str]:
    """
    @param context: The class, function or module whose docstring (or
        whose method's) it is: a bare name is resolved as pydoctor does, in the module
        that defines it (and, for a class, among the class's attributes).
    @param public: As L{publicObjects} returns.
    @return: The targets of the links of C{docstring} with no private part
        that resolve to a class, function or module of C{txcausal} that only
        a private module defines or exports.
    """
    module = context if isinstance(context, ModuleType) else importlib.import_module(
        context.__module__)
    found = []
    for link in _LINK.findall(docstring):
        target = "".join(link.rpartition("<")[2].rstrip(">").split())
        first = target.split(".")[0]
        # An attribute of the (public) class is documented on its page.
        value = None if isinstance(context, type) and hasattr(context, first) else vars(
            module).get(first)
        if value is None or isinstance(value, (str, bytes, int, float, tuple, frozenset)):
            continue
        owner = value.__name__ if isinstance(value, ModuleType) else getattr(
            value, "__module__", None)
        if (isinstance(owner, str) and _PRIVATE_PART.search(owner.removeprefix("txcausal"))
                and owner.startswith("txcausal.") and id(value) not in public):
            found.append(target)
    return found


#: A code fence (CommonMark): its indentation (a list item's fences are
#: indented), three or more backticks or tildes, and what follows them.
_FENCE = re.compile(r"( *)(`{3,}|~{3,})(.*)")
#: A list item's marker, with its indentation and the spaces after it.
_ITEM = re.compile(r"( *)([-+*]|[0-9]{1,9}[.)])( +|$)")
#: The markers of a block quote (nested ones too) before a line's text.
_QUOTE = re.compile(r"(?: {0,3}> ?)*")


def wideLines(text: str) -> Dict[int, int]:
    """
    @return: The lines of prose of the Markdown C{text} wider than
        L{MAX_DOC_WIDTH}, by number (from 1), with their widths: a table's
        lines aside, and those of code blocks. As in CommonMark, a fence
        opens a block if indented at most three spaces past the margin (or
        the text of the list item it is in; in a block quote too); a block
        is closed by a fence of the same character at least as long as its
        opening one, with nothing after it, indented as an opening one may
        be, or by the end of its list item or quote; backticks with a
        backtick after them are not a fence (inline code); lines indented
        four spaces more, not in a paragraph, are code.
    """
    wide: Dict[int, int] = {}
    # The open fence: its quote depth, list item's text column, fence.
    opening: Optional[Tuple[int, int, str]] = None
    items: List[int] = []  # The text columns of the list items open.
    paragraph = False
    for number, line in enumerate(text.splitlines(), 1):
        quote = _QUOTE.match(line)
        depth = quote[0].count(">") if quote else 0
        body = line[quote.end() if quote else 0:]
        indent = len(body) - len(body.lstrip(" "))
        fence = _FENCE.fullmatch(body)
        if opening is not None and (depth < opening[0] or body.strip() and indent < opening[1]):
            opening = None  # The quote or list item holding the block ended.
        if opening is not None:
            if (fence and fence[2][0] == opening[2][0] and len(fence[2]) >= len(opening[2])
                    and not fence[3].strip() and len(fence[1]) <= opening[1] + 3):
                opening = None
            continue
        if not body.strip():
            paragraph = False
            continue
        item = _ITEM.match(body)
        if not paragraph or fence or item:  # Else a paragraph's (lazy) line.
            while items and indent < items[-1]:
                items.pop()
        column = items[-1] if items else 0
        if indent >= column + 4:
            if not paragraph:
                continue  # Indented code.
        elif fence and not (fence[2][0] == "`" and "`" in fence[3]):
            opening = (depth, column, fence[2])
            paragraph = False
            continue
        elif item:
            spaces = len(item[3])
            items.append(item.end(2) + (spaces if 0 < spaces <= 4 else 1))
        paragraph = True
        if not line.startswith("|") and len(line) > MAX_DOC_WIDTH:
            wide[number] = len(line)
    return wide


class WideLinesTests(SynchronousTestCase):
    """
    L{wideLines}, which L{LayoutTests.test_docsWithinWidth} runs on every page.
    """

    long = "x" * (MAX_DOC_WIDTH + 1)

    def test_prose(self) -> None:
        """
        A line of prose wider than L{MAX_DOC_WIDTH} is reported with its width;
        one exactly that wide, and a table's, are not.
        """
        text = f"{'x' * MAX_DOC_WIDTH}\n{self.long}\n| {self.long} |\n"
        self.assertEqual(wideLines(text), {2: MAX_DOC_WIDTH + 1})

    def test_fence(self) -> None:
        """
        The lines of a fenced code block are not prose; the lines after it are.
        """
        text = f"```sh\n{self.long}\n```\n\n{self.long}\n"
        self.assertEqual(wideLines(text), {5: MAX_DOC_WIDTH + 1})

    def test_indentedFence(self) -> None:
        """
        A fence indented in a list item opens and closes a code block as one at
        the margin does: the lines inside are not prose, those after it are.
        """
        text = f"- an item:\n\n  ```python\n  {self.long}\n  ```\n\n  {self.long}\n"
        self.assertEqual(wideLines(text), {7: MAX_DOC_WIDTH + 3})

    def test_closedByIndentedFence(self) -> None:
        """
        A block opened at the margin is closed by a fence indented by up to
        three spaces (CommonMark): the prose after it is checked. Indented by
        four, the fence is a line of code.
        """
        text = f"```\ncode\n   ```\n{self.long}\n```\n{self.long}\n```\n"
        self.assertEqual(wideLines(text), {4: MAX_DOC_WIDTH + 1})
        self.assertEqual(wideLines(f"```\n    ```\n{self.long}\n```\n"), {})

    def test_longerFence(self) -> None:
        """
        A fence of four backticks is closed only by one of four or more: a
        line of three inside it is code (a Markdown example), as is a fence
        of tildes, which backticks do not close.
        """
        text = (f"````md\n```\n{self.long}\n```\n````\n{self.long}\n"
                f"~~~\n```\n{self.long}\n~~~\n")
        self.assertEqual(wideLines(text), {6: MAX_DOC_WIDTH + 1})

    def test_notAFence(self) -> None:
        """
        Backticks with more backticks after them on the line are inline code,
        not a fence: the prose after that line is still prose.
        """
        text = f"```inline``` code\n{self.long}\n"
        self.assertEqual(wideLines(text), {2: MAX_DOC_WIDTH + 1})


    def test_tildeFence(self) -> None:
        """
        Tildes make a fence too: backticks inside a tilde block are code, and
        the block's closing tildes end it, so the prose after them is checked.
        """
        text = f"~~~\n```\n~~~\n{self.long}\n"
        self.assertEqual(wideLines(text), {4: MAX_DOC_WIDTH + 1})

    def test_closingFenceWithText(self) -> None:
        """
        A fence with text after it does not close a block: the lines after it
        are still code.
        """
        text = f"```\n``` not a close\n{self.long}\n```\n{self.long}\n"
        self.assertEqual(wideLines(text), {5: MAX_DOC_WIDTH + 1})

    def test_listItemEndsFence(self) -> None:
        """
        A fence opened in a list item and never closed ends with the item
        (CommonMark): at a line indented less than the item's text, as the
        prose after the list, or the next item, is.
        """
        text = f"- item\n\n  ```\n  code\n\n{self.long}\n"
        self.assertEqual(wideLines(text), {6: MAX_DOC_WIDTH + 1})
        text = f"- item\n  ```\n  code\n- {self.long}\n"
        self.assertEqual(wideLines(text), {4: MAX_DOC_WIDTH + 3})
        text = f"1. item\n\n   ```\n\n   {self.long}\n   ```\n   {self.long}\n"
        self.assertEqual(wideLines(text), {7: MAX_DOC_WIDTH + 4})

    def test_indentedCode(self) -> None:
        """
        Lines indented four spaces past the margin (or a list item's text)
        after a blank line are code, a fence among them too; indented within
        a paragraph, they are prose, and a list item's paragraph continued at
        the margin keeps the item open.
        """
        text = f"para\n\n    ```\n    {self.long}\n\n{self.long}\n"
        self.assertEqual(wideLines(text), {6: MAX_DOC_WIDTH + 1})
        text = f"- item\n\n      {self.long}\n\n  {self.long}\n"
        self.assertEqual(wideLines(text), {5: MAX_DOC_WIDTH + 3})
        text = f"para\n    {self.long}\n    ```\n{self.long}\n"
        self.assertEqual(wideLines(text), {2: MAX_DOC_WIDTH + 5, 4: MAX_DOC_WIDTH + 1})
        text = f"1. item\nlazy\n\n    {self.long}\n"
        self.assertEqual(wideLines(text), {4: MAX_DOC_WIDTH + 5})

    def test_quotedFence(self) -> None:
        """
        A fence in a block quote opens a code block as one outside does, and
        the end of the quote ends it.
        """
        text = f"> ```\n> {self.long}\n> ```\n> {self.long}\n"
        self.assertEqual(wideLines(text), {4: MAX_DOC_WIDTH + 3})
        text = f"> ```\n> {self.long}\n\n{self.long}\n"
        self.assertEqual(wideLines(text), {4: MAX_DOC_WIDTH + 1})


class LayoutTests(SynchronousTestCase):
    """
    The modules of C{txcausal} (its tests aside).
    """

    def test_modulesWithinBound(self) -> None:
        """
        Every module of the package is at most L{MAX_MODULE_LINES} lines.
        """
        package = Path(txcausal.__file__).parent
        modules = [p for p in package.rglob("*.py") if "test" not in p.relative_to(package).parts]
        self.assertGreater(len(modules), 50)
        long = {}
        for module in modules:
            with module.open("rb") as f:
                count = sum(1 for _ in f)
            if count > MAX_MODULE_LINES:
                long[str(module.relative_to(package))] = count
        self.assertEqual(long, {})

    def test_noPrivateLinksInPublicDocstrings(self) -> None:
        """
        The docstrings the public modules' API pages show (those of the
        objects they re-export from private modules too) link to public
        names only: a link into a private module (C{txcausal._outgoing}) is
        a page the reader of the public API is not meant to need.
        """
        modules = publicModules()
        self.assertGreater(len(modules), 10)
        imported = {name: importlib.import_module(name) for name in modules}
        public = publicObjects(list(imported.values()))
        private = {}
        for dotted, path in modules.items():
            for name, docstring in publicDocstrings(path).items():
                # A method's links resolve as its class's do.
                top = name.split(".")[0]
                context = getattr(imported[dotted], top) if top else imported[dotted]
                links = privateLinks(docstring) + hiddenLinks(docstring, context, public)
                if links:
                    private[f"{path.name}:{name}"] = links
        self.maxDiff = None
        self.assertEqual(private, {})

    def test_privateLinks(self) -> None:
        """
        L{privateLinks} finds links to private modules and names, wrapped
        or not, with or without text, and only those.
        """
        text = ("L{txcausal._outgoing}, L{never sent<txcausal._outgoing.never_sent>}, "
                "L{_Shared}, L{txcausal.\n    _route}; not L{txcausal.treq.get}, "
                "L{Action.__init__}, L{web<txcausal.web>}")
        self.assertEqual(privateLinks(text), ["txcausal._outgoing",
                                              "txcausal._outgoing.never_sent", "_Shared",
                                              "txcausal._route"])

    def test_hiddenLinks(self) -> None:
        """
        L{hiddenLinks} finds bare names that resolve, in the module that
        defines the documented object, to a class or function only a private
        module has; not a public one, a class's own attribute, a constant
        or a name it cannot resolve.
        """
        public = publicObjects([txcausal])
        text = ("L{PipeClosed}, L{CutLines.write_cut_line}, L{FileDestination}, "
                "L{write}, L{PENDING_HOLDERS}, L{nowhere}, L{IDestination}")
        self.assertEqual(hiddenLinks(text, txcausal.FileDestination, public),
                         ["PipeClosed", "CutLines.write_cut_line"])

    def test_docsWithinWidth(self) -> None:
        """
        Every line of prose in C{README.md} and C{docs/*.md} is at most
        L{MAX_DOC_WIDTH} characters: tables and code blocks aside.
        """
        root = docs_dir().parent
        pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
        self.assertGreater(len(pages), 10)
        wide: Dict[str, int] = {}
        for page in pages:
            for number, width in wideLines(page.read_text("utf-8")).items():
                wide[f"{page.relative_to(root)}:{number}"] = width
        self.assertEqual(wide, {})
