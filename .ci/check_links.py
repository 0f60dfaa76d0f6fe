#!/usr/bin/env python3
"""Checks that the rendered book is whole.

Every page listed in the table of contents exists, and every internal link
(href) and every image (src) on every page resolves to a file of the build,
with the #fragment present as an id on the target page. External links
(http:, https:, mailto:) are not fetched: CI has no network but the package
registries. Usage: check_links.py BOOK_DIR [SRC_DIR]
"""
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []  # (attribute, value)
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name == "name" and tag == "a" and value:
                self.ids.add(value)
            if value and ((name == "href" and tag in ("a", "link")) or (name == "src" and tag in ("img", "script"))):
                self.refs.append((tag, name, value))


def parse(path, cache={}):
    if path not in cache:
        page = Page()
        page.feed(path.read_text(encoding="utf-8"))
        cache[path] = page
    return cache[path]


def main():
    root = Path(sys.argv[1]).resolve()
    # The book's own pages. `api/` holds rustdoc's output, published with the
    # book: links *into* it are checked, its own thousands of pages are not.
    pages = sorted(p for p in root.rglob("*.html") if p.relative_to(root).parts[0] != "api")
    problems = []
    images = 0
    links = 0
    for page_path in pages:
        page = parse(page_path)
        for tag, attr, value in page.refs:
            parts = urlsplit(value)
            if parts.scheme or value.startswith("//"):
                continue  # external
            target = page_path if not parts.path else (page_path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            rel = page_path.relative_to(root)
            if not str(target).startswith(str(root)):
                problems.append(f"{rel}: {attr}={value!r} points outside the book")
                continue
            if not target.exists():
                problems.append(f"{rel}: {attr}={value!r} does not exist")
                continue
            if tag == "img":
                images += 1
                if target.stat().st_size == 0:
                    problems.append(f"{rel}: image {value!r} is empty")
            else:
                links += 1
            frag = unquote(parts.fragment)
            in_api = target.relative_to(root).parts[0] == "api"
            if frag and target.suffix == ".html" and not in_api and frag not in parse(target).ids:
                problems.append(f"{rel}: {attr}={value!r}: no id {frag!r} on the target page")
    # Every chapter (every Markdown file in src/, which holds only chapters
    # listed in SUMMARY.md) must have become a page.
    if len(sys.argv) > 2:
        src = Path(sys.argv[2])
        for md in sorted(src.rglob("*.md")):
            if md.name != "SUMMARY.md" and not (root / md.relative_to(src).with_suffix(".html")).exists():
                problems.append(f"chapter {md} has no page in the build")
    summary = root / "print.html"
    if not summary.exists():
        problems.append("print.html is missing (the print page must be on)")
    if not (root / "searchindex.js").exists() and not list(root.glob("searchindex*.js")):
        problems.append("the search index is missing (search must be on)")
    for p in problems:
        print("BROKEN:", p)
    print(f"checked {len(pages)} pages, {links} internal links, {images} images: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
