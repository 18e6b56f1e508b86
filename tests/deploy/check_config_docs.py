#!/usr/bin/env python3
"""docs/configuration.md quotes each daemon's --help; fail when a quote is out of date.

usage: check_config_docs.py DOC NAME=BINARY...   (e.g. ws-gateway=build/gateway/app/ws-gateway)
"""
import difflib
import subprocess
import sys


def quoted_help(doc: str, name: str) -> str:
    marker = f"This is the output of `{name} --help`:"
    start = doc.index(marker)
    body = doc.index("```\n", start) + 4
    return doc[body:doc.index("```", body)]


def main() -> int:
    doc = open(sys.argv[1], encoding="utf-8").read()
    stale = 0
    for pair in sys.argv[2:]:
        name, binary = pair.split("=", 1)
        out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
        actual = (out.stdout or out.stderr).rstrip("\n") + "\n"
        try:
            quoted = quoted_help(doc, name)
        except ValueError:
            print(f"{sys.argv[1]}: no quoted `{name} --help`")
            stale += 1
            continue
        if quoted != actual:
            stale += 1
            print(f"{sys.argv[1]}: the quoted `{name} --help` differs from {binary} --help:")
            sys.stdout.writelines(difflib.unified_diff(quoted.splitlines(True), actual.splitlines(True),
                                                       "docs", "binary", n=1))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
