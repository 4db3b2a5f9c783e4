"""The Chinese analyzer of the full-text index: jieba words with the domain's vocabulary, and its synonyms.

Segmentation decides what a word query can match, so the domain terms are loaded into jieba as whole words,
and the abbreviations archivists type (超范围, 数据不实, CMA) are expanded into the wording the documents use.
Everything is tokenised here, in Python, once per text, and handed to the engines as tokens with their
positions (`TokenStream`): Whoosh and Tantivy index exactly the same terms, so they answer the same queries the
same way. Besides the words: character 2-grams with real positions (what segmentation splits differently),
single characters (a surname), word pairs that stand together or one word apart (the "adjacent" rank), and
identifiers (codes, certificate, report and phone numbers).
"""
from __future__ import annotations

import functools
import logging
import os
import re
import threading
import types
import unicodedata
from collections.abc import Iterable, Iterator

from archive_store.scratch import shared_tempdir

# Terms of the Measures and of inspection practice, kept whole by the segmenter.
DOMAIN_WORDS: tuple[str, ...] = (
    "检验检测", "检验检测机构", "资质认定", "资质认定证书", "能力验证", "约谈", "约谈通知书", "约谈记录", "整改",
    "授权签字人", "技术负责人", "质量负责人", "法定代表人", "整改方案", "整改报告", "整改落实情况报告",
    "现场复查", "现场复查记录", "书面审查", "重点监管", "原始记录", "检验报告", "检测报告", "数据失实", "结果失实",
    "超范围", "三书一函", "统一社会信用代码", "监督检查", "监督抽查", "专项抽查", "投诉举报", "查证属实",
    "质量管理体系", "计量溯源", "作业指导书", "能力附表", "能力范围", "集体约谈", "跟踪检查", "整改到位",
    "通报批评", "行政处罚", "立案调查", "责令限期改正", "撤销资质认定证书", "提级办理", "属地监管",
    "双随机", "一公开", "市场监管", "市场监管局", "市场监督管理局", "认证认可", "认证认可监督管理处",
    "执法稽查", "执法稽查局", "机动车检测", "尾气检测", "上线检验", "不上线检验", "现场检查笔录", "程序违规",
    "敷衍了事", "监管不力", "社会舆情", "质量安全事故", "变更手续", "严重不配合", "约谈对象", "约谈事由",
    "拒绝签字", "应急处置", "赣江新区",
)

# Each group: phrases that mean the same to an archivist; a query with one also searches the others.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("超范围", "超出资质认定证书规定的检验检测能力范围", "超资质能力范围", "超资质认定能力范围",
     "超出资质认定证书附表范围", "超出能力范围", "超能力范围", "超出资质认定范围"),
    ("数据失实", "数据、结果失实", "数据结果失实", "数据不实", "结果失实"),
    ("能力验证", "pt"),
    ("整改方案", "整改计划"),
    ("整改报告", "整改落实情况报告", "整改情况报告"),
    ("现场复查", "现场核查", "现场复核"),
    ("书面审查", "书面审核"),
    ("统一社会信用代码", "信用代码"),
    ("双随机", "双随机、一公开", "双随机一公开"),
    ("市场监管局", "市场监督管理局"),
    ("市场监管", "市场监督管理"),
    ("撤销资质认定证书", "撤证", "撤销证书"),
    ("三书一函", "下发“三书一函”"),
    ("机动车检测", "机动车检验", "机动车安全技术检验"),
    ("约谈通知书", "约谈通知"),
)

MAX_VARIANTS = 12

_lock = threading.Lock()
_hmm_lock = threading.Lock()
_tokenizer = None
_synonyms: dict[str, tuple[str, ...]] | None = None


def _import_jieba():
    """jieba, imported without pkg_resources (a fifth of a second of a command's start, only to find jieba's own
    data files, which it then opens by path instead)."""
    import sys
    if "jieba" in sys.modules:
        return sys.modules["jieba"]
    had = "pkg_resources" in sys.modules
    if not had:
        sys.modules["pkg_resources"] = None       # makes `import pkg_resources` fail inside jieba._compat
    try:
        _defer_hmm_tables()
        import jieba
    finally:
        if not had:
            del sys.modules["pkg_resources"]
    jieba.setLogLevel(logging.WARNING)
    return jieba


class _HmmOnFirstUse(types.ModuleType):
    """Stands for jieba.finalseg until jieba first uses it; then the real module is imported (and takes its place
    in jieba and in sys.modules) and this one answers from it."""

    def __getattr__(self, name: str):
        import importlib
        import sys
        with _hmm_lock:
            if sys.modules.get("jieba.finalseg") is self:
                del sys.modules["jieba.finalseg"]
                real = importlib.import_module("jieba.finalseg")     # also rebinds jieba's own `finalseg`
                self.__dict__.update(real.__dict__)
        return self.__dict__[name] if name in self.__dict__ else getattr(sys.modules["jieba.finalseg"], name)


def _defer_hmm_tables() -> None:
    """jieba.finalseg (the HMM that cuts runs of characters the dictionary does not know; its emission table is a
    dict literal that takes a tenth of a second to load, a quarter of a search command's start) loaded on first
    use: jieba imports it at once but uses it only inside a cut. (importlib's LazyLoader does not do here: the
    import system itself reads the module's __spec__, which loads it.)"""
    import sys
    if "jieba" not in sys.modules and "jieba.finalseg" not in sys.modules:
        sys.modules["jieba.finalseg"] = _HmmOnFirstUse("jieba.finalseg")


def segmenter():
    """One jieba tokenizer per process, with the domain words, quiet, caching its prefix dict in the temp dir."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                tk = _import_jieba().Tokenizer()
                tk.tmp_dir = shared_tempdir()
                tk.cache_file = os.path.join(tk.tmp_dir, f"yuetan-jieba-{os.getuid()}.cache")
                tk.initialize()
                for word in DOMAIN_WORDS:
                    tk.add_word(word)
                    tk.suggest_freq(word, tune=True)
                _tokenizer = tk
    return _tokenizer


# --- a dictionary that opens at once, for processes that only search ---------------------------------------
#
# Loading jieba's prefix dictionary (~350,000 words, ~600,000 prefixes) takes most of a second, more on a busy
# machine: longer than a command-line search may take in all. A search segments a few words, so it reads the
# very same dictionary (the domain words already in) from an SQLite file made once per machine beside jieba's
# own cache; building the index uses the dictionary in memory.

_FREQ_SCHEMA = 1
_query_tokenizer = None


def _freq_file() -> str:
    import hashlib
    key = hashlib.sha256(("\n".join(DOMAIN_WORDS) + f"|{_FREQ_SCHEMA}").encode("utf-8")).hexdigest()[:12]
    return os.path.join(shared_tempdir(), f"yuetan-jieba-{os.getuid()}-{key}.sqlite")


class _SqliteFreq:
    """The read side of a dict of word frequencies, looked up in SQLite and remembered."""

    def __init__(self, path: str):
        import sqlite3
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._seen: dict[str, int | None] = {}

    def _get(self, key: str) -> int | None:
        try:
            return self._seen[key]
        except KeyError:
            row = self._db.execute("SELECT f FROM freq WHERE w = ?", (key,)).fetchone()
            value = self._seen[key] = row[0] if row else None
            return value

    def __contains__(self, key: str) -> bool:
        return self._get(key) is not None

    def __getitem__(self, key: str) -> int:
        value = self._get(key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default=None):
        value = self._get(key)
        return default if value is None else value


def _write_freq_file(tk, path: str) -> None:
    import sqlite3
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        db = sqlite3.connect(tmp)
        db.execute("CREATE TABLE freq (w TEXT PRIMARY KEY, f INTEGER NOT NULL) WITHOUT ROWID")
        db.execute("CREATE TABLE meta (total INTEGER NOT NULL)")
        db.executemany("INSERT INTO freq VALUES (?, ?)", tk.FREQ.items())
        db.execute("INSERT INTO meta VALUES (?)", (tk.total,))
        db.commit()
        db.close()
        os.replace(tmp, path)
    except OSError:
        pass                            # no cache: the next search loads the dictionary again
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _sqlite_tokenizer(path: str):
    """A jieba tokenizer reading its dictionary from the SQLite file; None if the file is unreadable."""
    import sqlite3
    tk = _import_jieba().Tokenizer()
    try:
        tk.FREQ = _SqliteFreq(path)
        tk.total = tk.FREQ._db.execute("SELECT total FROM meta").fetchone()[0]
    except sqlite3.Error:
        return None
    tk.initialized = True
    return tk


def query_segmenter():
    """The tokenizer for query words: from the SQLite dictionary when there is one, else the full one (which
    then writes that file for the next process)."""
    global _query_tokenizer
    if _tokenizer is not None:
        return _tokenizer
    if _query_tokenizer is None:
        with _lock:
            if _query_tokenizer is None:
                path = _freq_file()
                if os.path.exists(path):
                    _query_tokenizer = _sqlite_tokenizer(path)
    if _query_tokenizer is None:
        full = segmenter()
        _write_freq_file(full, _freq_file())
        return full
    return _query_tokenizer


def normalise(text: str) -> str:
    """Full-width letters and digits to ASCII, lower case: what both index and query see."""
    return unicodedata.normalize("NFKC", text).lower()


def _is_word(text: str) -> bool:
    return any(c.isalnum() for c in text)


def words(text: str) -> list[str]:
    """The query-side words of `text`, in order, punctuation dropped."""
    tk = query_segmenter()
    return [normalise(w) for w, _, _ in tk.tokenize(text, mode="default") if _is_word(w)]


def _subwords(word: str, freq: dict) -> Iterator[str]:
    for size in range(2, min(len(word), 5)):
        for i in range(len(word) - size + 1):
            piece = word[i:i + size]
            if piece != word and freq.get(piece):
                yield piece


def word_positions(text: str, *, index: bool = True) -> list[tuple[list[str], int, int]]:
    """jieba words of `text` in order, one entry per position: (forms, start, end).

    At index time the dictionary words inside a long word are further forms at the same position, so a query
    for 资质 matches 资质认定 while phrases still line up.
    """
    out = []
    base = 0
    for line in text.split("\n"):
        # one line at a time, remembered: the standard wording of notices and records repeats across cases
        for forms, start, end in _line_words(line, index):
            out.append((forms, base + start, base + end))
        base += len(line) + 1
    return out


@functools.lru_cache(maxsize=50_000)
def _line_words(line: str, index: bool) -> tuple[tuple[list[str], int, int], ...]:
    """jieba cuts a line into blocks of Chinese characters and ASCII letters and digits (its `re_han_default`)
    and segments each block on its own, so the words of a line are those of its blocks: the blocks of the
    notices' standard wording repeat across cases even where the line holds a name or a number, and are
    segmented once (the segmentation was two thirds of tokenising a case)."""
    re_han = _import_jieba().re_han_default
    out = []
    at = 0
    for block in re_han.split(line):
        if not block:
            continue
        if re_han.match(block):
            out.extend((forms, at + start, at + end) for forms, start, end in _block_words(block, index))
        else:                                   # jieba yields these one character at a time
            out.extend(([normalise(c)], at + i, at + i + 1) for i, c in enumerate(block) if c.isalnum())
        at += len(block)
    return tuple(out)


@functools.lru_cache(maxsize=200_000)
def _block_words(block: str, index: bool) -> tuple[tuple[list[str], int, int], ...]:
    tk = segmenter()
    out = []
    for word, start, end in tk.tokenize(block, mode="default"):
        if not _is_word(word):
            continue
        forms = [normalise(word)]
        if index and len(word) > 2:
            forms.extend(normalise(p) for p in _subwords(word, tk.FREQ))
        out.append((forms, start, end))
    return tuple(out)


# A token stream: (term, position) pairs, positions running from 0 in text order.
TokenStream = list[tuple[str, int]]


def word_tokens(text: str) -> tuple[TokenStream, list[str]]:
    """The word field's tokens of `text`, and its words in order (for the pairs)."""
    tokens: TokenStream = []
    seq: list[str] = []
    pos = 0
    for line in text.split("\n"):             # word_positions without the offsets (the cost is in the lists)
        for forms, _, _ in _line_words(line, True):
            if len(forms) == 1:
                tokens.append((forms[0], pos))
            else:
                tokens += [(f, pos) for f in forms]
            seq.append(forms[0])
            pos += 1
    return tokens, seq


PAIR = "_"


def pairs(seq: list[str]) -> set[str]:
    """Pairs of words of two characters or more that follow each other, single characters between them
    skipped: 样品的留存记录 gives 样品_留存 and 留存_记录, as 样品留存记录 does."""
    long = [w for w in seq if len(w) > 1]
    return {f"{a}{PAIR}{b}" for a, b in zip(long, long[1:])}


def query_pairs(ws: list[str]) -> list[str]:
    return sorted(pairs(ws))


GAP = "\x01"      # stands where no 2-gram is (whitespace, between texts): positions stay character offsets


_SPACE_RE = re.compile(r"\s")


def bigram_tokens(texts: Iterable[str], *, normalised: bool = False) -> list[str]:
    """Character 2-grams, the list index being the position (the character offset); `GAP` where a gram would
    hold whitespace and twice between texts, so a phrase never spans a break."""
    out: list[str] = []
    for text in texts:
        t = text if normalised else normalise(text)
        grams = [a + b for a, b in zip(t, t[1:])]
        for m in _SPACE_RE.finditer(t):
            i = m.start()
            if i:
                grams[i - 1] = GAP
            if i < len(grams):
                grams[i] = GAP
        out.extend(grams)
        out += [GAP, GAP, GAP]
    return out


def bigrams(text: str) -> list[str]:
    """The 2-grams of a query string (whitespace removed), in order."""
    t = "".join(normalise(text).split())
    return [t[i:i + 2] for i in range(len(t) - 1)]


def characters(texts: Iterable[str], *, normalised: bool = False) -> set[str]:
    """Every letter or digit that occurs: a one-character query (a surname) matches wherever it stands."""
    seen = set().union(*(set(t if normalised else normalise(t)) for t in texts))
    return {c for c in seen if c.isalnum()}


_IDENT_RE = re.compile(r"[0-9a-z][0-9a-z\-_/.]*[0-9a-z]")


def identifier_forms(text: str) -> list[str]:
    """The keys an identifier is indexed and looked up under: as written, without separators, and its long
    parts (0791-86358120 → 0791-86358120, 079186358120, 86358120). Letters upper-cased."""
    t = normalise(text).strip()
    forms = [t, re.sub(r"[\-_/.]", "", t)]
    forms += [p for p in re.split(r"[\-_/.]", t) if len(p) >= 7]
    return [f.upper() for f in dict.fromkeys(forms) if f]


def is_identifier(text: str) -> bool:
    t = normalise(text).strip()
    return len(t) >= 5 and any(c.isdigit() for c in t) and bool(_IDENT_RE.fullmatch(t))


def identifiers(texts: Iterable[str], *, normalised: bool = False) -> set[str]:
    """Report, certificate, phone and other numbers quoted anywhere in the texts (5+ characters, a digit)."""
    out: set[str] = set()
    for text in texts:
        for m in _IDENT_RE.finditer(text if normalised else normalise(text)):
            if len(m.group()) >= 5 and any(c.isdigit() for c in m.group()):
                out.update(identifier_forms(m.group()))
    return out


def chinese_analyzer():
    """jieba words as a Whoosh analyzer with running positions, for code that analyses text with Whoosh
    directly (the index itself gets its terms from `word_tokens`); Whoosh is imported only then."""
    from whoosh.analysis import LowercaseFilter, Token, Tokenizer

    class ChineseTokenizer(Tokenizer):
        def __eq__(self, other):
            return other is not None and other.__class__ is self.__class__

        def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                     start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
            t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
            for pos, (forms, start, end) in enumerate(word_positions(value, index=mode == "index")):
                for form in forms:
                    t.text = form
                    t.original = form
                    t.boost = 1.0
                    t.stopped = False
                    if positions:
                        t.pos = start_pos + pos
                    if chars:
                        t.startchar, t.endchar = start_char + start, start_char + end
                    yield t

    return ChineseTokenizer() | LowercaseFilter()


def _synonym_table() -> dict[str, tuple[str, ...]]:
    global _synonyms
    if _synonyms is None:
        table: dict[str, tuple[str, ...]] = {}
        for group in SYNONYM_GROUPS:
            members = tuple(normalise(p) for p in group)
            for member in members:
                table[member] = members
        _synonyms = table
    return _synonyms


def variants(term: str) -> list[str]:
    """`term` first, then its rewrites with a synonym phrase it contains replaced by each other member of its group.

    Longer phrases win over the shorter ones they overlap; Latin abbreviations (cma, pt) only as the whole term.
    """
    term = normalise(term)
    table = _synonym_table()
    out = [term]
    covered: list[tuple[int, int]] = []
    for phrase in sorted(table, key=len, reverse=True):
        if phrase.isascii() and phrase != term:
            continue
        start = term.find(phrase)
        if start < 0:
            continue
        end = start + len(phrase)
        if any(start < e and s < end for s, e in covered):
            continue
        covered.append((start, end))
        for other in table[phrase]:
            rewritten = term.replace(phrase, other)
            if rewritten not in out:
                out.append(rewritten)
    return out[:MAX_VARIANTS]
