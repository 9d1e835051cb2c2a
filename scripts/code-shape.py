#!/usr/bin/env python3
"""Reports the functions and classes that outgrow the project's size limits.

  (a) every function in node/, ledger/, api/, cluster/, net/ longer than 70 lines
      (file:line name length), from its name's line to its closing brace;
  (b) every class or struct in node/ with more than 15 public methods
      (constructors, the destructor and assignment operators not counted;
      overloads and static methods are).

It is a report: it prints the list and exits 0. With --strict it exits 1 when
anything is listed (and 2 when it cannot look). scripts/test.sh runs it after the
build as a warning list.

Function extents come from universal-ctags (JSON output with start and end lines;
Debian package universal-ctags, installed by deploy/install-deps.sh), which
parses C++ declarations rather than guessing from braces. A lambda is measured as
part of the function that holds it; a lambda outside any function is listed as
<lambda>.

  scripts/code-shape.py            the report
  scripts/code-shape.py --strict   the same, failing on any finding
"""

import json
import pathlib
import re
import shutil
import subprocess
import sys

MAX_FUNCTION_LINES = 70
MAX_PUBLIC_METHODS = 15
FUNCTION_DIRS = ("node", "ledger", "api", "cluster", "net")
CLASS_DIRS = ("node",)

ROOT = pathlib.Path(__file__).resolve().parent.parent


def ctags_tags(dirs):
    """Every tag ctags finds under `dirs` (relative to the repository root)."""
    command = [
        "ctags", "--output-format=json", "--languages=C++", "--kinds-C++=+p",
        "--fields=+neKaZp", "--recurse", "-f", "-", *dirs,
    ]
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    tags = []
    for line in out.splitlines():
        tag = json.loads(line)
        if tag.get("_type") == "tag":
            tags.append(tag)
    return tags


ANON = re.compile(r"__anon[0-9a-f]+$")


def display_name(tag):
    """Qualified name without medledger::<module>:: and anonymous namespaces."""
    parts = [p for p in tag.get("scope", "").split("::") if p] + [tag["name"]]
    if parts[:1] == ["medledger"]:
        parts = parts[2:] if len(parts) > 2 else parts[1:]
    parts = [p for p in parts if not ANON.match(p)] or ["<lambda>"]
    if ANON.match(tag["name"]):
        parts = parts + ["<lambda>"]
    return "::".join(parts)


def long_functions(tags):
    found = []
    for tag in tags:
        if tag.get("kind") != "function" or "end" not in tag:
            continue
        if ANON.match(tag["name"]) and tag.get("scopeKind") == "function":
            continue  # a lambda inside a function counts towards that function
        length = tag["end"] - tag["line"] + 1
        if length > MAX_FUNCTION_LINES:
            found.append((tag["path"], tag["line"], display_name(tag), length))
    return sorted(found)


def is_special_member(class_name, method):
    return method in (class_name, "~" + class_name) or re.fullmatch(r"operator\s*=", method)


def wide_classes(tags):
    classes = [t for t in tags if t.get("kind") in ("class", "struct") and "end" in t]
    found = []
    for cls in classes:
        qualified = "::".join(p for p in (cls.get("scope", ""), cls["name"]) if p)
        methods = [
            t for t in tags
            if t.get("kind") in ("function", "prototype")
            and t.get("scope") == qualified
            and t.get("path") == cls["path"]
            and cls["line"] <= t["line"] <= cls["end"]
            and t.get("access") == "public"
            and not is_special_member(cls["name"], t["name"])
        ]
        if len(methods) > MAX_PUBLIC_METHODS:
            found.append((cls["path"], cls["line"], display_name(cls), len(methods)))
    return sorted(found)


def main(argv):
    if any(a in ("-h", "--help") for a in argv[1:]):
        print(__doc__.strip())
        return 0
    strict = "--strict" in argv[1:]
    if any(a != "--strict" for a in argv[1:]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ctags = shutil.which("ctags")
    if ctags is None or "Universal Ctags" not in subprocess.run(
            [ctags, "--version"], capture_output=True, text=True).stdout:
        print("code-shape: universal-ctags is not installed (deploy/install-deps.sh installs it);"
              " nothing checked", file=sys.stderr)
        return 2 if strict else 0

    functions = long_functions(ctags_tags(FUNCTION_DIRS))
    classes = wide_classes(ctags_tags(CLASS_DIRS))

    print(f"code-shape: functions over {MAX_FUNCTION_LINES} lines in "
          f"{', '.join(d + '/' for d in FUNCTION_DIRS)}: {len(functions)}")
    for path, line, name, length in functions:
        print(f"  {path}:{line} {name} {length}")
    print(f"code-shape: classes in {', '.join(d + '/' for d in CLASS_DIRS)} with more than "
          f"{MAX_PUBLIC_METHODS} public methods: {len(classes)}")
    for path, line, name, count in classes:
        print(f"  {path}:{line} {name} {count}")
    return 1 if strict and (functions or classes) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
