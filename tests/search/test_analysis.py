"""Query analysis, synonym parsing and the benchmark's metrics."""

import math

import pytest

from search.analysis import TermGroup, allowed_edits, analyze, edit_distance, query_words, split_qualifiers
from search.bench.relevance import JudgedQuery, Truth, dcg, grade, ideal_grades_for, load_judgments, score
from search.synonyms import load_rules, parse_rules, solr_lines


def test_parse_rules_reads_equivalences_one_way_rules_and_comments():
    rules = parse_rules(
        "# comment\nhandmade, Hand-Crafted, hand made  # trailing comment\n\npurse, pocketbook => purse, wallet\n"
    )

    assert rules[0].inputs == rules[0].outputs == ("handmade", "hand crafted", "hand made")
    assert rules[1].inputs == ("purse", "pocketbook")
    assert rules[1].outputs == ("purse", "wallet")


def test_synonyms_file_has_the_documented_groups():
    inputs = {phrase for rule in load_rules() for phrase in rule.inputs}
    for phrase in (
        "handmade",
        "handcrafted",
        "artisan",
        "homemade",
        "hand made",
        "vintage",
        "antique",
        "retro",
        "billfold",
        "necklace",
        "pendant",
        "choker",
        "earrings",
        "studs",
        "ring",
        "band",
        "signet",
        "genuine leather",
        "cowhide",
        "full grain",
        "sterling",
        "925",
        "sterling silver",
        "14k",
        "gold filled",
    ):
        assert phrase in inputs
    assert all("#" not in line for line in solr_lines())


def test_query_words_fold_case_accents_and_punctuation():
    assert query_words("Hand-Crafted CAFÉ  crème; 14k") == ["hand", "crafted", "cafe", "creme", "14k"]
    assert query_words("'; DROP TABLE x; --") == ["drop", "table", "x"]
    assert len(query_words("word " * 50)) == 10


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("walet", "wallet", 1),
        ("jewlery", "jewelry", 1),
        ("lether", "leather", 1),
        ("neckless", "necklace", 3),
        ("same", "same", 0),
        ("", "abc", 3),
    ],
)
def test_edit_distance_counts_swaps_as_one_edit(a, b, distance):
    assert edit_distance(a, b) == distance


def test_allowed_edits_are_two_only_from_seven_letters():
    assert [allowed_edits(w) for w in ("ab", "abc", "abcde", "abcdef", "abcdefg")] == [0, 1, 1, 1, 2]


def test_tsquery_text_quotes_lexemes_and_skips_stop_words_in_phrases():
    group = TermGroup(
        alternatives=("oil on canvas", "wallet", "it's"),
        lexemes=(("oil", "", "canva"), ("wallet",), ("it", "", "s")),
    )

    assert group.tsquery_text() == "'oil' <2> 'canva' | 'wallet' | 'it' <2> 's'"
    assert TermGroup(alternatives=("x",), lexemes=(("o'brien\\",),)).tsquery_text() == "'o''brien\\\\'"


@pytest.mark.django_db
def test_analyze_expands_multi_word_synonyms_on_stems():
    analyzed = analyze("Hand-crafted leather billfolds")

    assert [g.alternatives[0] for g in analyzed.groups] == ["hand crafted", "leather", "billfold"]
    assert "handmade" in analyzed.groups[0].alternatives
    assert "wallet" in analyzed.groups[2].alternatives
    assert analyzed.suggestion is None


@pytest.mark.django_db
def test_analyze_drops_stop_words_and_keeps_one_way_rules_one_way():
    assert analyze("the and of").is_empty
    assert "wallet" in analyze("purse").groups[0].alternatives
    assert "purse" not in analyze("wallet").groups[0].alternatives


def _truth(**kw):
    base = {"kind": "wallet", "material": "leather", "colour": "red", "style": "Boho", "vintage": False}
    return Truth(**{**base, **kw})


def test_grades_follow_the_rules():
    query = JudgedQuery(
        q="leather wallet",
        group="g",
        exact={"kind": "wallet", "material": "leather"},
        partial=({"kind": "wallet"},),
        expect_none=False,
    )

    assert grade(query, _truth()) == 2
    assert grade(query, _truth(material="cork")) == 1
    assert grade(query, _truth(kind="tote")) == 0
    assert grade(query, None) == 0


def test_ndcg_mrr_and_empty_queries():
    query = JudgedQuery(q="q", group="g", exact={"kind": "wallet"}, partial=({"kind": "tote"},), expect_none=False)
    truths = {1: _truth(), 2: _truth(kind="tote"), 3: _truth(kind="mug")}
    ideal = ideal_grades_for(query, truths)

    assert ideal == [2, 1]
    perfect = score(query, [1, 2], 2, truths, ideal)
    assert perfect.ndcg == pytest.approx(1.0) and perfect.reciprocal_rank == 1.0
    swapped = score(query, [3, 2, 1], 3, truths, ideal)
    expected = (1 / math.log2(3) + 2 / math.log2(4)) / (2 + 1 / math.log2(3))
    assert swapped.ndcg == pytest.approx(expected) and swapped.reciprocal_rank == pytest.approx(1 / 3)
    assert dcg([2, 1]) == pytest.approx(2 + 1 / math.log2(3))

    nothing = JudgedQuery(q="carburetor", group="g", exact={}, partial=(), expect_none=True)
    assert score(nothing, [], 0, truths, []).ndcg == 1.0
    assert score(nothing, [1], 1, truths, []).ndcg == 0.0


def test_judged_set_covers_every_required_kind_of_query():
    queries = load_judgments()
    groups = {q.group for q in queries}

    assert len(queries) >= 60
    assert groups == {
        "synonyms",
        "misspellings",
        "plurals and stems",
        "multi-word",
        "materials and colours",
        "vintage versus new",
        "should find nothing",
    }
    assert all(q.exact or q.expect_none for q in queries)


@pytest.mark.parametrize(
    ("query", "words", "vintage", "optional"),
    [
        ("vintage leather bag", ("leather", "bag"), True, ()),
        ("Antique mirror", ("mirror",), True, ()),
        ("second hand retro lamp", ("lamp",), True, ()),
        ("handmade mug gift", ("mug",), False, ("handmade", "gift")),
        ("hand made wallet", ("wallet",), False, ("hand", "made")),
        ("handmade", ("handmade",), False, ()),
        ("vintage", (), True, ()),
        ("pendant lamp", ("pendant", "lamp"), False, ()),
    ],
)
def test_split_qualifiers_takes_marketplace_qualifiers_out_of_the_words(query, words, vintage, optional):
    qualified = split_qualifiers(query)

    assert (qualified.words, qualified.vintage, qualified.optional) == (words, vintage, optional)
