"""
Write a Sphinx inventory of Python's built-in names (exceptions and
warnings, functions, classes, constants) pointing into docs.python.org, so
that the API docs link L{ValueError} and its kin without downloading
Python's own inventory (``tox -e docs`` runs it):

    python docs/python_inventory.py OUTPUT
"""

import builtins
import sys
import types
import zlib

#: The built-in classes documented in "Built-in Types", not "Built-in Functions".
STDTYPES = {"bytearray", "bytes", "dict", "frozenset", "list", "memoryview", "range", "set",
            "str", "tuple"}
CONSTANTS = {"Ellipsis", "False", "None", "NotImplemented", "True"}


def entries():
    """
    Yield C{(name, role, page)} for each documented built-in name.
    """
    for name in sorted(dir(builtins)):
        value = getattr(builtins, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            yield name, "py:exception", "library/exceptions.html"
        elif isinstance(value, type) and not name.startswith("_"):
            page = "library/stdtypes.html" if name in STDTYPES else "library/functions.html"
            yield name, "py:class", page
        elif isinstance(value, types.BuiltinFunctionType) and not name.startswith("_"):
            yield name, "py:function", "library/functions.html"
        elif name in CONSTANTS:
            yield name, "py:data", "library/constants.html"


def main(output):
    lines = "".join(f"{name} {role} 1 {page}#$ -\n" for name, role, page in entries())
    header = ("# Sphinx inventory version 2\n# Project: Python\n"
              f"# Version: {sys.version_info[0]}.{sys.version_info[1]}\n"
              "# The remainder of this file is compressed using zlib.\n")
    with open(output, "wb") as f:
        f.write(header.encode("ascii") + zlib.compress(lines.encode("ascii")))


if __name__ == "__main__":
    main(sys.argv[1])
