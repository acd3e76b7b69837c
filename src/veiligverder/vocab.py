"""The study's vocabulary, defined once: groups, waves, categories, follow-up rules, thresholds.

Every module that names a group, a wave, a violence category, a follow-up rule, the significance
level or the default seed takes it from here, so that a change (or a reader's question "which
groups are there?") has one answer. The meaning of each term is in the data contract
(``veiligverder/contract/CONTRACT.md``) and in the book's glossary.
"""

from __future__ import annotations

#: The two design groups of the effect study (CONTRACT §1), in the order tables and figures show them.
GROUPS: tuple[str, ...] = ("VV", "control")
#: How readers see the groups in figure legends.
GROUP_LABELS: dict[str, str] = {"VV": "Veilig Verder", "control": "Control (care as usual)"}
#: The three measurement waves of the contract (CONTRACT §1).
WAVES: tuple[str, ...] = ("T0", "T1", "T2")
#: The baseline wave.
BASELINE_WAVE = "T0"
#: The two time points of the report's 2 x 2 analyses: baseline (T0) and the follow-up wave.
TIMES: tuple[str, ...] = ("baseline", "follow_up")
#: Which wave is an outcome's follow-up (CONTRACT §3): the latest available, or T1 or T2 only.
FOLLOW_UP_RULES: tuple[str, ...] = ("latest", "T1", "T2")
#: The violence categories of Figure 1, mildest first (CONTRACT §2).
CATEGORIES: tuple[str, ...] = ("none", "mild", "severe")
#: The three effects of the 2 x 2 mixed ANOVA.
SOURCES: tuple[str, ...] = ("time", "group", "interaction")
#: Which row of Tabel 1 judges each effect's eta squared: time is a repeated-measures effect,
#: group and the interaction are between-groups effects.
EFFECT_KIND: dict[str, str] = {"time": "repeated", "group": "between", "interaction": "between"}
#: Significance level of every test (two-sided), as in the report.
ALPHA = 0.05
#: Power the study aims for (the conventional 80 %).
POWER_TARGET = 0.80
#: Default seed (the report's closing date): the embedded synthetic twin is always generated with it;
#: the build parameter ``seed`` (default this) seeds the matching and the power simulations; the
#: Monte Carlo p values of Fisher-Freeman-Halton use it as their fixed seed.
DEFAULT_SEED = 20201231
#: Smallest number of units (and families) a published number may rest on (see the appendix Disclosure control).
DISCLOSURE_THRESHOLD = 5
#: Long names of the groups in the figures' test tables.
GROUP_NAMES: dict[str, str] = {"VV": "Veilig Verder", "control": "Control"}
#: Number of the seven risk factors from which a family counts as having cumulated risks (Tabel 4).
CUMULATION_THRESHOLD = 5
