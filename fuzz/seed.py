#!/usr/bin/env python3
"""Seeds the fuzz corpora from the shared conformance vectors.

`load` gets every vector's policy document as its own file (inline documents re-serialized,
`document_file`s as written); the structured targets get the vector files' bytes, which
`arbitrary` reads as a starting point. Usage: seed.py CONFORMANCE_DIR [MORE_DIRS...]
"""
import hashlib
import json
import pathlib
import sys

here = pathlib.Path(__file__).resolve().parent


def put(target: str, data: bytes) -> None:
    folder = here / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main() -> None:
    count = 0
    for directory in map(pathlib.Path, sys.argv[1:]):
        for path in sorted(directory.glob("*.json")):
            raw = path.read_bytes()
            test = json.loads(raw)
            if "document" in test:
                document = json.dumps(test["document"], ensure_ascii=False).encode()
            else:
                document = (path.parent / test["document_file"]).read_bytes()
            put("load", document)
            for target in ("roundtrip", "evaluate", "evaluate_large"):
                put(target, raw)
            count += 1
    print(f"seeded from {count} vector files")


if __name__ == "__main__":
    main()
