"""Build parameters are validated before any notebook runs."""

import pytest

from veiligverder.params import ParameterError, Params, load_params


def test_defaults():
    p = Params()
    assert (p.follow_up_rule, p.cumulation_threshold, p.rematch) == ("latest", 5, False)


@pytest.mark.parametrize("rule", ["latest", "T1", "T2"])
def test_follow_up_rules_accepted(rule):
    assert Params(follow_up_rule=rule).follow_up_rule == rule


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"follow_up_rule": "T3"}, "follow_up_rule='T3'"),
        ({"seed": "1"}, "seed='1' must be an integer"),
        ({"cumulation_threshold": 8}, "1..7"),
        ({"rematch": "yes"}, "rematch"),
        ({"keys_dir": "/no/such/folder"}, "is not a folder"),
        ({"power_replications": 5}, "at least 10"),
    ],
)
def test_bad_values_are_named(kwargs, words):
    with pytest.raises(ParameterError, match=words.replace("(", r"\(").replace(".", r"\.")):
        Params(**kwargs)


def test_file_with_unknown_name_is_rejected(tmp_path):
    f = tmp_path / "p.yml"
    f.write_text("follow_up_rule: T2\nfolow_up: T1\n")
    with pytest.raises(ParameterError, match=r"p\.yml: unknown parameter\(s\) \['folow_up'\]"):
        load_params(f)


def test_file_values_are_read(tmp_path):
    f = tmp_path / "p.yml"
    f.write_text("follow_up_rule: T2\nseed: 7\n")
    assert load_params(f) == Params(follow_up_rule="T2", seed=7)
