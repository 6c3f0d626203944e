"""Boilerplate removal for web clippings: the article text, what was removed and why, and metadata.

``clean_text`` works line by line, because a clipped page keeps one block element per line. Every
non-empty line is either kept as a paragraph or removed with a short reason, so callers (and the
tests) can see exactly what cleaning dropped. The rules are generic patterns of page chrome (cookie
banners, login forms, share and comment widgets, counters, footers). Anything that matches none of
them stays: losing an article sentence costs more than keeping a stray menu item.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from index.documents import LoadedDocument, SectionSpan


@dataclass(frozen=True)
class RemovedLine:
    """A line that cleaning removed: the stripped original line and a short reason label."""

    line: str
    reason: str


@dataclass(frozen=True)
class CleanedText:
    """The article text of a clipping, the lines removed from it, and the metadata found.

    ``text`` has paragraphs separated by exactly ``"\\n\\n"``, single spaces inside a paragraph and
    no leading or trailing whitespace. ``date`` is kept as written in the page.
    """

    text: str
    removed: tuple[RemovedLine, ...]
    title: str | None
    author: str | None
    date: str | None


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_LINE_BREAK = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")
# Page chrome is short; longer lines are paragraphs and skip the line rules (and their cost).
_SHORT = 300
_CLOSE = r" ?[×✕✖]?"  # a dialog title clipped together with its close button, e.g. "登录×"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = (
    rf"{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}|\d{{1,2}} {_MONTH},? \d{{4}}"
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?Z?)?"
    r"|\d{4}年\d{1,2}月\d{1,2}日|\d{1,2}/\d{1,2}/\d{4}"
)
_DATE_RE = _rx(_DATE)
_DATE_LINE = _rx(
    r"^[-–—•·*| ]*(?:(?:(?:last )?updated(?: on)?|published(?: on)?|posted(?: on)?|date"
    rf"|发布(?:时间|日期|于)?|更新(?:时间|日期|于)?) ?[:：]? ?)?(?P<date>{_DATE})"
    r"(?: (?:at )?\d{1,2}:\d{2}(?: ?[ap]m)?)?\.?$"
)
# Case-sensitive on purpose: a byline name is capitalised, and "By Tuesday, the markets..." has no
# second capitalised word.
_NAME = (
    r"[A-Z][\w'’.-]*(?: (?:[A-Z][\w'’.-]*|de|van|von|da|del|der|la|le|bin)){1,3}"
    r"|[\u4e00-\u9fff·]{2,8}"
)
_BYLINE = re.compile(
    rf"^(?i:by |written by |author ?[:：] ?|作者 ?[:：]? ?)(?P<author>{_NAME})"
    r"(?: ?[,|·•–—-] ?(?P<rest>.{0,60}))?$"
)
_PERSON = re.compile(rf"^(?:{_NAME})$")
_AVATAR = _rx(r"avatar|author (?:photo|image|picture)")

# reason -> alternatives, matched case-insensitively against the whole whitespace-collapsed line;
# the first reason that matches wins, so the more specific widgets come first.
_RULE_TABLE: dict[str, tuple[str, ...]] = {
    "login prompt": (
        r"^(?:(?:log ?in|sign ?in|sign ?up|register|log ?out|sign ?out|my account"
        r"|create (?:an )?account|登录|登入|注册|退出登录)(?: ?[/|或] ?| or | )?)+" + _CLOSE + "$",
        r"^(?:(?:e-?mail(?: address)?|username|user name|password|phone(?: number)?"
        r"|电子邮件|邮箱|用户名|手机号码?|密码|验证码)(?: ?[/或] ?| or )?)+ ?[:：*]?$",
        r"^(?:remember me|keep me (?:signed|logged) in|stay signed in|记住我|忘记密码|找回密码)$",
        r"^forgot (?:your )?password\??$",
        r"^(?:please enter|enter your|请输入|请填写).{0,60}"
        r"(?:e-?mail|password|phone|username|邮箱|密码|手机|验证码|用户名)",
        r"^by (?:signing|logging|clicking|registering|creating|continuing)\b.{0,100}"
        r"\b(?:agree|accept)",
        r"(?:注册协议|服务协议|用户协议|隐私(?:权保护)?政策).{0,30}(?:同意|接受)",
    ),
    "share widget": (
        r"^(?:share(?: this)?(?: article| story| post| page)?|share on \w+|tweet|pin it"
        r"|copy link|email this|print(?: this)?(?: article| page)?|分享(?:到)?|微信|微博|朋友圈)"
        + _CLOSE
        + r" ?[:：]?$",
        r"^(?:(?:facebook|twitter|x|linkedin|whatsapp|reddit|pinterest|telegram|email|微信|微博)"
        r" ?[|,·/]? ?){2,}$",
    ),
    "font size widget": (r"^(?:设置字号|字号|字体大小|font size|text size)" + _CLOSE + "$",),
    "navigation": (
        r"^(?:home|menu|main menu|toggle (?:navigation|menu)|skip to (?:main )?content"
        r"|back to top|scroll to top|search|首页|菜单|导航|返回顶部)$",
        r"^home ?[>›»/|]",  # breadcrumbs
        r"^(?:previous|next) (?:article|post|story)\b|^(?:上一篇|下一篇) ?[:：]",
    ),
    "read more": (
        r"^[\W_]*(?:read more|continue reading|read the (?:full|rest of the) (?:article|story)"
        r"|阅读全文|阅读更多|查看全文|查看更多)[\W_]*$",
        r"^read more ?[:：]",
    ),
    "comment form": (
        r"^(?:leave a (?:reply|comment)|post a comment|add a comment|post comment|cancel reply"
        r"|submit comment|no comments(?: yet)?|发表回复|发表评论|提交评论|取消回复|暂无评论)"
        r"(?: cancel reply)?[.:：]?$",
        r"^(?:your email address will not be published|required fields are marked"
        r"|save my name, email|您的(?:电子)?邮箱地址不会被公开|必填项已用|在此浏览器中保存我的)",
        r"^(?:comment|name|e-?mail|website|评论|显示名称|名称|电子邮件(?:地址)?|网站|姓名) ?\*$",
    ),
    "copyright": (
        r"^(?:©|\(c\)|copyright ?(?:©|\(c\)|\d{4}))",
        r"all rights reserved|保留所有权利|版权所有|^版权声明|不得转载",
    ),
    "empty counter": (
        r"^(?:(?:views?|reads?|likes?|comments?|shares?|replies|阅读|浏览|点赞|评论|分享)"
        r" ?[:：]? ?)?\d[\d,.]* ?[km万]?"
        r"(?: ?(?:views?|reads?|likes?|comments?|shares?|replies|次阅读|条评论))?$",
        r"^\d{1,2}:\d{2}(?::\d{2})?(?: ?/ ?\d{1,2}:\d{2}(?::\d{2})?)?$",  # a media player's clock
    ),
    "dialog widget": (r"^\S.{0,15}[×✕✖]$",),
}
_LINE_RULES = tuple((_rx("|".join(alts)), reason) for reason, alts in _RULE_TABLE.items())
_FONT_OPTIONS = _rx(
    r"^(?:最小|较小|默认|较大|最大|小|中|大|特大|smallest|smaller|small|default|normal"
    r"|medium|large|larger|largest|a\+|a-)$"
)
_ALT_TEXT = _rx(r"^(?:\S{1,30} )?\S{0,30}(?:logo|icon|avatar|thumbnail)$|^featured image$")
_REPEATED = re.compile(r"^(.{3,40}?)\1+$")  # "news pappernews papper": alt text clipped per <img>
_COOKIE_ANCHOR = _rx(
    r"^(?:customi[sz]e |manage )?(?:cookie|consent|privacy) (?:preferences|settings)$"
    r"|^(?:always active|no cookies to display\.?|save (?:my )?preferences|we value your privacy"
    r"|(?:accept|reject|allow|decline)(?: all)?(?: cookies)?)$"
    r"|^(?:we|this (?:web)?site) uses? cookies\b"
)
_COOKIE_WORD = _rx(r"\bcookies?\b")
_FOOTER = _rx(r"copyright|all rights reserved|保留所有权利|版权")
_CALL_TO_ACTION = _rx(
    r"^need (?:help|assistance|support|advice)\b.{0,100}\?$"
    r"|^(?:our|the) (?:team|experts?|specialists?)\b.{0,150}\b(?:help|assist|contact)\b"
    r"|^(?:get help|contact us(?: today| now)?|get started|subscribe(?: now| today)?"
    r"|sign up(?: now| today| for free)?|book a (?:demo|call|consultation)|request a (?:demo|quote)"
    r"|learn more|try (?:it )?(?:for )?free|start (?:your )?free trial|download now|get in touch"
    r"|talk to (?:an expert|us|our team)|立即订阅|订阅|联系我们|免费试用)[.!！]?$"
    r"|^(?:subscribe|sign up) (?:to|for) (?:our|the) newsletter\b"
)
_SECTION_HEADING = _rx(
    r"^(?:references|sources|further reading|related (?:articles|posts|stories)|see also"
    r"|参考资料|参考文献|相关阅读|延伸阅读) ?[:：]?$"
)
_SITE_SUFFIX = re.compile(r"^(?P<title>.+?)(?: [-–—|·] | ?[_｜] ?)(?P<site>[^-–—|·_｜]{1,40})$")
_TRANSCRIPT_PARAGRAPH = 800  # characters; keeps a long transcript in a few chunkable paragraphs


def clean_text(text: str) -> CleanedText:
    """Reduce a web clipping to its article text, recording every removed line and why.

    Never raises: control characters (other than newline and tab) are stripped first, and a line
    that looks like JSON but does not parse is kept as text. A JSON transcript line is replaced by
    the paragraphs of its "text" leaves.
    """
    raw, offsets, total = _split_lines(text)
    lines = [" ".join(line.split()) for line in raw]
    transcripts = {i: p for i, line in enumerate(lines) if (p := _transcript(line))}
    page = _Page(lines, [None] * len(lines), transcripts)

    _mark_cookie_banners(page)
    author, date = _mark_lines(page)
    for i, line in enumerate(lines):
        # A footer late in the page ends the article; what follows is other stories and widgets.
        if page.reasons[i] == "copyright" and _FOOTER.search(line) and offsets[i] >= total / 2:
            for j in range(i + 1, len(lines)):
                page.reasons[j] = page.reasons[j] or "trailing headlines"
                transcripts.pop(j, None)
            break
    _mark_page_header(page)
    _mark_tail(page)

    paragraphs: list[str] = []
    removed: list[RemovedLine] = []
    for i, line in enumerate(lines):
        if reason := page.reasons[i]:
            removed.append(RemovedLine(raw[i], reason))
        else:
            paragraphs.extend(transcripts.get(i, [line]))
    title = _find_title(page)
    return CleanedText("\n\n".join(paragraphs), tuple(removed), title, author, date)


@dataclass
class _Page:
    """Working state: collapsed lines, a removal reason per line, transcript paragraphs."""

    lines: list[str]
    reasons: list[str | None]
    transcripts: dict[int, list[str]]

    def is_plain(self, i: int) -> bool:
        """True if line ``i`` is still kept and is ordinary text, not a transcript."""
        return not self.reasons[i] and i not in self.transcripts


def _split_lines(text: str) -> tuple[list[str], list[int], int]:
    """Non-empty stripped lines of sanitised ``text``, their character offsets, and its length."""
    text = _CONTROL.sub("", _LINE_BREAK.sub("\n", text))
    lines: list[str] = []
    offsets: list[int] = []
    offset = 0
    for line in text.split("\n"):
        if stripped := line.strip():
            lines.append(stripped)
            offsets.append(offset)
        offset += len(line) + 1
    return lines, offsets, len(text)


def _transcript(line: str) -> list[str] | None:
    """Paragraphs from the "text" leaves of a JSON line, or None if it is not such a line."""
    if line[:1] not in "{[" or line[-1:] not in "}]":
        return None
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # malformed, or nested deeper than the parser allows
        return None
    sentences: list[str] = []
    stack: list[tuple[bool, object]] = [(False, data)]  # iterative: the JSON may be deeply nested
    while stack:
        is_leaf, node = stack.pop()
        if is_leaf:
            if sentence := " ".join(str(node).split()):
                sentences.append(sentence)
        elif isinstance(node, dict):
            stack.extend(
                reversed([(k == "text" and isinstance(v, str), v) for k, v in node.items()])
            )
        elif isinstance(node, list):
            stack.extend((False, child) for child in reversed(node))
    paragraphs = [""]
    for sentence in sentences:
        if len(paragraphs[-1]) >= _TRANSCRIPT_PARAGRAPH:
            paragraphs.append("")
        paragraphs[-1] = f"{paragraphs[-1]} {sentence}".lstrip()
    return paragraphs if sentences else None


def _mark_cookie_banners(page: _Page) -> None:
    """Mark consent-banner anchors and the run of cookie sentences around them."""
    lines, reasons = page.lines, page.reasons
    for i, line in enumerate(lines):
        if len(line) <= _SHORT and _COOKIE_ANCHOR.search(line):
            reasons[i] = "cookie banner"
    # A cookie sentence is banner text only next to the banner, not in an article about cookies.
    for i in [*range(len(lines)), *reversed(range(len(lines)))]:  # spread down, then up
        near = "cookie banner" in reasons[max(i - 1, 0) : i + 2]
        if near and page.is_plain(i) and len(lines[i]) <= 2 * _SHORT:
            reasons[i] = "cookie banner" if _COOKIE_WORD.search(lines[i]) else None


def _mark_lines(page: _Page) -> tuple[str | None, str | None]:
    """Apply the byline and line rules to each line; return the author and date found."""
    lines, reasons = page.lines, page.reasons
    author: str | None = None
    date: str | None = None
    for i, line in enumerate(lines):
        if not page.is_plain(i) or len(line) > _SHORT:
            continue
        if found := _byline(line, lines[i - 1] if i else "", author):
            reasons[i] = "byline"
            author, date = author or found[0], date or found[1]
        elif i and reasons[i - 1] == "font size widget" and _FONT_OPTIONS.match(line):
            reasons[i] = "font size widget"
        else:
            reasons[i] = next((r for pattern, r in _LINE_RULES if pattern.search(line)), None)
            if not reasons[i] and len(line) <= 120 and _is_alt_text(line):
                reasons[i] = "image alt text"
    return author, date


def _byline(line: str, previous: str, author: str | None) -> tuple[str | None, str | None] | None:
    """(author, date) if ``line`` is a byline or date line, else None."""
    if len(line) > 120:
        return None
    if match := _DATE_LINE.match(line):
        return None, match["date"]
    if match := _BYLINE.match(line):
        rest = match["rest"] or ""
        date = _DATE_RE.search(rest)
        if date or len(rest) <= 40 and not rest.endswith((".", "!", "?", "。", "！", "？")):
            return match["author"], date[0] if date else None
        return None
    # A bare name is a byline only under an author photo, or when it repeats the author.
    near_avatar = len(previous) <= 40 and _AVATAR.search(previous)
    if (near_avatar or line == author) and _PERSON.match(line):
        return line, None
    return None


def _is_alt_text(line: str) -> bool:
    """True for image alt text: "site logo", "avatar", or one short string repeated."""
    repeated = _REPEATED.match(line)
    return bool(_ALT_TEXT.match(line) or (repeated and _LETTER.search(repeated[1])))


def _mark_page_header(page: _Page) -> None:
    """Drop a page title (``<title>``, often with a site suffix) repeated as the headline.

    The short lines clipped between the two are the site's menu.
    """
    lines, reasons = page.lines, page.reasons
    first = next((i for i, reason in enumerate(reasons) if reason is None), None)
    if first is None or not page.is_plain(first) or not _is_headline(lines[first]):
        return
    keys = {lines[first].casefold(), _strip_site(lines[first]).casefold()}
    window = range(first + 1, min(len(lines), first + 40))
    repeat = next((j for j in window if lines[j].casefold() in keys), None)
    between = range(first + 1, repeat or first)
    # An article paragraph between the two means the repeat is a quote, not the page header.
    if repeat is None or any(not reasons[k] and not _is_headline(lines[k]) for k in between):
        return
    if lines[repeat].casefold() != lines[first].casefold():
        reasons[first] = "page title"
    for k in between:
        if page.is_plain(k) and len(lines[k]) <= 40:
            reasons[k] = "navigation"


def _mark_tail(page: _Page) -> None:
    """Mark the end-of-page call to action, repeated lines, and section headings left empty."""
    lines, reasons = page.lines, page.reasons
    for i in reversed(range(len(lines))):
        if reasons[i]:
            continue
        if not page.is_plain(i) or len(lines[i]) > 200 or not _CALL_TO_ACTION.search(lines[i]):
            break
        reasons[i] = "call to action"
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if page.is_plain(i):
            reasons[i] = "duplicate" if line.casefold() in seen else None
            seen.add(line.casefold())
    kept = [i for i, reason in enumerate(reasons) if not reason]
    while kept and page.is_plain(kept[-1]) and _SECTION_HEADING.match(lines[kept[-1]]):
        reasons[kept.pop()] = "empty section"


def _find_title(page: _Page) -> str | None:
    """The first headline-like line before the body starts, without its site-name suffix."""
    for i, line in enumerate(page.lines):
        if i in page.transcripts:
            return None
        if page.reasons[i] in (None, "page title"):
            return _strip_site(line) if _is_headline(line) else None
    return None


def _is_headline(line: str) -> bool:
    """True for a short line that does not end like a sentence or a label."""
    return len(line) <= 150 and line[-1] not in ".。;；:：,，…" and bool(_LETTER.search(line))


def _strip_site(title: str) -> str:
    """``title`` without a short " - Site" / " | Site" / "_站点" suffix."""
    match = _SITE_SUFFIX.match(title)
    if match and len(match["site"].split()) <= 4 and len(match["title"]) > len(match["site"]):
        return match["title"]
    return title


@dataclass(frozen=True)
class CleanedDocument:
    """A loaded document's cleaned text with each section's span in it."""

    text: str
    sections: tuple[SectionSpan, ...]
    removed: tuple[RemovedLine, ...]
    title: str | None
    author: str | None
    date: str | None


def clean_document(loaded: LoadedDocument) -> CleanedDocument:
    """Clean each section of ``loaded`` on its own and join them, recording their spans.

    Prose goes through ``clean_text``; structured text (rows, records, code) keeps every line,
    only whitespace and control characters normalised. The first section supplies the title,
    byline and date found by cleaning.
    """
    texts: list[str] = []
    spans: list[SectionSpan] = []
    removed: list[RemovedLine] = []
    title = author = date = None
    offset = 0
    for index, section in enumerate(loaded.parts()):
        if loaded.prose:
            cleaned = clean_text(section.text)
            text = cleaned.text
            removed.extend(cleaned.removed)
            if index == 0:
                title, author, date = cleaned.title, cleaned.author, cleaned.date
        else:
            lines, _, _ = _split_lines(section.text)
            text = "\n".join(" ".join(line.split()) for line in lines)
        if not text.strip():
            continue
        if texts:
            offset += 2  # the "\n\n" joining sections
        spans.append(SectionSpan(offset, offset + len(text), section.location, section.page))
        texts.append(text)
        offset += len(text)
    return CleanedDocument("\n\n".join(texts), tuple(spans), tuple(removed), title, author, date)
