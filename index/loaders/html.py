"""HTML: the text a reader sees, with page chrome and hidden text removed.

Hidden text is how pages plant instructions for assistants, so it is dropped: elements with
the ``hidden`` attribute or ``aria-hidden="true"``, and elements whose inline style or a simple
``<style>`` rule (``.class``, ``#id``, ``tag``) hides them (``display:none``,
``visibility:hidden``, ``opacity:0``, a font size under 2 px, off-screen positioning, or a text
colour equal to the background colour set on it or an ancestor, white by default).
"""

from __future__ import annotations

import re
from pathlib import Path

from index.documents import LoadedDocument
from index.loaders.base import SNIFF_BYTES, SkipFile

CHROME_TAGS = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside",
               "form", "iframe", "svg", "button", "object", "embed"]  # fmt: skip
_DECLARATION = re.compile(r"([\w-]+)\s*:\s*([^;]+)")
_CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
# Rules inside @media/@supports apply only sometimes (print, small screens): not "hidden".
_CONDITIONAL_BLOCK = re.compile(
    r"@(?:media|supports|container)[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}"
)
_SIMPLE_SELECTOR = re.compile(r"^[\w#.\-\s,>]+$")
_FONT_SIZE = re.compile(r"^(\d*\.?\d+)(px|pt|em|rem|%)?$")
_NAMED_COLOURS = {"white": "#ffffff", "black": "#000000", "transparent": "transparent"}


def load_html(data: bytes, path: Path) -> LoadedDocument:
    """HTML: the page's visible text; scripts, styles, navigation, forms and hidden text go."""
    if b"\x00" in data[:SNIFF_BYTES]:
        raise SkipFile("binary content (NUL bytes), not HTML")
    soup = parse_html(data)
    title = _first_text(soup.find("h1")) or _first_text(soup.find("title"))
    author = _meta(soup, "author")
    date = _meta(soup, "article:published_time") or _meta(soup, "date")
    return LoadedDocument(text=visible_text(soup), title=title, author=author, date=date)


def parse_html(data: bytes | str):
    """A BeautifulSoup tree (lxml parser), or ``SkipFile`` for input the parser cannot take."""
    from bs4 import BeautifulSoup

    try:
        return BeautifulSoup(data, "lxml")
    except Exception as exc:  # noqa: BLE001 - parser failures on garbage input vary
        raise SkipFile(f"unparseable HTML: {exc}") from None


def visible_text(soup) -> str:
    """The text a reader of the page sees: chrome and hidden elements removed, one block a line."""
    hidden_by_rules = _hidden_by_stylesheets(soup)
    for tag in soup(CHROME_TAGS):
        tag.decompose()
    for tag in hidden_by_rules:
        if not tag.decomposed:
            tag.decompose()
    for tag in [t for t in soup.find_all(True) if _hides_itself(t)]:
        if not tag.decomposed:
            tag.decompose()
    body = soup.body or soup
    return body.get_text("\n", strip=True)


def _hides_itself(tag) -> bool:
    if tag.decomposed or tag.attrs is None:
        return False
    if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).strip().lower() == "true":
        return True
    if tag.name == "input" and str(tag.get("type", "")).lower() == "hidden":
        return True
    style = _declarations(str(tag.get("style", "")))
    if _hides(style):
        return True
    colour = _colour(style.get("color"))
    return colour is not None and colour == _background(tag, style)


def _hides(style: dict[str, str]) -> bool:
    if style.get("display") == "none" or style.get("visibility") in ("hidden", "collapse"):
        return True
    if style.get("opacity", "").strip() in ("0", "0.0", ".0"):
        return True
    if "font-size" in style and _font_px(style["font-size"]) < 2:
        return True
    for side in ("left", "top", "text-indent"):
        if re.match(r"^-\d{3,}(?:px|em)?$", style.get(side, "").replace(" ", "")):
            return True
    return False


def _font_px(value: str) -> float:
    """A CSS font size in pixels (keywords and odd values count as a normal 16 px)."""
    match = _FONT_SIZE.match(value.replace(" ", ""))
    if not match:
        return 16.0
    try:
        size = float(match.group(1))
    except ValueError:
        return 16.0
    return size * {"em": 16, "rem": 16, "%": 0.16, "pt": 4 / 3}.get(match.group(2), 1)


def _background(tag, own: dict[str, str]) -> str | None:
    """The background colour behind ``tag``: its own, an ancestor's, else white."""
    node, style = tag, own
    while node is not None and getattr(node, "name", None):
        found = _colour(style.get("background-color") or style.get("background"))
        if found and found != "transparent":
            return found
        node = node.parent
        style = _declarations(str(node.get("style", ""))) if node is not None and node.attrs else {}
    return "#ffffff"


def _colour(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower().split()[0] if value.strip() else ""
    value = _NAMED_COLOURS.get(value, value)
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        return "#" + "".join(ch * 2 for ch in value[1:])
    if re.fullmatch(r"#[0-9a-f]{6}|transparent", value):
        return value
    rgb = re.fullmatch(r"rgba?\((\d+),(\d+),(\d+)(?:,([\d.]+))?\)", value.replace(" ", ""))
    if rgb:
        if rgb.group(4) is not None and float(rgb.group(4) or 1) == 0:
            return "transparent"
        return "#" + "".join(f"{min(int(rgb.group(i)), 255):02x}" for i in (1, 2, 3))
    return None


def _declarations(style: str) -> dict[str, str]:
    found = {}
    for name, value in _DECLARATION.findall(style):
        found[name.lower()] = value.replace("!important", "").strip().lower()
    return found


def _hidden_by_stylesheets(soup) -> list:
    """Elements that simple rules of the page's ``<style>`` blocks hide."""
    hidden = []
    for block in soup.find_all("style"):
        sheet = _CONDITIONAL_BLOCK.sub("", block.get_text())
        for selectors, body in _CSS_RULE.findall(sheet):
            if not _hides(_declarations(body)):
                continue
            for selector in selectors.split(","):
                selector = selector.strip()
                if not selector or not _SIMPLE_SELECTOR.match(selector):
                    continue
                try:
                    hidden.extend(soup.select(selector))
                except Exception:  # noqa: BLE001, S112 - a selector soupsieve cannot parse
                    continue
    return hidden


def _first_text(tag) -> str | None:
    if tag is None:
        return None
    text = " ".join(tag.get_text(" ", strip=True).split())
    return text or None


def _meta(soup, name: str) -> str | None:
    tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
    content = tag.get("content") if tag else None
    return content.strip() if isinstance(content, str) and content.strip() else None
