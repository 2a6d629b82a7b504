"""Relevance metrics for the judged query set (search/bench/judgments.json).

A listing's grade for a query comes from the demo generator's structured truth
(``demo.loader.ListingSpec``: kind, material, colour, style, vintage), by the
query's rules: 2 = exact, 1 = partial, 0 = irrelevant.
nDCG@10 uses gains 2/1/0 and a log2(rank + 1) discount; the ideal ranking is the
best 10 grades among the listings a shopper can buy (active, in stock).
A query that should find nothing scores 1 when it returns nothing and 0 otherwise.
MRR is the mean reciprocal rank of the first exact match (over queries that have one).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JUDGMENTS_PATH = Path(__file__).resolve().parent / "judgments.json"
K = 10


@dataclass(frozen=True)
class Truth:
    kind: str
    material: str
    colour: str
    style: str
    vintage: bool


@dataclass(frozen=True)
class JudgedQuery:
    q: str
    group: str
    exact: dict[str, Any]
    partial: tuple[dict[str, Any], ...]
    expect_none: bool


def load_judgments(path: Path = JUDGMENTS_PATH) -> list[JudgedQuery]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        JudgedQuery(
            q=item["q"],
            group=item["group"],
            exact=item.get("exact", {}),
            partial=tuple(item.get("partial", ())),
            expect_none=bool(item.get("expect_none", False)),
        )
        for item in data["queries"]
    ]


def _satisfies(truth: Truth, rule: dict[str, Any]) -> bool:
    for attribute, wanted in rule.items():
        value = getattr(truth, attribute)
        accepted = wanted if isinstance(wanted, list) else [wanted]
        if value not in accepted:
            return False
    return True


def grade(query: JudgedQuery, truth: Truth | None) -> int:
    if truth is None or query.expect_none:
        return 0
    if query.exact and _satisfies(truth, query.exact):
        return 2
    if any(_satisfies(truth, rule) for rule in query.partial):
        return 1
    return 0


def dcg(grades: list[int]) -> float:
    return sum(g / math.log2(rank + 2) for rank, g in enumerate(grades[:K]))


@dataclass
class QueryScore:
    ndcg: float
    reciprocal_rank: float | None  # None when no exact match exists in the catalog
    returned: int


def score(
    query: JudgedQuery, ranked_ids: list[int], total: int, truths: dict[int, Truth], ideal_grades: list[int]
) -> QueryScore:
    if query.expect_none:
        return QueryScore(ndcg=1.0 if total == 0 else 0.0, reciprocal_rank=None, returned=total)
    grades = [grade(query, truths.get(pk)) for pk in ranked_ids[:K]]
    ideal = dcg(sorted(ideal_grades, reverse=True)[:K])
    ndcg = dcg(grades) / ideal if ideal else (1.0 if total == 0 else 0.0)
    reciprocal = None
    if 2 in ideal_grades:
        reciprocal = 0.0
        for rank, g in enumerate(grades, start=1):
            if g == 2:
                reciprocal = 1 / rank
                break
    return QueryScore(ndcg=ndcg, reciprocal_rank=reciprocal, returned=total)


def ideal_grades_for(query: JudgedQuery, truths: dict[int, Truth]) -> list[int]:
    """The best K grades among all buyable listings."""
    if query.expect_none:
        return []
    best: list[int] = []
    exact = partial = 0
    for truth in truths.values():
        g = grade(query, truth)
        if g == 2:
            exact += 1
        elif g == 1:
            partial += 1
        if exact >= K:
            break
    best = [2] * min(exact, K) + [1] * max(0, min(partial, K - min(exact, K)))
    return best
