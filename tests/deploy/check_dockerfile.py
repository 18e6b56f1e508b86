#!/usr/bin/env python3
"""Checks the properties wsgw requires of its Dockerfiles (deploy/docker/*.Dockerfile), which a
generic linter does not know: multi-stage, every stage on Debian 12, a non-root USER in the final
stage, no ADD (never of a URL), a HEALTHCHECK, an ENTRYPOINT, and listeners on 0.0.0.0.
Usage: check_dockerfile.py FILE...   Prints one line per problem; exit 1 if there is any."""
import re
import sys

DEBIAN_12 = re.compile(r"^debian:(12|bookworm)(-slim)?(@sha256:[0-9a-f]{64})?$")


def instructions(text):
    """Yields (line number, KEYWORD, arguments) with continuation lines joined."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = i
        line = lines[i]
        while line.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line.rstrip()[:-1] + " " + lines[i].strip()
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, args = stripped.partition(" ")
        yield start + 1, keyword.upper(), args.strip()


def check(path):
    problems = []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stages = []  # [name or None, [(line, keyword, args)]]
    for lineno, keyword, args in instructions(text):
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--platform")]
            image = words[0] if words else ""
            name = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else None
            known = {s[0] for s in stages if s[0]}
            if image.lower() not in known and not DEBIAN_12.match(image):
                problems.append(f"{path}:{lineno}: base image {image!r} is not Debian 12 (debian:12, debian:12-slim)")
            stages.append([name, []])
        elif not stages:
            if keyword != "ARG":
                problems.append(f"{path}:{lineno}: {keyword} before the first FROM")
        else:
            stages[-1][1].append((lineno, keyword, args))
            if keyword == "ADD":
                what = "of a URL" if re.search(r"\b(https?|ftp)://", args) else "(use COPY)"
                problems.append(f"{path}:{lineno}: ADD {what}")
    if len(stages) < 2:
        problems.append(f"{path}: not multi-stage ({len(stages)} FROM): build tools must stay out of the image")
        if not stages:
            return problems
    final = stages[-1][1]
    users = [(n, a) for n, k, a in final if k == "USER"]
    if not users:
        problems.append(f"{path}: the final stage has no USER: the daemon would run as root")
    else:
        lineno, user = users[-1]
        name = user.split(":")[0]
        if name in ("root", "0", ""):
            problems.append(f"{path}:{lineno}: USER {user} is root")
        elif not name.isdigit():
            problems.append(f"{path}:{lineno}: USER {user} is not numeric (runAsNonRoot cannot verify a name)")
    if not any(k == "HEALTHCHECK" and not a.upper().startswith("NONE") for _, k, a in final):
        problems.append(f"{path}: the final stage has no HEALTHCHECK")
    if not any(k == "ENTRYPOINT" for _, k, _ in final):
        problems.append(f"{path}: the final stage has no ENTRYPOINT")
    if not any(k == "COPY" and "--from=" in a for _, k, a in final):
        problems.append(f"{path}: the final stage copies nothing from the build stage")
    for lineno, keyword, args in final:
        if keyword == "ENV" and re.search(r"LISTEN=127\.|LISTEN=localhost", args):
            problems.append(f"{path}:{lineno}: a listener on loopback is unreachable from outside the container")
    return problems


def main(paths):
    if not paths:
        print("usage: check_dockerfile.py FILE...", file=sys.stderr)
        return 2
    problems = [p for path in paths for p in check(path)]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
