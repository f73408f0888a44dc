"""
Write a Sphinx inventory of Python's built-in names (exceptions and
warnings, functions, classes, constants) and of the public names of some
standard modules, pointing into docs.python.org, so that the API docs link
L{ValueError}, L{json.JSONEncoder} and their kin without downloading
Python's own inventory (``tox -e docs`` runs it):

    python docs/python_inventory.py OUTPUT
"""

import builtins
import importlib
import sys
import types
import zlib

#: The built-in classes documented in "Built-in Types", not "Built-in Functions".
STDTYPES = {"bytearray", "bytes", "dict", "frozenset", "list", "memoryview", "range", "set",
            "str", "tuple"}
CONSTANTS = {"Ellipsis", "False", "None", "NotImplemented", "True"}
#: Standard modules documented on one page each, C{library/NAME.html}.
MODULES = ["argparse", "collections", "contextvars", "datetime", "enum", "functools", "gzip",
           "io", "json", "logging", "os", "pathlib", "signal", "socket", "subprocess",
           "tempfile", "threading", "traceback", "typing", "unittest", "uuid", "warnings"]


def entries():
    """
    Yield C{(name, role, address)} for each name, the address relative to
    the docs' root (a final C{$} stands for the name).
    """
    for name in sorted(dir(builtins)):
        value = getattr(builtins, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            yield name, "py:exception", "library/exceptions.html#$"
        elif isinstance(value, type) and not name.startswith("_"):
            page = "library/stdtypes.html" if name in STDTYPES else "library/functions.html"
            yield name, "py:class", page + "#$"
        elif isinstance(value, types.BuiltinFunctionType) and not name.startswith("_"):
            yield name, "py:function", "library/functions.html#$"
        elif name in CONSTANTS:
            yield name, "py:data", "library/constants.html#$"
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        page = f"library/{module_name}.html"
        yield module_name, "py:module", f"{page}#module-{module_name}"
        public = getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")])
        for name in public:
            value = getattr(module, name, None)
            if isinstance(value, type):
                role = "py:exception" if issubclass(value, BaseException) else "py:class"
            elif callable(value):
                role = "py:function"
            else:
                continue
            yield f"{module_name}.{name}", role, page + "#$"


def main(output):
    lines = "".join(f"{name} {role} 1 {uri} -\n" for name, role, uri in entries())
    header = ("# Sphinx inventory version 2\n# Project: Python\n"
              f"# Version: {sys.version_info[0]}.{sys.version_info[1]}\n"
              "# The remainder of this file is compressed using zlib.\n")
    with open(output, "wb") as f:
        f.write(header.encode("ascii") + zlib.compress(lines.encode("ascii")))


if __name__ == "__main__":
    main(sys.argv[1])
