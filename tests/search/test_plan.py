"""What the PostgreSQL backend asks the text index (search/backends/postgres/plan.py)."""

from search.analysis import TermGroup
from search.backends.postgres.plan import match_text


def test_match_text_leaves_out_phrases_that_a_word_of_the_group_already_matches():
    group = TermGroup(
        alternatives=("leather", "genuine leather", "full grain", "the leather"),
        lexemes=(("leather",), ("genuin", "leather"), ("full", "grain"), ("", "leather")),
    )

    assert group.tsquery_text() == "'leather' | 'genuin' <-> 'leather' | 'full' <-> 'grain' | 'leather'"
    assert match_text(group) == "'leather' | 'full' <-> 'grain' | 'leather'"
    assert match_text(group, "D") == "'leather':D | 'full':D <-> 'grain':D | 'leather':D"


def test_match_text_keeps_a_group_of_phrases_whole():
    group = TermGroup(alternatives=("side table", "end table"), lexemes=(("side", "tabl"), ("end", "tabl")))

    assert match_text(group) == group.tsquery_text() == "'side' <-> 'tabl' | 'end' <-> 'tabl'"
