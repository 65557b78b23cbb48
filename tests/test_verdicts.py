import pytest

from deepspin.results import recorded
from deepspin.verdicts import VERDICTS, Claim, format_value, verdict_table


def _onset_claim():
    return Claim(
        "first layer freezes at π²/4",
        "Yoshino 2020",
        ("onset",),
        verdict=lambda a: "reproduced" if abs(a - 2.4674) < 1e-3 else "contradicted",
        agree=lambda a: abs(a - 2.4674) < 1e-3,
        methods="closed form vs solver",
    )


def test_verdict_follows_the_recorded_value():
    good = verdict_table([_onset_claim()], {"onset": 2.4674})
    bad = verdict_table([_onset_claim()], {"onset": 3.0})
    assert good.rows[0]["verdict"] == "reproduced" and good.rows[0]["agree"] is True
    assert bad.rows[0]["verdict"] == "contradicted" and bad.rows[0]["agree"] is False
    assert "onset = 3" in bad.rows[0]["evidence"]
    assert bad.count("contradicted") == 1 and bad.count("reproduced") == 0


def test_table_records_the_verdicts():
    verdict_table([_onset_claim()], {"onset": 2.4674})
    assert recorded()["verdicts"][0]["verdict"] == "reproduced"


def test_renderings_carry_every_row():
    claims = [_onset_claim(), Claim("liquid centre in the exact-node closure", "referee")]
    table = verdict_table(claims, {"onset": 2.4674})
    markdown, page = table._repr_markdown_(), table._repr_html_()
    assert markdown.count("\n") == 3 and "not addressed" in markdown
    assert page.count("<tr>") == 3 and "π²/4" in page


def test_missing_evidence_is_named():
    with pytest.raises(ValueError, match="not recorded: \\['onset'\\]"):
        verdict_table([_onset_claim()], {})


def test_verdict_must_be_one_of_the_allowed_words():
    claim = Claim("x", "paper", ("a",), verdict=lambda a: "probably")
    with pytest.raises(ValueError, match="must be one of"):
        verdict_table([claim], {"a": 1})


def test_fixed_verdict_only_for_not_addressed():
    with pytest.raises(ValueError, match="must be a rule"):
        Claim("x", "paper", ("a",), verdict="reproduced")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(claim=""), "claim must be a non-empty string"),
        (dict(source=3), "source must be a non-empty string"),
        (dict(evidence="onset"), "evidence must be a tuple"),
        (dict(evidence=("onset", 2)), "evidence must hold"),
        (dict(evidence=()), "verdict is a rule, which needs evidence"),
        (dict(agree="yes"), "agree must be"),
        (dict(methods=None), "methods must be a string"),
        (dict(formats={"other": ".3f"}), "formats names 'other'"),
        (dict(formats={"onset": "??"}), r"formats\['onset'\] must be a format spec"),
        (dict(formats=[".3f"]), "formats must be a mapping"),
    ],
)
def test_claim_checks_its_fields(kwargs, match):
    fields = dict(
        claim="first layer freezes at π²/4",
        source="Yoshino 2020",
        evidence=("onset",),
        verdict=lambda a: "reproduced",
    )
    with pytest.raises(ValueError, match=match):
        Claim(**{**fields, **kwargs})


def test_claim_keeps_a_list_of_evidence_as_a_tuple():
    assert Claim("x", "paper", ["a", "b"], verdict=lambda a, b: "reproduced").evidence == (
        "a",
        "b",
    )


@pytest.mark.parametrize(
    ("kwargs", "match"), [(dict(spec="??"), "spec"), (dict(max_items=0), "max_items")]
)
def test_format_value_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        format_value(1.0, **kwargs)


@pytest.mark.parametrize("claims", [[], "claim", None, [1]])
def test_bad_claims(claims):
    with pytest.raises(ValueError, match="claims must"):
        verdict_table(claims, {})


def test_bad_values():
    with pytest.raises(ValueError, match="values must"):
        verdict_table([_onset_claim()], [1, 2])


def test_format_value_shortens():
    assert format_value(0.123456) == "0.1235"
    assert format_value(list(range(10))) == "[0, 1, 2, 3, 4, 5, …]"
    assert format_value({"a": 1.0}) == "{a: 1}"
    assert len(VERDICTS) == 5
