"""What a query asks of a listing: the concepts it must match, the tiers it ranks in, the shops it names."""

from __future__ import annotations

from dataclasses import dataclass, replace

from search.analysis import AnalyzedQuery, TermGroup

NAMED_SHOPS_LIMIT = 3
MAX_SHOP_QUERY_WORDS = 5

# Tiers, best first: listings of a shop the query names, listings matching every concept,
# listings missing one concept, listings only filed under a category the query names.
TIER_SHOP, TIER_EXACT, TIER_PARTIAL, TIER_CATEGORY = 3, 2, 1, 0

# An array from an InitPlan (never NULL): the shop_id index joins the text index in one bitmap scan.
IN_NAMED_SHOP = "p.shop_id = ANY (coalesce((SELECT array_agg(id) FROM named), '{}')::bigint[])"


@dataclass
class Plan:
    """What a listing must have to match the query, and what only ranks it."""

    analyzed: AnalyzedQuery
    required: list[TermGroup]  # concepts matched in the text
    vintage: TermGroup | None  # "vintage", "antique", "retro": the listing's vintage flag
    optional: list[TermGroup]  # "handmade", "gift" and their synonyms: rank, never exclude
    shop_query: str  # the words, when few enough to be a shop's name ("" otherwise)

    @property
    def concepts(self) -> int:
        return len(self.required) + (self.vintage is not None)

    @property
    def can_relax(self) -> bool:
        # "gift for him" with nothing for him: the gifts, after whatever there is.
        return self.concepts >= 2 or bool(self.concepts and self.optional)


def make_plan(analyzed: AnalyzedQuery) -> Plan:
    required = [g for g in analyzed.groups if not g.is_qualifier]
    vintage = next((g for g in analyzed.groups if g.kind == "vintage"), None)
    optional = [g for g in analyzed.groups if g.kind in ("handmade", "gift")]
    if not required and vintage is None:
        # "handmade" or "gift" alone: the word is all the shopper gave us.
        required, optional = optional, []
    shop_query = " ".join(analyzed.words) if len(analyzed.words) <= MAX_SHOP_QUERY_WORDS else ""
    return Plan(analyzed=analyzed, required=required, vintage=vintage, optional=optional, shop_query=shop_query)


def match_text(group: TermGroup, weights: str = "") -> str:
    """The group as tsquery text for matching: a phrase holding a word the group also accepts alone
    is left out ("leather" | "genuine leather" matches what "leather" matches).

    The text index reads the posting list of every word of the query, so each phrase left out
    spares whole lists ("genuine", "real", "full"); ranking keeps every alternative.
    """
    singles = {lexemes[0] for lexemes in _words_of(group) if len(lexemes) == 1}
    kept = [lexemes for lexemes in group.lexemes if len(_words(lexemes)) <= 1 or not singles & set(lexemes)]
    return replace(group, lexemes=tuple(kept)).tsquery_text(weights)


def _words(lexemes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(lexeme for lexeme in lexemes if lexeme)  # "" is a stop word's place


def _words_of(group: TermGroup) -> list[tuple[str, ...]]:
    return [_words(lexemes) for lexemes in group.lexemes]


def match_sql(plan: Plan, *, relaxed: bool, sql_params: dict[str, object], prefix: str = "") -> tuple[str, str, str]:
    """Return the SQL condition a listing must meet, its tier and its head-concept flag.

    ``prefix`` names the bind parameters, so two conditions can share one statement.
    """
    # Group queries arrive stemmed (tsquery text built from [^\W_]+ lexemes) as typed
    # parameters: the planner sees constants, and nothing is re-parsed per row.
    texts = []
    for i, group in enumerate(plan.required):
        sql_params[f"{prefix}g{i}"] = match_text(group)
        texts.append(f"({match_text(group)})")
    conditions = []
    if not relaxed:
        if texts:
            sql_params[f"{prefix}match"] = " & ".join(texts)
            conditions.append(f"p.search_vector @@ %({prefix}match)s::tsquery")
        if plan.vintage is not None:
            conditions.append("p.is_vintage")
        tier = str(TIER_EXACT)
    else:
        # Every way of leaving one concept out (with the vintage flag and one concept: listings
        # missing the flag, never the flag alone), so the GIN index still intersects posting lists.
        # What is left must hold a word the shopper typed, not only spelling guesses.
        count = len(texts)
        combinations = [[j for j in range(count) if j != skip] for skip in range(count)] if count >= 2 else [[0]]
        parts = [
            " & ".join(texts[j] for j in combination)
            for combination in combinations
            if any(not plan.required[j].is_guess for j in combination)
        ]
        parts += [f"({match_text(g, 'D')})" for g in plan.required if not g.is_guess]
        if plan.concepts < 2:  # "gift for him" with nothing for him: the gifts, after whatever there is
            parts += [f"({match_text(g)})" for g in plan.optional]
        if parts:
            sql_params[f"{prefix}match"] = " | ".join(f"({part})" for part in parts)
            conditions.append(f"p.search_vector @@ %({prefix}match)s::tsquery")
        else:
            conditions.append("false")
        coverage = " + ".join(f"(p.search_vector @@ %({prefix}g{i})s::tsquery)::int" for i in range(len(texts)))
        if plan.vintage is not None:
            coverage += " + p.is_vintage::int"
        tier = (
            f"CASE WHEN {coverage} >= {plan.concepts} THEN {TIER_EXACT}"
            f" WHEN {coverage} = {plan.concepts - 1} THEN {TIER_PARTIAL} ELSE {TIER_CATEGORY} END"
        )
    match = " AND ".join(conditions) or "false"
    if plan.shop_query:
        match = f"(({match}) OR {IN_NAMED_SHOP})"
        tier = f"CASE WHEN {IN_NAMED_SHOP} THEN {TIER_SHOP} ELSE {tier} END"
    # English puts the thing last ("pendant lamp", "leather tote"): among listings missing one
    # concept, those that are the thing asked for come before those that only share a word with it.
    head = f"(p.search_vector @@ %({prefix}g{len(texts) - 1})s::tsquery)::int" if len(texts) >= 2 else "0"
    return match, tier, head


# Active shops the query names: every word of the query is in the shop's name, and the words
# are its first word ("rowan" names Rowan Trading Post) or at least half of its name's words.
# Served by the expression index of migration 0006.
NAMED_SHOPS_SQL = f"""
    SELECT s.id, s.name, s.slug, row_number() OVER (ORDER BY s.sales_count DESC, s.id) AS ord
      FROM shops_shop s
      CROSS JOIN (SELECT array_agg(t.lexeme) AS lexemes
                    FROM unnest(to_tsvector('etsy_english', %(shop_query)s)) AS t) q
      CROSS JOIN LATERAL (
            SELECT array_agg(t.lexeme) AS lexemes, (array_agg(t.lexeme ORDER BY t.positions[1]))[1] AS first
              FROM unnest(to_tsvector('etsy_english', s.name)) AS t
      ) n
     WHERE s.is_active
       AND to_tsvector('etsy_english'::regconfig, s.name) @@ plainto_tsquery('etsy_english', %(shop_query)s)
       AND (n.first = ANY (q.lexemes) OR 2 * cardinality(q.lexemes) >= cardinality(n.lexemes))
     ORDER BY ord
     LIMIT {NAMED_SHOPS_LIMIT}
"""
NO_SHOPS_SQL = "SELECT NULL::bigint AS id, NULL::text AS name, NULL::text AS slug, 0 AS ord WHERE false"
