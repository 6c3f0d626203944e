"""Tests for index.cleaning: what cleaning removes from each seed clipping, and what it keeps.

The seed tests list every removed line literally, so they double as the documentation of the rules;
each also checks, sentence by sentence, that no article text was lost.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.cleaning import CleanedText, RemovedLine, clean_text

_HERE = Path(__file__).resolve()
SEEDS = _HERE.parents[1] / "seeds"
if not SEEDS.is_dir():  # before the seeds are copied into the project
    SEEDS = _HERE.parents[2] / "shared" / "seeds"

SENTENCE_BREAK = re.compile(r"(?<=[.!?。！？])\s+")

# Two article paragraphs that the synthetic tests put around the line under test.
BEFORE = "DeepSeek is hiring researchers from the top universities across China this year."
AFTER = (
    "The company said many of its teams are expected to double in size, and that hiring will "
    "continue through the summer while it prepares to take on outside investment."
)


def seed(prefix: str) -> str:
    """The text of the seed file whose name starts with ``prefix``."""
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def normalise(text: str) -> str:
    return " ".join(text.split())


def removed(cleaned: CleanedText) -> list[tuple[str, str]]:
    return [(r.line, r.reason) for r in cleaned.removed]


def assert_article_kept(original: str, cleaned: CleanedText) -> int:
    """Assert every sentence of every line not listed as removed is in the cleaned text.

    JSON lines are skipped (the transcript test checks them). Returns the sentences checked.
    """
    text = normalise(cleaned.text)
    to_skip = Counter(r.line for r in cleaned.removed)
    checked = 0
    for line in original.splitlines():
        line = line.strip()
        if not line or line.startswith("{"):
            continue
        if to_skip[line]:
            to_skip[line] -= 1
            continue
        for sentence in SENTENCE_BREAK.split(normalise(line)):
            assert sentence in text, sentence
            checked += 1
    assert not +to_skip, "every removed line comes from the original"
    return checked


def assert_well_formed(cleaned: CleanedText) -> None:
    """The output contract: no control characters, "\\n\\n" between collapsed paragraphs."""
    text = cleaned.text
    assert "\r" not in text
    assert not [c for c in text if unicodedata.category(c) == "Cc" and c != "\n"]
    assert text == text.strip()
    if text:
        for paragraph in text.split("\n\n"):
            assert paragraph and paragraph == normalise(paragraph)


# --- the seeds, sentence by sentence --------------------------------------------------------------


def test_seed_000_cms_header_byline_and_call_to_action() -> None:
    original = seed("000")
    cleaned = clean_text(original)
    assert removed(cleaned) == [
        ("burgerlogo", "image alt text"),
        ("A Lesson from DeepSeek to HR in the Age of AI", "duplicate"),
        ("avatar", "image alt text"),
        ("Gershon Goren", "byline"),
        ("- Last Updated: March 25, 2025", "byline"),
        ("avatar", "image alt text"),
        ("Gershon Goren", "byline"),
        ("- Last Updated: March 25, 2025", "byline"),
        ("featured imagefeatured imagefeatured image", "image alt text"),
        ("Need Help Identifying the Right IoT Solution?", "call to action"),
        (
            "Our team of experts will help you find the perfect solution for your needs!",
            "call to action",
        ),
        ("Get Help", "call to action"),
    ]
    assert assert_article_kept(original, cleaned) > 50
    paragraphs = cleaned.text.split("\n\n")
    assert paragraphs[0] == "A Lesson from DeepSeek to HR in the Age of AI"
    assert paragraphs[1].startswith("R1, a powerful new open-source artificial intelligence")
    assert paragraphs[-1].startswith("Despite being an exciting time for AI")
    assert len(paragraphs) == 14
    assert "Tech is moving faster than the pace" in cleaned.text  # the short "The problem?" stays
    assert (cleaned.title, cleaned.author, cleaned.date) == (
        "A Lesson from DeepSeek to HR in the Age of AI",
        "Gershon Goren",
        "March 25, 2025",
    )


def test_seed_001_clean_article_is_untouched() -> None:
    original = seed("001")
    cleaned = clean_text(original)
    assert removed(cleaned) == []
    assert assert_article_kept(original, cleaned) > 30
    assert cleaned.text == "\n\n".join(normalise(line) for line in original.splitlines())
    assert (cleaned.title, cleaned.author, cleaned.date) == (None, None, None)


def test_seed_002_cookie_banner_counters_and_comment_form() -> None:
    original = seed("002")
    cleaned = clean_text(original)
    assert removed(cleaned) == [
        ("Customize Consent Preferences", "cookie banner"),
        (
            "We use cookies to help you navigate efficiently and perform certain functions. You "
            "will find detailed information about all cookies under each consent category below.",
            "cookie banner",
        ),
        (
            'The cookies that are categorized as "Necessary" are stored on your browser as they '
            "are essential for enabling the basic functionalities of the site. ...",
            "cookie banner",
        ),
        ("Always Active", "cookie banner"),
        (
            "Necessary cookies are required to enable the basic features of this site, such as "
            "providing secure log-in or adjusting your consent preferences. These cookies do not "
            "store any personally identifiable data.",
            "cookie banner",
        ),
        ("No cookies to display.", "cookie banner"),
        (
            "Functional cookies help perform certain functionalities like sharing the content of "
            "the website on social media platforms, collecting feedback, and other third-party "
            "features.",
            "cookie banner",
        ),
        ("No cookies to display.", "cookie banner"),
        (
            "Analytical cookies are used to understand how visitors interact with the website. "
            "These cookies help provide information on metrics such as the number of visitors, "
            "bounce rate, traffic source, etc.",
            "cookie banner",
        ),
        ("No cookies to display.", "cookie banner"),
        (
            "Performance cookies are used to understand and analyze the key performance indexes "
            "of the website which helps in delivering a better user experience for the visitors.",
            "cookie banner",
        ),
        ("No cookies to display.", "cookie banner"),
        (
            "Advertisement cookies are used to provide visitors with customized advertisements "
            "based on the pages you visited previously and to analyze the effectiveness of the ad "
            "campaigns.",
            "cookie banner",
        ),
        ("No cookies to display.", "cookie banner"),
        ("news pappernews papper", "image alt text"),
        ("0", "empty counter"),
        ("References:", "empty section"),
        (">>> Read more <<<", "read more"),
        ("Views: 0", "empty counter"),
        ("0", "empty counter"),
        ("发表回复", "comment form"),
        ("您的邮箱地址不会被公开。 必填项已用 * 标注", "comment form"),
    ]
    assert assert_article_kept(original, cleaned) > 15
    paragraphs = cleaned.text.split("\n\n")
    assert len(paragraphs) == 8
    assert paragraphs[0].startswith("Beijing – A new wave of talent acquisition")
    assert paragraphs[-1].startswith("DeepSeek’s rise serves as a wake-up call")
    assert "cookie" not in cleaned.text.lower()
    assert (cleaned.title, cleaned.author, cleaned.date) == (None, None, None)


def test_seed_003_heading_is_kept_as_text() -> None:
    original = seed("003")
    cleaned = clean_text(original)
    assert removed(cleaned) == []
    assert assert_article_kept(original, cleaned) > 20
    assert cleaned.text.startswith("A.I. in the Workplace\n\nChina's AI Job Boom Spurs Growth")
    assert cleaned.title == "A.I. in the Workplace"


def test_seed_004_ft_chinese_login_transcript_and_trailing_headlines() -> None:
    original = seed("004")
    cleaned = clean_text(original)
    assert removed(cleaned) == [
        (
            "DeepSeek plans hiring spree in escalation of China’s AI talent war - FT中文网",
            "page title",
        ),
        ("登录×", "login prompt"),
        ("电子邮件/用户名", "login prompt"),
        ("密码", "login prompt"),
        ("记住我", "login prompt"),
        ("请输入邮箱和密码进行绑定操作:", "login prompt"),
        ("请输入手机号码,通过短信验证(目前仅支持中国大陆地区的手机号):", "login prompt"),
        ("请您阅读我们的用户注册协议隐私权保护政策,点击下方按钮即视为您接受。", "login prompt"),
        ("FT商学院", "navigation"),
        ("00:00", "empty counter"),
        (
            "版权声明:本文版权归FT中文网所有,未经允许任何单位或个人不得转载,"
            "复制或以任何其他方式使用本文全部或部分,侵权必究。",
            "copyright",
        ),
        ("“查韦斯主义”的沉重遗产拖累委内瑞拉地震救援", "trailing headlines"),
        (
            "救援不力引发的民怨不断升温,委内瑞拉社会主义政权中获美国支持的领导人正陷入危机。",
            "trailing headlines",
        ),
        ("AI相关股票是否将迎来新一轮震荡?", "trailing headlines"),
        ("美国就业市场还撑得住吗?美国与伊朗和平协议是否影响了欧元区通胀?", "trailing headlines"),
        ("实现AI潜力的将是机器人,而非聊天机器人", "trailing headlines"),
        (
            "如果将这项科技应用到工厂生产一线,可能会显著提升富裕国家的经济表现。",
            "trailing headlines",
        ),
        ("全世界短裤爱好者,联合起来!", "trailing headlines"),
        (
            "在夏季气温节节攀升之际,坚持穿长裤在穿着上也好、在环保上也罢,都不合情理。",
            "trailing headlines",
        ),
        ("温布尔登梦想的孤独煎熬", "trailing headlines"),
        (
            "在职业网球等级体系的最底层,球员为奖金和排名奔波厮杀,“就像角斗士在为自己的性命而战”。",
            "trailing headlines",
        ),
        ("不,我们远远还谈不上“受够专家”", "trailing headlines"),
        (
            "脱欧十年后,人们对专业人才的信任在提升,但雇主仍然需要更多这样的专业人才。",
            "trailing headlines",
        ),
        ("设置字号×", "font size widget"),
        ("最小", "font size widget"),
        ("较小", "font size widget"),
        ("默认", "font size widget"),
        ("较大", "font size widget"),
        ("最大", "font size widget"),
        ("分享×", "share widget"),
    ]
    assert_article_kept(original, cleaned)
    paragraphs = cleaned.text.split("\n\n")
    assert paragraphs[:2] == [
        "DeepSeek plans hiring spree in escalation of China’s AI talent war",
        "Advertised roles suggest company focused on commercialising frontier research",
    ]
    # The whole article is in the JSON transcript: every "text" leaf is kept, the JSON is not.
    (json_line,) = [line for line in original.splitlines() if line.startswith("{")]
    leaves = [s["text"] for group in json.loads(json_line)["text"] for s in group if s["text"]]
    assert len(leaves) == 14
    for sentence in leaves:
        assert normalise(sentence) in cleaned.text
    assert 2 <= len(paragraphs) - 2 <= 6  # the transcript becomes a few paragraphs
    for leftover in ("{", "start", ".mp3", "audio.ftcn", "版权", "委内瑞拉", "设置字号"):
        assert leftover not in cleaned.text
    assert cleaned.title == "DeepSeek plans hiring spree in escalation of China’s AI talent war"
    assert (cleaned.author, cleaned.date) == (None, None)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_seeds_clean_to_a_fixed_point(prefix: str) -> None:
    cleaned = clean_text(seed(prefix))
    assert_well_formed(cleaned)
    again = clean_text(cleaned.text)
    assert again.text == cleaned.text
    assert again.removed == ()


# --- one rule at a time, on small inputs ----------------------------------------------------------

RULE_CASES = [
    ("Accept all cookies", "cookie banner"),
    ("Log in", "login prompt"),
    ("Sign in / Register", "login prompt"),
    ("登录×", "login prompt"),
    ("Password", "login prompt"),
    ("Forgot your password?", "login prompt"),
    ("Please enter your email address", "login prompt"),
    ("Share this article", "share widget"),
    ("Facebook Twitter LinkedIn", "share widget"),
    ("分享×", "share widget"),
    ("Font size", "font size widget"),
    ("Skip to content", "navigation"),
    ("Home > News > AI", "navigation"),
    ("Read more", "read more"),
    (">>> Read more <<<", "read more"),
    ("阅读全文", "read more"),
    ("Leave a Reply", "comment form"),
    ("Your email address will not be published. Required fields are marked *", "comment form"),
    ("Comment *", "comment form"),
    ("发表回复", "comment form"),
    ("您的邮箱地址不会被公开。 必填项已用 * 标注", "comment form"),
    ("© 2024 Example Media", "copyright"),
    ("版权所有 © 示例新闻网", "copyright"),
    ("0", "empty counter"),
    ("Views: 0", "empty counter"),
    ("12 Comments", "empty counter"),
    ("00:00", "empty counter"),
    ("burgerlogo", "image alt text"),
    ("Site logo", "image alt text"),
    ("avatar", "image alt text"),
    ("featured imagefeatured image", "image alt text"),
    ("news pappernews papper", "image alt text"),
    ("Published: 3 March 2024", "byline"),
]


@pytest.mark.parametrize(("line", "reason"), RULE_CASES)
def test_rule_removes_chrome_between_article_paragraphs(line: str, reason: str) -> None:
    cleaned = clean_text(f"{BEFORE}\n\n{line}\n\n{AFTER}")
    assert removed(cleaned) == [(line, reason)]
    assert cleaned.text == f"{BEFORE}\n\n{AFTER}"


@pytest.mark.parametrize(
    "line",
    [
        "Tech is moving fast.",
        "The problem?",
        "By Tuesday, the markets had collapsed.",
        "Designing a new logo for the company took three months.",
        "Copyright law has not caught up with generative AI.",
        "Cookies are small files that a website stores in your browser.",
        "Our team of experts will help you find the perfect solution for your needs!",
        "Subscribe",
        "Get Help",
        "A.I. in the Workplace",
        "深度求索计划大规模招聘，以推动前沿研究的商业化。公司表示，许多团队的规模预计将翻倍。",
        "机器人时代来临",
        "Роботы и искусственный интеллект меняют рынок труда.",
        '{"text": [[{"start": 1.0, "text": "broken',
        '{"title": "not a transcript", "n": 1}',
    ],
)
def test_article_lines_are_kept(line: str) -> None:
    # Calls to action count only at the end of the page; here they sit between paragraphs.
    cleaned = clean_text(f"{BEFORE}\n\n{line}\n\n{AFTER}")
    assert removed(cleaned) == []
    assert cleaned.text == f"{BEFORE}\n\n{line}\n\n{AFTER}"


def test_chinese_article_paragraph_survives_among_chinese_chrome() -> None:
    article = "深度求索计划大规模招聘，以推动前沿研究的商业化。公司表示，许多团队的规模预计将翻倍。"
    cleaned = clean_text(f"登录×\n密码\n记住我\n\n{article}\n\n发表回复\n设置字号×\n最小\n最大")
    assert cleaned.text == article
    assert [reason for _, reason in removed(cleaned)] == ["login prompt"] * 3 + [
        "comment form",
        "font size widget",
        "font size widget",
        "font size widget",
    ]


def test_font_size_options_are_removed_only_after_the_widget() -> None:
    cleaned = clean_text(f"{BEFORE}\n\nLarge\n\n{AFTER}")
    assert removed(cleaned) == []
    cleaned = clean_text(f"{BEFORE}\n\nFont size\nSmall\nLarge\n\n{AFTER}")
    assert removed(cleaned) == [
        ("Font size", "font size widget"),
        ("Small", "font size widget"),
        ("Large", "font size widget"),
    ]


def test_cookie_banner_block_goes_but_an_article_about_cookies_stays() -> None:
    banner = (
        "Cookie settings\n\nWe use cookies to improve your experience.\n\n"
        "Marketing cookies track visitors across websites.\n\nReject all\n\nAccept all"
    )
    article = "Browsers now block third-party cookies by default, the company said."
    cleaned = clean_text(f"{banner}\n\n{BEFORE}\n\n{article}")
    assert [reason for _, reason in removed(cleaned)] == ["cookie banner"] * 5
    assert cleaned.text == f"{BEFORE}\n\n{article}"


def test_call_to_action_is_removed_only_at_the_end() -> None:
    tail = "Need help choosing a vendor?\n\nTalk to our team\n\nSubscribe to our newsletter today"
    cleaned = clean_text(f"{BEFORE}\n\n{AFTER}\n\n{tail}")
    assert [reason for _, reason in removed(cleaned)] == ["call to action"] * 3
    assert cleaned.text == f"{BEFORE}\n\n{AFTER}"


def test_reference_heading_is_removed_only_when_empty() -> None:
    cleaned = clean_text(f"{BEFORE}\n\nReferences:\n\nRead more\n\nViews: 3")
    assert removed(cleaned)[0] == ("References:", "empty section")
    assert cleaned.text == BEFORE
    kept = clean_text(f"{BEFORE}\n\nReferences:\n\nSmith, J. (2024). Hiring in the age of AI.")
    assert removed(kept) == []


def test_footer_near_the_end_drops_the_headlines_after_it() -> None:
    footer = "© 2025 Example News. All rights reserved."
    others = "Markets rally as inflation cools\n\nWhy everyone is buying shorts this summer"
    cleaned = clean_text(f"{BEFORE}\n\n{AFTER}\n\n{footer}\n\n{others}\n\nShare")
    assert removed(cleaned) == [
        (footer, "copyright"),
        ("Markets rally as inflation cools", "trailing headlines"),
        ("Why everyone is buying shorts this summer", "trailing headlines"),
        ("Share", "share widget"),
    ]
    assert cleaned.text == f"{BEFORE}\n\n{AFTER}"


def test_copyright_early_in_the_page_does_not_cut_the_article() -> None:
    cleaned = clean_text(f"Copyright 2025 Example News\n\n{BEFORE}\n\n{AFTER}")
    assert removed(cleaned) == [("Copyright 2025 Example News", "copyright")]
    assert cleaned.text == f"{BEFORE}\n\n{AFTER}"


def test_duplicate_lines_keep_the_first_occurrence() -> None:
    cleaned = clean_text(f"Hiring Spree\n\nHiring Spree\n\n{BEFORE}\n\n{AFTER}\n\n{BEFORE}")
    assert removed(cleaned) == [("Hiring Spree", "duplicate"), (BEFORE, "duplicate")]
    assert cleaned.text == f"Hiring Spree\n\n{BEFORE}\n\n{AFTER}"


def test_page_title_with_site_suffix_and_menu_before_the_headline() -> None:
    text = f"AI hiring heats up | Example Times\nWorld\nBusiness\n\nAI hiring heats up\n\n{BEFORE}"
    cleaned = clean_text(text)
    assert removed(cleaned) == [
        ("AI hiring heats up | Example Times", "page title"),
        ("World", "navigation"),
        ("Business", "navigation"),
    ]
    assert cleaned.text == f"AI hiring heats up\n\n{BEFORE}"
    assert cleaned.title == "AI hiring heats up"


def test_title_site_suffix_is_stripped_from_metadata_only() -> None:
    cleaned = clean_text(f"AI hiring heats up - FT中文网\n\n{BEFORE}")
    assert cleaned.title == "AI hiring heats up"
    assert cleaned.text.startswith("AI hiring heats up - FT中文网")


@pytest.mark.parametrize(
    ("header", "author", "date"),
    [
        ("By Jane Doe | 2024-05-01", "Jane Doe", "2024-05-01"),
        ("By Jane Doe, March 3, 2024", "Jane Doe", "March 3, 2024"),
        (
            "avatar\nGershon Goren\n- Last Updated: March 25, 2025",
            "Gershon Goren",
            "March 25, 2025",
        ),
        ("Published on 25 March 2025", None, "25 March 2025"),
        ("作者：张三\n发布时间：2025年3月25日", "张三", "2025年3月25日"),
    ],
)
def test_byline_metadata_is_extracted_and_removed(
    header: str, author: str | None, date: str | None
) -> None:
    cleaned = clean_text(f"Hiring Spree\n\n{header}\n\n{BEFORE}")
    assert (cleaned.title, cleaned.author, cleaned.date) == ("Hiring Spree", author, date)
    assert cleaned.text == f"Hiring Spree\n\n{BEFORE}"
    assert "byline" in {reason for _, reason in removed(cleaned)}


def test_no_metadata_when_absent() -> None:
    cleaned = clean_text(f"{BEFORE}\n\n{AFTER}")
    assert (cleaned.title, cleaned.author, cleaned.date) == (None, None, None)


# --- transcripts ----------------------------------------------------------------------------------


def test_json_transcript_is_reduced_to_its_text() -> None:
    transcript = json.dumps(
        {
            "text": [
                [{"start": 1.0, "text": "First sentence."}],
                [{"start": 2.5, "text": "   "}],
                [{"start": 4.0, "text": "Second  sentence."}],
            ],
            "url": "https://audio.example.com/a.mp3",
        }
    )
    cleaned = clean_text(f"Hiring Spree\n\n{transcript}\n\n{AFTER}")
    assert cleaned.text == f"Hiring Spree\n\nFirst sentence. Second sentence.\n\n{AFTER}"
    assert removed(cleaned) == []


def test_long_transcript_becomes_a_few_paragraphs() -> None:
    sentences = [f"Sentence number {n} of a long talk about hiring." for n in range(100)]
    line = json.dumps([{"text": s, "start": n} for n, s in enumerate(sentences)])
    paragraphs = clean_text(line).text.split("\n\n")
    assert 3 <= len(paragraphs) <= 10
    assert " ".join(paragraphs) == " ".join(sentences)


def test_malformed_json_is_kept_as_text() -> None:
    broken = '{"text":[[{"start":8.6,"text":"Chinese AI group DeepSeek is planning'
    cleaned = clean_text(f"{BEFORE}\n{broken}\n{AFTER}")
    assert cleaned.text == f"{BEFORE}\n\n{broken}\n\n{AFTER}"


# --- inputs that must never break it --------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\n\n\t \r\n  ", "\x00\x01\x7f", "\ufeff"])
def test_empty_and_whitespace_only(text: str) -> None:
    assert clean_text(text) == CleanedText("", (), None, None, None)


def test_control_characters_and_line_endings() -> None:
    cleaned = clean_text("Tech\x00 is\tmoving\x07 fast.\r\nSecond\u00a0 line.\rThird\x0cline.")
    assert cleaned.text == "Tech is moving fast.\n\nSecond line.\n\nThird\n\nline."


@pytest.mark.parametrize(
    "text",
    [
        "x" * 1_000_000,
        "{" + "a" * 1_000_000 + "}",
        "[" * 200_000 + "]" * 200_000,  # deeper than the JSON parser allows
        '{"text": "' + "word " * 200_000 + '"}',
        "login " * 60 + "x",
        ("news papper" * 30 + "\n") * 2_000,
        "\x00\r\n" * 300_000,
        "- " * 200_000,
    ],
    ids=["1MB", "1MB-braces", "deep-json", "1MB-transcript", "login-run", "repeats", "nul", "dash"],
)
def test_huge_and_pathological_inputs(text: str) -> None:
    started = time.monotonic()
    cleaned = clean_text(text)
    assert time.monotonic() - started < 10  # generous: guards against regex blow-ups, not speed
    assert_well_formed(cleaned)


@given(st.text())
def test_never_raises_and_output_is_well_formed(text: str) -> None:
    cleaned = clean_text(text)
    assert_well_formed(cleaned)
    assert all(isinstance(r, RemovedLine) and r.line == r.line.strip() for r in cleaned.removed)


CHROME = [line for line, _ in RULE_CASES] + ["Subscribe", "References:", "© 2025 Example"]


@given(st.lists(st.sampled_from(CHROME) | st.text(max_size=80), max_size=30))
def test_mixed_chrome_and_text_is_well_formed(lines: list[str]) -> None:
    cleaned = clean_text("\n".join(lines))
    assert_well_formed(cleaned)
