"""Turn a shopper's query into PostgreSQL full-text terms.

The pipeline mirrors the Elasticsearch analyzer (tokenize, lowercase, synonyms,
stem) and adds spelling correction against the indexed vocabulary:

1. split into lower-case, accent-free words;
2. look every word up in ``search_vocabulary`` in one query: its English stem,
   how many listings use that stem, and the closest indexed words by trigram
   similarity (``pg_trgm``, GIN index);
3. keep a candidate only within Elasticsearch's ``fuzziness: AUTO`` edit distance
   with the same first two letters (``prefix_length: 2``); correct a word nobody
   uses, and widen a rare word that looks like a misspelling of a far more common
   one (both offer "did you mean");
4. expand synonyms from ``search/synonyms.txt`` (multi-word phrases matched on stems);
5. return one group of alternatives per concept; a listing must match every group.

Words only ever reach SQL as bind parameters, and the tsquery text handed to
``to_tsquery`` is assembled from ``[^\\W_]+`` words and our own operators only.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from threading import Lock

from django.db import connection

from search.synonyms import load_rules, tokenize

MAX_WORDS = 10
MAX_WORD_LENGTH = 40
MAX_PHRASE_WORDS = 4
# Corrections follow Elasticsearch's fuzziness AUTO with prefix_length 2: candidates share
# the first two letters and are 1 edit away (3-5 letters) or 2 edits (longer words).
# An unknown word is replaced by the closest indexed word; a known but rare word is
# searched together with a close word used this many times more often (a likely misspelling).
MISSPELLING_RATIO = 10
# A spelling no listing uses, this long or longer, is widened to a close word used this many times
# more often even when its stem is known.
MIN_UNKNOWN_SPELLING_LENGTH = 5
UNKNOWN_SPELLING_RATIO = 3


@dataclass(frozen=True)
class TermGroup:
    """Alternatives for one concept of the query: phrases, and the English stems of their words
    ("" for a stop word)."""

    alternatives: tuple[str, ...]
    lexemes: tuple[tuple[str, ...], ...] = ()
    # "vintage" (answered by the listing's vintage flag), "handmade" or "gift" (rank, never exclude), or "".
    kind: str = ""
    # The shopper's word was unknown and replaced by a close indexed word: a listing matching
    # only guessed concepts is no partial match ("iphone charger" must not find a "chapter").
    is_guess: bool = False

    @property
    def is_qualifier(self) -> bool:
        return bool(self.kind)

    def tsquery_text(self, weights: str = "") -> str:
        """The group as tsquery text (already stemmed), e.g. ``'wallet' | 'card' <-> 'holder'``;
        ``weights`` ("D") restricts every lexeme to those fields."""
        parts = [_phrase_tsquery(phrase, weights) for phrase in self.lexemes]
        return " | ".join(part for part in parts if part)


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _phrase_tsquery(lexemes: tuple[str, ...], weights: str = "") -> str:
    out: list[str] = []
    gap = 0
    for lexeme in lexemes:
        if not lexeme:
            gap += 1 if out else 0
            continue
        if out:
            out.append(f" <{gap + 1}> " if gap else " <-> ")
        out.append(_quote(lexeme) + (f":{weights}" if weights else ""))
        gap = 0
    return "".join(out)


@dataclass
class AnalyzedQuery:
    words: list[str]
    groups: list[TermGroup] = field(default_factory=list)
    suggestion: str | None = None
    # The shopper's own words (stems, corrected), any of them: ranks a listing that uses the
    # words typed above one that matches only through synonyms.
    exact_words: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.groups


@dataclass
class _Word:
    text: str
    stem: str | None  # None for a stop word
    stem_count: int = 0  # listings that use a word with this stem
    is_known: bool = False  # some listing uses this very spelling
    corrected: str | None = None  # replaces ``text`` (an unknown word)
    also: str | None = None  # searched beside ``text`` (a likely misspelling)
    corrected_stem: str | None = None


def fold(text: str) -> str:
    """Lower-case and strip accents ("Café" -> "cafe"), keeping non-Latin letters."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def query_words(q: str) -> list[str]:
    return [w[:MAX_WORD_LENGTH] for w in tokenize(fold(q))][:MAX_WORDS]


_LOOKUP_SQL = """
WITH t AS (
    SELECT w.tok, w.ord, (ts_lexize('english_stem', w.tok))[1] AS stem
      FROM unnest(%s::text[]) WITH ORDINALITY AS w(tok, ord)
)
SELECT t.ord, t.tok, t.stem,
       coalesce((SELECT sum(v.ndoc) FROM search_vocabulary v WHERE v.lexeme = t.stem), 0) AS stem_count,
       EXISTS (SELECT 1 FROM search_vocabulary v WHERE v.word = t.tok) AS is_known,
       c.word, c.lexeme, c.ndoc,
       EXISTS (SELECT 1 FROM search_vocabulary) AS has_vocabulary
  FROM t
  LEFT JOIN LATERAL (
        SELECT v.word, v.lexeme, v.ndoc
          FROM search_vocabulary v
         WHERE v.word %% t.tok
           AND left(v.word, 2) = left(t.tok, 2)
           AND v.lexeme IS NOT NULL AND v.lexeme IS DISTINCT FROM t.stem
           AND t.tok !~ '[0-9]'
         ORDER BY similarity(v.word, t.tok) DESC, v.ndoc DESC
         LIMIT 6
  ) c ON true
 ORDER BY t.ord
"""

_STEMS_SQL = "SELECT w, (ts_lexize('english_stem', w))[1] FROM unnest(%s::text[]) AS w"


class _SynonymIndex:
    """The synonym rules keyed by the stems of their input phrases (built once per process)."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._by_stems: dict[tuple[str, ...], list[str]] | None = None
        self.known_stems: set[str] = set()
        self.stems: dict[str, str] = {}

    def get(self) -> dict[tuple[str, ...], list[str]]:
        if self._by_stems is None:
            with self._lock:
                if self._by_stems is None:
                    self._build()
        return self._by_stems  # type: ignore[return-value]

    def _build(self) -> None:
        rules = load_rules()
        words = sorted({w for rule in rules for phrase in (*rule.inputs, *rule.outputs) for w in phrase.split()})
        with connection.cursor() as cursor:
            cursor.execute(_STEMS_SQL, [words])
            stems = {w: (s or "") for w, s in cursor.fetchall()}
        by_stems: dict[tuple[str, ...], list[str]] = {}
        for rule in rules:
            for phrase in rule.inputs:
                # A stop word keys by itself: "for him" and "for her" are different phrases.
                key = tuple(stems[w] or w for w in phrase.split())
                outputs = by_stems.setdefault(key, [])
                for out in (phrase, *rule.outputs):
                    if out not in outputs:
                        outputs.append(out)
        self.stems = stems
        self.known_stems = {s for s in stems.values() if s}
        self._by_stems = by_stems

    def reset(self) -> None:
        with self._lock:
            self._by_stems = None


synonym_index = _SynonymIndex()


def analyze(q: str) -> AnalyzedQuery:
    """Return the query's term groups and a "did you mean" suggestion (one database query)."""
    words = query_words(q)
    analyzed = AnalyzedQuery(words=words)
    if not words:
        return analyzed
    by_stems = synonym_index.get()
    looked_up = _look_up(words)

    if any(w.corrected or w.also for w in looked_up):
        analyzed.suggestion = " ".join(w.corrected or w.also or w.text for w in looked_up)

    groups = _expand(looked_up, by_stems)
    # "signet ring": both words belong to one synonym group; matching it twice adds nothing.
    unique: dict[str, TermGroup] = {}
    for group in groups:
        unique.setdefault(group.tsquery_text(), _with_kind(group))
    analyzed.groups = list(unique.values())
    stems = dict.fromkeys(
        (w.corrected_stem if w.corrected else w.stem)
        for w in looked_up
        if (w.corrected_stem if w.corrected else w.stem)
    )
    analyzed.exact_words = " | ".join(_quote(stem) for stem in stems)
    return analyzed


# Marketplace qualifiers: the synonym groups of these words are attributes, not required text.
QUALIFIER_WORDS = {"vintage": "vintage", "handmade": "handmade", "gift": "gift"}


def _with_kind(group: TermGroup) -> TermGroup:
    stems = synonym_index.stems
    for word, kind in QUALIFIER_WORDS.items():
        if (stems.get(word) or word,) in group.lexemes:
            return replace(group, kind=kind)
    return group


@dataclass(frozen=True)
class QualifiedWords:
    """A query's words without its marketplace qualifiers (for backends that analyze text themselves)."""

    words: tuple[str, ...]  # what a listing must match
    vintage: bool  # a vintage word: answered by the listing's flag
    optional: tuple[str, ...]  # handmade and gift words: rank, never exclude
    phrases: int = 0  # concepts among ``words``: a synonym phrase ("for him") is one

    @property
    def concepts(self) -> int:
        return (self.phrases or len(self.words)) + self.vintage


def split_qualifiers(q: str) -> QualifiedWords:
    """Split the qualifier phrases of the synonyms file out of the query (no database query).

    "vintage leather bag" -> words ("leather", "bag"), vintage; "handmade mug gift" -> words
    ("mug",), optional ("handmade", "gift"). A query of qualifiers only keeps the handmade and
    gift words as words (they are all the shopper gave).
    """
    phrases: dict[tuple[str, ...], str] = {(word,): kind for word, kind in QUALIFIER_WORDS.items()}
    for rule in load_rules():
        for word, kind in QUALIFIER_WORDS.items():
            if word in rule.inputs:
                phrases.update({tuple(phrase.split()): kind for phrase in rule.inputs})
    words = query_words(q)
    kept: list[str] = []
    optional: list[str] = []
    vintage = False
    i = 0
    while i < len(words):
        for length in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            kind = phrases.get(tuple(words[i : i + length]))
            if kind:
                vintage = vintage or kind == "vintage"
                if kind != "vintage":
                    optional.extend(words[i : i + length])
                i += length
                break
        else:
            kept.append(words[i])
            i += 1
    if not kept and not vintage:
        kept, optional = optional, []
    known = {tuple(phrase.split()) for rule in load_rules() for phrase in rule.inputs}
    concepts = i = 0
    while i < len(kept):
        i += next((n for n in range(min(MAX_PHRASE_WORDS, len(kept) - i), 1, -1) if tuple(kept[i : i + n]) in known), 1)
        concepts += 1
    return QualifiedWords(words=tuple(kept), vintage=vintage, optional=tuple(optional), phrases=concepts)


def allowed_edits(word: str) -> int:
    """No edit up to 2 letters, 1 up to 6, then 2 (Elasticsearch's ``fuzziness: AUTO:3,7``).

    A swap of neighbours counts as one edit ("cermaic" -> "ceramic").
    """
    return 0 if len(word) <= 2 else 1 if len(word) <= 6 else 2


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap neighbours)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _look_up(words: list[str]) -> list[_Word]:
    with connection.cursor() as cursor:
        cursor.execute(_LOOKUP_SQL, [words])
        rows = cursor.fetchall()
    if rows and not rows[0][-1]:
        # Listings written without signals (bulk loads) and no refresh yet: ask for one.
        from search.receivers import schedule_vocabulary_refresh

        schedule_vocabulary_refresh()
    by_ord: dict[int, _Word] = {}
    candidates: dict[int, list[tuple[str, str, int]]] = {}
    for ordinal, tok, stem, stem_count, is_known, cand, cand_lexeme, cand_count, _has_vocabulary in rows:
        if ordinal not in by_ord:
            by_ord[ordinal] = _Word(text=tok, stem=stem or None, stem_count=int(stem_count or 0), is_known=is_known)
            candidates[ordinal] = []
        if cand is not None:
            candidates[ordinal].append((cand, cand_lexeme, int(cand_count)))
    result = []
    for ordinal in sorted(by_ord):
        word = by_ord[ordinal]
        best = _closest(word.text, candidates[ordinal])
        if word.stem is not None and best is not None:
            cand, cand_lexeme, cand_count = best
            in_synonyms = word.stem in synonym_index.known_stems or word.text in synonym_index.stems
            if in_synonyms or cand_count <= word.stem_count:
                pass  # a correction must find more than the word typed
            elif word.stem_count == 0:
                word.corrected, word.corrected_stem = cand, cand_lexeme
            elif cand_count >= MISSPELLING_RATIO * word.stem_count or (
                # Nobody writes this spelling and its stem belongs to rarer words ("earings" stems
                # to "ear"): search the close, more used word beside it.
                not word.is_known
                and len(word.text) >= MIN_UNKNOWN_SPELLING_LENGTH
                and cand_count >= UNKNOWN_SPELLING_RATIO * word.stem_count
            ):
                word.also, word.corrected_stem = cand, cand_lexeme
        result.append(word)
    return result


def _closest(word: str, candidates: list[tuple[str, str, int]]) -> tuple[str, str, int] | None:
    """The most used candidate within the allowed edits (fewest edits first)."""
    limit = allowed_edits(word)
    scored = [(edit_distance(word, cand[0]), -cand[2], cand) for cand in candidates]
    scored = [item for item in scored if item[0] <= limit]
    return min(scored)[2] if scored else None


def _expand(words: list[_Word], by_stems: dict[tuple[str, ...], list[str]]) -> list[TermGroup]:
    """Group the words into concepts, matching the longest synonym phrase first."""
    stems = [(w.corrected_stem if w.corrected else w.stem) or w.text for w in words]
    known = dict(synonym_index.stems)
    for w in words:
        known[w.text] = w.stem or ""
        if w.corrected:
            known[w.corrected] = w.corrected_stem or ""
        if w.also:
            known[w.also] = w.corrected_stem or ""

    def group(alternatives: list[str], *, is_guess: bool = False) -> TermGroup:
        unique = tuple(dict.fromkeys(alternatives))
        return TermGroup(
            alternatives=unique,
            lexemes=tuple(tuple(known.get(word, word) for word in phrase.split()) for phrase in unique),
            is_guess=is_guess,
        )

    groups: list[TermGroup] = []
    i = 0
    while i < len(words):
        matched = False
        for length in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            key = tuple(stems[i : i + length])
            if key not in by_stems:
                continue
            alternatives = list(by_stems[key])
            if length == 1 and words[i].also:
                alternatives.extend(by_stems.get((words[i].corrected_stem or "",), [words[i].also]))
            groups.append(group(alternatives))
            i += length
            matched = True
            break
        if matched:
            continue
        word = words[i]
        i += 1
        if word.stem is None:
            continue
        if word.corrected:
            alternatives = by_stems.get((word.corrected_stem or "",), [word.corrected])
        else:
            alternatives = [word.text]
            if word.also:
                alternatives.extend(by_stems.get((word.corrected_stem or "",), [word.also]))
        groups.append(group(alternatives, is_guess=bool(word.corrected)))
    return [g for g in groups if g.tsquery_text()]
