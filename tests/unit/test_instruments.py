"""The instrument specs, the key folder and the vectorised scoring engine."""

from __future__ import annotations

import math
import operator
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from veiligverder import contract, paths
from veiligverder.instruments import (
    ScoringInputError,
    SpecError,
    available_instruments,
    keys_in_force,
    load_spec,
    score,
    score_spec,
    score_table,
)
from veiligverder.instruments.spec import OPS, build_spec

INSTRUMENTS = ["cts2s", "cts2p", "ctspc", "ctspcc", "ace", "tsi", "mansa", "mansao", "nosik", "nosic", "ppq", "mpf",
               "auditc", "auditcp", "tscyc", "simspr", "secp", "tscc", "sis", "secm", "secf", "kid"]
LICENSED = {"tsi", "tscc", "tscyc", "kid", "nosik", "nosic"}


def blank(table: str, n: int = 1) -> pd.DataFrame:
    """A table of ``n`` rows with every item column of ``table`` unanswered (NaN)."""
    cols = [c for p in contract.item_prefixes(table) for c in contract.item_columns(p)]
    return pd.DataFrame(np.nan, index=range(n), columns=cols)


def answer(df: pd.DataFrame, prefix: str, numbers, value, row=0) -> None:
    df.loc[row, contract.item_columns(prefix, list(numbers))] = value


def keys_with(tmp_path: Path, instrument: str, **changes) -> Path:
    """A copy of the illustrative key folder with some fields of one key file replaced."""
    folder = tmp_path / "keys"
    shutil.copytree(paths.ILLUSTRATIVE_KEYS_DIR, folder)
    path = folder / f"{instrument}.yml"
    key = yaml.safe_load(path.read_text())
    key.update(changes)
    path.write_text(yaml.safe_dump(key))
    return folder


# ------------------------------------------------------------------------------------ the specs
def test_one_spec_per_required_instrument_and_table_as_in_codebook():
    assert sorted(available_instruments()) == sorted(INSTRUMENTS)
    for name in INSTRUMENTS:
        spec = load_spec(name)
        assert spec.instrument == name
        assert contract.table_of_prefix(spec.prefix) == spec.table
        assert spec.source.strip(), name
        assert spec.licensed == (name in LICENSED), name


def test_every_codebook_item_column_is_used_by_some_spec():
    used: set[str] = set()
    for name in available_instruments():
        spec = load_spec(name)
        used |= {c for s in spec.scales for c in spec.scale_columns(s) if spec.scales[s].items}
    every = {c for t in ("parents", "children") for p in contract.item_prefixes(t) for c in contract.item_columns(p)}
    assert every - used == set()


def test_every_norm_and_flag_names_its_source():
    for name in INSTRUMENTS:
        spec = load_spec(name)
        for flag in spec.flags.values():
            assert flag.source.strip(), f"{name}.{flag.name}"
        if not spec.licensed:
            for scale, norm in spec.norms.items():
                assert norm.source.strip(), f"{name}.{scale}"


def test_report_norms_are_used_where_the_report_gives_them():
    assert load_spec("simspr").norms["insecurity"].mean == 8.4   # report figure 8
    assert load_spec("sis").norms["insecurity"].mean == 8.4
    assert load_spec("nosik").norms["total"].mean == 40.4        # report figure 9 (in the key)


def test_illustrative_keys_say_so_and_why():
    found = keys_in_force()
    assert set(found) == LICENSED
    for name, info in found.items():
        assert info["illustrative"] is True
        key = yaml.safe_load(Path(info["path"]).read_text())
        assert key["illustrative"] is True and len(key["why"]) > 80, name
        assert Path(info["path"]).parent == paths.ILLUSTRATIVE_KEYS_DIR


def test_keys_in_force_reports_a_user_key_folder(tmp_path):
    folder = keys_with(tmp_path, "tsi", illustrative=False, why="", source="TSI manual (test)")
    found = keys_in_force(folder)
    assert found["tsi"] == {"path": str(folder / "tsi.yml"), "illustrative": False, "source": "TSI manual (test)"}
    assert found["kid"]["illustrative"] is True


def test_missing_or_unmarked_key_file_is_a_clear_error(tmp_path):
    folder = keys_with(tmp_path, "tsi")
    (folder / "tscc.yml").unlink()
    with pytest.raises(SpecError, match=r"tscc\.yml.*licensed instrument 'tscc'"):
        load_spec("tscc", keys_dir=folder)
    bad = keys_with(tmp_path / "b", "kid", why="")
    with pytest.raises(SpecError, match="must say 'why'"):
        load_spec("kid", keys_dir=bad)


def test_malformed_spec_is_a_clear_error():
    raw = {"instrument": "probe", "table": "parents", "prefix": "ace", "reporter": "parent",
           "scales": {"x": {"items": "01-11"}}}
    with pytest.raises(SpecError, match=r"probe\.yml.*not within 1\.\.10"):
        build_spec(raw, Path("probe.yml"))
    with pytest.raises(SpecError, match="no spec for instrument 'nope'"):
        load_spec("nope")
    gotcha = yaml.safe_load("{scales: {x: {items: all}}, flags: {f: {scales: [x], on: t, value: 1}}}")
    with pytest.raises(SpecError, match="YAML reads as true/false; use 'metric'"):
        build_spec({**raw, **gotcha}, Path("probe.yml"))


# ------------------------------------------------------------------------- hand-computed scores
def test_cts_codes_become_incidents_per_scale():
    t = blank("parents")
    answer(t, "cts2s", range(1, 40), 1)      # 'never' everywhere ...
    answer(t, "cts2s", [1], 8)               # negotiation, 25 incidents: not violence
    answer(t, "cts2s", [7], 3)               # psychological minor: once -> 1
    answer(t, "cts2s", [15], 5)              # physical minor: 3-5 times -> 4
    answer(t, "cts2s", [20], 8)              # physical severe: > 20 times -> 25
    answer(t, "cts2s", [36], 2)              # injury severe: not in the past year -> 0, not severe
    s = score(t, "cts2s").iloc[0]
    assert s["cts2s_negotiation"] == 25
    assert s["cts2s_violence"] == 1 + 4 + 25
    assert s["cts2s_mild"] == 1 + 4
    assert s["cts2s_psychological"] == 1 and s["cts2s_physical"] == 29 and s["cts2s_injury"] == 0
    assert s["cts2s_severe_count"] == 1


def test_severe_needs_answer_code_3_and_looks_at_answered_items_only():
    t = blank("parents", 4)
    answer(t, "cts2s", [20], 2, row=0)       # code 2: not in the past year
    answer(t, "cts2s", [20], 3, row=1)       # code 3: once
    answer(t, "cts2s", [20, 21], [3, np.nan], row=2)
    s = score(t, "cts2s")["cts2s_severe_count"]
    assert s.tolist() == [0.0, 1.0, 1.0, 0.0]  # row 3: nothing answered -> 0, not missing


def _probe_spec(min_share: float = 0.8):
    raw = {"instrument": "probe", "table": "parents", "prefix": "tsi", "reporter": "parent",
           "missing": {"min_share": min_share}, "scales": {"all": {"items": "all", "score": "sum"}}}
    return build_spec(raw, Path("probe.yml"))


def test_80_percent_rule_at_79_and_80_percent_of_100_items():
    # 100 items make both sides exact: 79/100 = 79 % (missing), 80/100 = 80 % (scored).
    t = blank("parents", 2)
    answer(t, "tsi", range(1, 80), 1, row=0)
    answer(t, "tsi", range(1, 81), 1, row=1)
    s = score_spec(t, _probe_spec())["probe_all"]
    assert math.isnan(s[0]) and s[1] == 80


def test_80_percent_rule_on_the_contract_sets_at_the_nearest_counts():
    # 33 items: 26 answered = 78.8 % (missing), 27 = 81.8 % (scored, unanswered count as 0);
    # 14 mild items: 11 = 78.6 %, 12 = 85.7 %; 15 CTSPC mild items: 12 = exactly 80 %, 11 = 73 %;
    # 10 ACE items: 8 = exactly 80 %, 7 = 70 %.
    nonneg = contract.block_items("cts2", severity="mild") + contract.block_items("cts2", severity="severe")
    mild = contract.block_items("cts2", severity="mild")
    t = blank("parents", 4)
    answer(t, "cts2s", sorted(nonneg)[:26], 3, row=0)
    answer(t, "cts2s", sorted(nonneg)[:27], 3, row=1)
    answer(t, "cts2s", mild[:11], 4, row=2)
    answer(t, "cts2s", mild[:12], 4, row=3)
    s = score(t, "cts2s")
    assert math.isnan(s.loc[0, "cts2s_violence"]) and s.loc[1, "cts2s_violence"] == 27
    assert math.isnan(s.loc[2, "cts2s_mild"]) and s.loc[3, "cts2s_mild"] == 24
    c = blank("children", 2)
    child_mild = contract.block_items("ctspc", severity="mild")
    answer(c, "ctspc", child_mild[:11], 3, row=0)
    answer(c, "ctspc", child_mild[:12], 3, row=1)
    m = score(c, "ctspc")["ctspc_mild"]
    assert math.isnan(m[0]) and m[1] == 12
    a = blank("parents", 2)
    answer(a, "ace", range(1, 8), 1, row=0)
    answer(a, "ace", range(1, 9), 1, row=1)
    ace = score(a, "ace")["ace_count"]
    assert math.isnan(ace[0]) and ace[1] == 8


def test_mean_sum_and_count_scales():
    t = blank("parents")
    answer(t, "mpf", range(1, 8), [1, 2, 3, 4, np.nan, 2, 3])     # 6 of 7 answered: mean 15/6
    answer(t, "ppq", range(1, 12), 3)                               # 11 x 3
    answer(t, "mansa", range(1, 13), [7] * 6 + [1] * 6)             # mean 4
    answer(t, "mansao", range(1, 5), [1, 0, 1, 1])
    answer(t, "ace", range(1, 11), [1, 1, 1, 0, 0, 0, 0, 0, 0, np.nan])
    s = score_table(t, "parents").iloc[0]
    assert s["mpf_autonomy"] == 2.5 and s["ppq_warmth"] == 33 and s["mansa_satisfaction"] == 4
    assert s["mansao_yes_count"] == 3 and s["ace_count"] == 3 and s["ace_four_plus"] == 0
    u = blank("parents")
    answer(u, "mpf", range(1, 6), 2)                                 # 5 of 7 = 71 %: missing
    assert math.isnan(score(u, "mpf").loc[0, "mpf_autonomy"])


def test_auditc_drinks_per_week_from_midpoints():
    t = blank("parents", 4)
    answer(t, "auditc", [1, 2, 3], [3, 2, 1], row=0)   # 2.5 occasions x 5.5 drinks
    answer(t, "auditc", [1, 2, 3], [4, 4, 4], row=1)   # 5 x 12
    answer(t, "auditc", [1], 0, row=2)                  # never: q2 skipped -> 0 drinks
    answer(t, "auditc", [2], 1, row=3)                  # q1 missing -> missing
    s = score(t, "auditc")
    assert s["auditc_drinks_per_week"].tolist()[:3] == [13.75, 60.0, 0.0]
    assert math.isnan(s.loc[3, "auditc_drinks_per_week"])
    assert s["auditc_risky"].tolist()[:3] == [1.0, 1.0, 0.0] and math.isnan(s.loc[3, "auditc_risky"])
    assert s.loc[0, "auditc_score"] == 6 and math.isnan(s.loc[2, "auditc_score"])


def test_risky_drinking_boundary_8_and_8_01():
    # The auditc spec's own flag (> 8), with the q2 midpoints swapped for 8 and 8.01.
    raw = yaml.safe_load((paths.SPECS_DIR / "auditc.yml").read_text())
    raw["scales"]["drinks_per_week"]["item_recode"] = {1: {1: 1.0}, 2: {0: 8.0, 1: 8.01}}
    spec = build_spec(raw, paths.SPECS_DIR / "auditc.yml")
    t = blank("parents", 2)
    answer(t, "auditc", [1, 2], [1, 0], row=0)
    answer(t, "auditc", [1, 2], [1, 1], row=1)
    s = score_spec(t, spec)
    assert s["auditc_drinks_per_week"].tolist() == [8.0, 8.01]
    assert s["auditc_risky"].tolist() == [0.0, 1.0]


def test_reverse_keys_and_t_scores_kidscreen():
    # Illustrative key: items 11 and 12 reverse-keyed (x -> 6 - x); index = 10 items; norms linear.
    t = blank("children")
    answer(t, "kid", range(1, 28), 4)
    answer(t, "kid", [11, 12], 1)                       # reversed: counts as 5
    s = score(t, "kid").iloc[0]
    assert s["kid_psychological"] == 5 * 4 + 2 * 5
    assert s["kid_kidscreen10"] == 8 * 4 + 2 * 5
    assert s["kid_kidscreen10_t"] == pytest.approx(50 + 10 * (42 - 38.0) / 5.5)


def test_t_table_lookup_and_stratified_norms(tmp_path):
    folder = keys_with(tmp_path, "kid", norms={"kidscreen10": {"t_table": {30: 45.0, 31: 47.5}}})
    t = blank("children", 3)
    for row, (high, low) in enumerate([(0, 10), (1, 9), (2, 8)]):   # index sums 30, 31, 32
        answer(t, "kid", range(1, 28), 3, row=row)
        answer(t, "kid", [11, 12], 3, row=row)
        answer(t, "kid", [1], 3 + high, row=row)
    s = score(t, "kid", keys_dir=folder)
    assert s["kid_kidscreen10"].tolist() == [30, 31, 32]
    assert s["kid_kidscreen10_t"].tolist()[:2] == [45.0, 47.5] and math.isnan(s.loc[2, "kid_kidscreen10_t"])
    strata = [{"when": {"sex": "female", "age_years": "18-39"}, "mean": 40.0, "sd": 10.0},
              {"when": {"sex": "female"}, "mean": 30.0, "sd": 10.0}]
    folder2 = keys_with(tmp_path / "b", "nosik", norms={"total": strata})
    p = blank("parents", 3)
    p["sex"], p["age_years"] = ["female", "female", "male"], [25.0, 50.0, 30.0]
    for row in range(3):
        answer(p, "nosik", range(1, 26), 2, row=row)                # total 50
    s = score(p, "nosik", keys_dir=folder2)
    assert s["nosik_total_t"].tolist()[:2] == [60.0, 70.0] and math.isnan(s.loc[2, "nosik_total_t"])


@pytest.mark.parametrize(("instrument", "scale", "cut"), [("tsi", "anxious_arousal", 65), ("tscc", "anxiety", 65),
                                                          ("tscyc", "anxiety", 70)])
def test_clinical_trauma_boundary(tmp_path, instrument, scale, cut):
    # Key with mean 0, sd 10 for every scale: T = 50 + raw, so raw cut-51 / cut-50 give T cut-1 / cut.
    spec = load_spec(instrument)
    folder = keys_with(tmp_path, instrument, norms={s: {"mean": 0.0, "sd": 10.0} for s in spec.norms})
    table = "parents" if spec.table == "parents" else "children"
    t = blank(table, 3)
    items = list(spec.scales[scale].items)
    for row, raw in enumerate([cut - 51, cut - 50]):
        values = [3] * ((raw) // 3) + [raw % 3]
        answer(t, spec.prefix, items, values + [0] * (len(items) - len(values)), row=row)
    s = score(t, instrument, keys_dir=folder)
    assert s[f"{instrument}_{scale}_t"].tolist()[:2] == [cut - 1, cut]
    assert s[f"{instrument}_clinical"].tolist()[:2] == [0.0, 1.0]
    assert math.isnan(s.loc[2, f"{instrument}_clinical"])          # no clinical scale scored


def test_security_scale_insecure_one_sd_below_norm():
    # secp norm mean 4.2, sd 0.5: insecure at mean <= 3.7.
    t = blank("children", 2)
    answer(t, "secp", range(1, 16), [3] * 9 + [5] * 6, row=0)        # 57/15 = 3.8
    answer(t, "secp", range(1, 16), [3] * 12 + [5] * 3, row=1)       # 51/15 = 3.4
    s = score(t, "secp")
    assert s["secp_security"].tolist() == pytest.approx([3.8, 3.4])
    assert s["secp_insecure"].tolist() == [0.0, 1.0]


def test_emotional_insecurity_is_sum_of_four_subscale_means():
    # SIMS-PR subscales 01-10, 11-16, 17-21, 22-28; norm 8.4 + 2 x 2.0 = 12.4.
    t = blank("children", 2)
    answer(t, "simspr", range(1, 29), 3, row=0)                      # 4 x 3 = 12 (< 12.4)
    answer(t, "simspr", range(1, 29), 3, row=1)
    answer(t, "simspr", range(22, 29), 4, row=1)                     # 3 + 3 + 3 + 4 = 13
    s = score(t, "simspr")
    assert s["simspr_insecurity"].tolist() == [12.0, 13.0]
    assert s["simspr_insecure"].tolist() == [0.0, 1.0]


def test_tscc_validity_counts_exact_answers():
    t = blank("children")
    answer(t, "tscc", range(1, 55), 1)
    answer(t, "tscc", [1, 2, 3], 0)
    answer(t, "tscc", [46, 47], 3)
    s = score(t, "tscc").iloc[0]
    assert s["tscc_under_response"] == 3 and s["tscc_hyper_response"] == 2


# ------------------------------------------------------------------------------- input errors
def test_bad_input_errors_name_column_value_and_fix():
    t = blank("parents", 3)
    t.loc[2, "cts2s_05"] = 9
    with pytest.raises(ScoringInputError, match=r"cts2s_05.*\[9\.0\].*rows \[2\].*mapping\.yml"):
        score(t, "cts2s")
    t.loc[2, "cts2s_05"] = 2.5
    with pytest.raises(ScoringInputError, match=r"cts2s_05.*\[2\.5\]"):
        score(t, "cts2s")
    with pytest.raises(ScoringInputError, match="lacks item columns of ace: ace_03"):
        score(blank("parents").drop(columns=["ace_03"]), "ace")
    s = blank("parents")
    s["ace_01"] = "yes"
    with pytest.raises(ScoringInputError, match="ace_01 of ace is not numeric"):
        score(s, "ace")


# --------------------------------------------------------------------- oracle and invariance
def _random_items(table: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    share_missing = rng.choice([0.0, 0.1, 0.2, 0.3, 0.6], size=(n, 1))   # some rows fail the 80 % rule
    data = {"parent_id" if table == "parents" else "child_id": [f"U{i}" for i in range(n)],
            "wave": rng.choice(["T0", "T1", "T2"], n)}
    for prefix, block in contract.table_spec(table)["items"].items():
        a = rng.integers(block["min"], block["max"] + 1, size=(n, block["n"])).astype(float)
        a[rng.random(a.shape) < share_missing] = np.nan
        data.update(zip(contract.item_columns(prefix), a.T))
    return pd.DataFrame(data)


def _naive_score(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """A deliberately plain re-implementation: loop over rows, then over items."""
    spec = load_spec(name)
    width = contract.table_spec(spec.table)["items"][spec.prefix]["width"]
    rows = []
    for _, row in table.iterrows():
        res: dict[str, float] = {}
        for s in spec.scales.values():
            if s.score == "composite":
                parts = [res[spec.column(c)] for c in s.of]
                res[spec.column(s.name)] = sum(parts) if s.combine == "sum" else sum(parts) / len(parts)
                continue
            answers = [row[f"{spec.prefix}_{i:0{width}d}"] for i in s.items]
            if s.score == "product":
                factors = []
                for i, a in zip(s.items, answers):
                    factors.append(math.nan if math.isnan(a) else s.item_recode[i][int(a)])
                if s.zero_dominates and 0.0 in factors:
                    res[spec.column(s.name)] = 0.0
                else:
                    res[spec.column(s.name)] = math.prod(factors)
                continue
            total, answered = 0.0, 0
            for i, a in zip(s.items, answers):
                if math.isnan(a):
                    continue
                answered += 1
                if s.score == "count":
                    total += 1.0 if OPS[s.count_op](a, s.count_value) else 0.0
                    continue
                if i in spec.reverse:
                    a = spec.min + spec.max - a
                total += spec.recode[int(a)] if spec.recode else a
            value = total if s.score != "mean" else (total / answered if answered else math.nan)
            if answered < s.min_share * len(s.items) - 1e-9:
                value = math.nan
            res[spec.column(s.name)] = value
        if spec.t_scores:
            for scale, norm in spec.norms.items():
                res[spec.column(scale, t=True)] = 50 + 10 * (res[spec.column(scale)] - norm.mean) / norm.sd
        for flag in spec.flags.values():
            hits, scored = [], 0
            for scale in flag.scales:
                v = res[spec.column(scale, t=flag.metric == "t")]
                if math.isnan(v):
                    continue
                scored += 1
                norm = spec.norms.get(scale)
                cut = flag.value if flag.value is not None else norm.mean + flag.norm_sd * norm.sd
                hits.append({">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}[flag.op](v, cut))
            res[spec.column(flag.name)] = float(any(hits)) if scored else math.nan
        rows.append(res)
    return pd.DataFrame(rows, index=table.index)


@pytest.mark.parametrize("name", INSTRUMENTS)
def test_engine_matches_naive_loop_on_random_answers(name):
    table = "parents" if load_spec(name).table == "parents" else "children"
    data = _random_items(table, 250, seed=INSTRUMENTS.index(name))
    got = score(data, name)
    expected = _naive_score(data, name)
    assert list(got.columns[2:]) == list(expected.columns)
    for col in expected.columns:
        np.testing.assert_allclose(got[col].to_numpy(), expected[col].to_numpy(), rtol=1e-9, atol=1e-9, err_msg=col)
    assert got.iloc[:, 2:].notna().any().all()   # the random data exercise every column


@pytest.mark.parametrize("table", ["parents", "children"])
def test_scores_do_not_depend_on_row_or_column_order(table):
    data = _random_items(table, 120, seed=11)
    rng = np.random.default_rng(3)
    shuffled = data.sample(frac=1.0, random_state=5)[list(rng.permutation(data.columns))]
    a = score_table(data, table)
    b = score_table(shuffled, table).loc[data.index]
    pd.testing.assert_frame_equal(a, b)
