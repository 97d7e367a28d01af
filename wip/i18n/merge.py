#!/usr/bin/env python3
"""Adds (key, en, ru) entries from a python file's APP list to locales/{en,ru}.json, sorted."""
import json, sys, runpy
entries = runpy.run_path(sys.argv[1])["APP"]
for lang, col in (("en", 1), ("ru", 2)):
    path = f"locales/{lang}.json"
    data = json.load(open(path))
    for e in entries:
        if e[0] in data and data[e[0]] != e[col]:
            print(f"{lang}: {e[0]} changes", file=sys.stderr)
        data[e[0]] = e[col]
    open(path, "w").write(json.dumps(dict(sorted(data.items())), ensure_ascii=False, indent=2) + "\n")
