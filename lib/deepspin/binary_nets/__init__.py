"""Binary-weight networks: LR-net mean-field training as batched ensembles (torch autograd,
or the fused numba kernel of :mod:`deepspin.binary_nets.fused` on the CPU), and the weight
ensembles drawn from them (chapter ``zh_training``)."""

from deepspin.binary_nets.cases import ZH_CASES, Case, cached_ensembles, make_ensemble, parts
from deepspin.binary_nets.ensemble import (
    CollectionInfo,
    collect_ensemble,
    ensemble_moments,
    load_ensemble,
    moments_in_memory,
)
from deepspin.binary_nets.incremental import (
    ReferenceLayer,
    count_correct_incremental,
    reference_layer,
)
from deepspin.binary_nets.lrnet import (
    LEAKY_SLOPE,
    TrainResult,
    check_widths,
    configuration_accuracy,
    flatten_weights,
    init_fields,
    layer_slices,
    meanfield_logits,
    n_weights,
    sample_configurations,
    train_ensemble,
    unflatten_weights,
)
from deepspin.binary_nets.symmetry import (
    OrbitScatter,
    PairClass,
    effective_networks,
    orbit_means,
    orbit_scatter,
    pair_correlations,
    symmetrised_moments,
)
from deepspin.binary_nets.unit_model import UnitModel, fit_unit_model, hidden_unit_blocks

__all__ = [
    "LEAKY_SLOPE",
    "ZH_CASES",
    "Case",
    "CollectionInfo",
    "OrbitScatter",
    "PairClass",
    "ReferenceLayer",
    "TrainResult",
    "UnitModel",
    "cached_ensembles",
    "check_widths",
    "collect_ensemble",
    "configuration_accuracy",
    "count_correct_incremental",
    "effective_networks",
    "ensemble_moments",
    "fit_unit_model",
    "flatten_weights",
    "hidden_unit_blocks",
    "init_fields",
    "layer_slices",
    "load_ensemble",
    "make_ensemble",
    "meanfield_logits",
    "moments_in_memory",
    "n_weights",
    "orbit_means",
    "orbit_scatter",
    "pair_correlations",
    "parts",
    "reference_layer",
    "sample_configurations",
    "symmetrised_moments",
    "train_ensemble",
    "unflatten_weights",
]
