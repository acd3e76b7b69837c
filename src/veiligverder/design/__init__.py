"""The study design: analysis samples (:mod:`~veiligverder.design.samples`) and the matching of
controls (:mod:`~veiligverder.design.matching`). The public names of both are re-exported here."""

from veiligverder.design.matching import (CALIPER_SD, MATCHING_COVARIATES, RATIO, Matching, independent_columns,
                                          match_controls, matching_covariates, nearest_neighbour,
                                          overlap_with_labels, propensity, propensity_design, relabel,
                                          relabel_measures, smd)
from veiligverder.design.samples import (OUTCOMES, SAMPLE_COLUMNS, TWO_WAVE_OUTCOMES, UNIT, DesignError,
                                         analysis_sample, follow_up, help_grade_sample, latest_value)
from veiligverder.vocab import FOLLOW_UP_RULES, GROUPS

__all__ = ["CALIPER_SD", "FOLLOW_UP_RULES", "GROUPS", "MATCHING_COVARIATES", "OUTCOMES", "RATIO", "SAMPLE_COLUMNS",
           "TWO_WAVE_OUTCOMES", "UNIT", "DesignError", "Matching", "analysis_sample", "follow_up",
           "help_grade_sample", "independent_columns", "latest_value", "match_controls", "matching_covariates", "nearest_neighbour",
           "overlap_with_labels", "propensity", "propensity_design", "relabel", "relabel_measures", "smd"]
